"""Builders for community tests: a site with mail and a fake arXiv, members signed in through
the emailed link, and fresh arXiv entries for submissions."""

from __future__ import annotations

import datetime as dt
import re
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

from paperradar.models import Listing, Paper
from paperradar.radar import Radar
from paperradar.web.app import create_app

from .digest_world import settings_for
from .oai_server import FakeArxiv
from .smtp_server import FakeSMTP

ENTRY = """<entry xmlns="http://www.w3.org/2005/Atom" xmlns:arxiv="http://arxiv.org/schemas/atom">
    <id>http://arxiv.org/abs/{id}v1</id>
    <updated>{day}T10:00:00Z</updated>
    <published>{day}T10:00:00Z</published>
    <title>{title}</title>
    <summary>A fresh paper about {title}, submitted by a member to today's list.</summary>
    <author><name>Grace Hopper</name></author>
    <link href="http://arxiv.org/abs/{id}v1" rel="alternate" type="text/html"/>
    <arxiv:primary_category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def fresh_entry(fake: FakeArxiv, arxiv_id: str, title: str, age_days: int = 2) -> None:
    """Teach the fake arXiv API a paper first published `age_days` ago."""
    day = (dt.date.today() - dt.timedelta(days=age_days)).isoformat()
    fake.api_entries[arxiv_id] = ENTRY.format(id=arxiv_id, day=day, title=title).encode()


def list_papers(radar: Radar, day: dt.date, titles: list[tuple[str, int]], prefix: str = "2608") -> list[str]:
    """Papers listed on `day` with (title, upstream upvotes)."""
    papers = []
    for i, (title, upvotes) in enumerate(titles):
        pid = f"{prefix}.{day:%d}{i:03d}"
        papers.append(Paper(id=pid, arxiv_id=pid, title=title, abstract=f"About {title.lower()}.",
                            authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"], published=day,
                            listing=Listing(day=day, source="hf-daily", upvotes=upvotes,
                                            github_repo="https://github.com/ada/code", github_stars=12)))
    radar.store.upsert_papers(papers)
    return [p.id for p in papers]


@contextmanager
def community_site(tmp_path: Path, **settings_kw):
    """(url, radar, smtp, arxiv): a fresh data dir served by uvicorn, mail to FakeSMTP, arXiv faked."""
    from conftest import LiveServer

    with FakeSMTP() as smtp, FakeArxiv() as arxiv:
        settings = settings_for(tmp_path / "data", smtp_url=smtp.url, arxiv_api_endpoint=arxiv.api_url, **settings_kw)
        radar = Radar(settings)
        with LiveServer(create_app(settings, radar)) as server:
            settings.base_url = server.url
            yield server.url, radar, smtp, arxiv
        radar.close()


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def wait_for_mail(smtp, recipient: str, count: int = 1, timeout: float = 5.0):
    deadline = time.time() + timeout
    while len(smtp.received(recipient)) < count:
        if time.time() > deadline:
            raise AssertionError(f"no mail #{count} for {recipient}")
        time.sleep(0.02)
    return smtp.received(recipient)


def sign_in_link(mail) -> str:
    text = mail.message.get_body(("plain",)).get_content()
    return re.search(r"(http://127\.0\.0\.1:\d+/login/verify\?t=[\w.\-]+)", text).group(1)


def request_link(client: httpx.Client, email: str) -> httpx.Response:
    return client.post("/login", data={"email": email, "csrf_token": csrf_of(client.get("/login").text)})


def sign_in(client: httpx.Client, smtp, email: str, handle: str) -> None:
    """The whole passwordless flow: ask, open the emailed link, choose a handle, get a session."""
    before = len(smtp.received(email))
    request_link(client, email)
    link = sign_in_link(wait_for_mail(smtp, email, before + 1)[-1])
    page = client.get(link)
    r = client.post("/login/verify", data={"t": link.split("t=")[1], "handle": handle, "csrf_token": csrf_of(page.text)})
    assert r.status_code == 303, r.text
