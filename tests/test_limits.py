"""Every field, file line and request has a bound (`limits.py`); over it, a record is skipped with
a message naming it and the bound, or, where real papers go over, cut with a warning."""

from __future__ import annotations

import json
import logging
import re
import socket
from pathlib import Path

import httpx
import pytest

from paperradar import limits
from paperradar.config import Settings
from paperradar.digest.interests import Interests, InvalidInput
from paperradar.harvest import import_jsonl
from paperradar.harvest.files import jsonl_checkpoint_key
from paperradar.radar import Radar
from paperradar.sources.arxiv_atom import parse_feed
from paperradar.sources.arxiv_jsonl import parse_line
from paperradar.sources.arxiv_oai import parse_list_records
from paperradar.sources.errors import SourceError
from paperradar.sources.hf_daily import parse_daily_papers
from paperradar.sources.pages import parse_page, read_page
from paperradar.store import Store
from paperradar.web.app import create_app

from conftest import LiveServer, make_settings
from fakes.community import csrf_of

FIX = Path(__file__).parent / "fixtures"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "harvest.md"
ABSTRACT = "We study a problem. We propose a method. Experiments confirm it."


def snapshot_line(n: int, **fields) -> str:
    record = {"id": f"2301.{n:05d}", "title": f"Paper {n}", "abstract": ABSTRACT, "authors": "A. Author",
              "categories": "cs.LG", "versions": [{"version": "v1", "created": "Mon, 2 Jan 2023 10:00:00 GMT"}]}
    return json.dumps({**record, **fields})


@pytest.mark.parametrize("fields,message", [
    ({"title": "T" * 1001}, "paper 2301.00001: title of 1,001 characters is over the limit of 1,000"),
    ({"abstract": "word " * 5000}, "paper 2301.00001: abstract of 24,999 characters is over the limit of 20,000"),
    ({"authors_parsed": [["Name" * 80, "A.", ""]]},
     "paper 2301.00001: author name of 323 characters is over the limit of 300"),
    ({"categories": " ".join(f"cs.X{i}" for i in range(51))}, "paper 2301.00001: 51 categories, over the limit of 50"),
    ({"categories": "cs." + "L" * 62}, "paper 2301.00001: a category of 65 characters is over the limit of 64"),
    ({"doi": "10.1/" + "d" * 251}, "paper 2301.00001: DOI of 256 characters is over the limit of 255"),
    ({"id": "a" * 70 + "/0101001"}, "missing or invalid arXiv id"),  # archive names are short words
])
def test_a_snapshot_record_with_a_field_over_its_bound_is_skipped_and_named(fields, message):
    with pytest.raises(SourceError) as caught:
        parse_line(snapshot_line(1, **fields), "s.jsonl", 7)
    assert str(caught.value).startswith("s.jsonl:7: ") and message in str(caught.value)


def test_real_author_lists_over_the_bound_are_cut_with_a_warning(caplog):
    """Collaborations list thousands (the sample snapshot's 1411.4413: 2,833), so the paper is
    kept with its first 2,000 authors; a long comment is cut with "…"."""
    authors = [[f"Name{i}", "A.", ""] for i in range(2833)]
    with caplog.at_level(logging.WARNING, logger="paperradar.limits"):
        paper = parse_line(snapshot_line(1, authors_parsed=authors, comments="c " * 1500), "s.jsonl", 1)
    assert len(paper.authors) == limits.AUTHORS and paper.authors[-1] == "A. Name1999"
    assert len(paper.comments) == limits.NOTE and paper.comments.endswith("…")
    assert caplog.messages == [
        "paper 2301.00001: 2,833 authors, over the limit of 2,000; kept the first 2,000",
        "paper 2301.00001: comments of 2,999 characters, over the limit of 2,000; cut short"]


@pytest.mark.parametrize("parallel", [False, True])
def test_an_over_long_snapshot_line_is_skipped_unread_and_the_import_goes_on(tmp_path, parallel):
    """The issue's 50 MB abstract, at 3 MiB: refused by its line length, never parsed."""
    path = tmp_path / "s.jsonl"
    lines = [snapshot_line(1), snapshot_line(2, abstract="x" * (3 << 20)), snapshot_line(3),
             snapshot_line(4, abstract="word " * 5000)]
    path.write_text("\n".join(lines) + "\n")
    store = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    try:
        counts = import_jsonl(store, path, parallel=parallel)
        assert (counts.records, counts.added, counts.errors) == (2, 2, 2)
        assert counts.error_messages == [
            f"{path}:2: line of 3.0 MiB is over the limit of 1 MiB for one record",
            f"{path}:4: paper 2301.00004: abstract of 24,999 characters is over the limit of 20,000"]
        assert json.loads(store.get_meta(jsonl_checkpoint_key(path))) == {"offset": path.stat().st_size, "line": 4}
        assert store.get_paper("2301.00003").title == "Paper 3" and store.get_paper("2301.00002") is None
    finally:
        store.close()


def test_an_over_long_last_line_without_a_newline_ends_the_file_cleanly(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text(snapshot_line(1) + "\n" + "x" * ((1 << 20) + 5))
    store = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    try:
        counts = import_jsonl(store, path, parallel=False)
        assert counts.added == 1
        assert counts.error_messages == [f"{path}:2: line of 1.0 MiB is over the limit of 1 MiB for one record"]
        assert json.loads(store.get_meta(jsonl_checkpoint_key(path)))["offset"] == path.stat().st_size
    finally:
        store.close()


def test_a_listing_page_line_over_100_kib_skips_its_record_only():
    big = "This is long. " * 10_000  # 140,000 bytes on one line
    data = f"First\n{ABSTRACT}\nSecond\n{big}\nThird\n{ABSTRACT}\n".encode()
    page = parse_page(data, "p.txt")
    assert [p.title for p in page.papers] == ["First", "Third"]
    assert page.warnings == ["p.txt:4: line of 137 KiB is over the limit of 100 KiB, record skipped: 'Second'"]


def test_a_listing_page_abstract_over_20000_characters_is_skipped():
    data = f"First\n{'This is long. ' * 1500}\nSecond\n{ABSTRACT}\n".encode()
    page = parse_page(data, "p.txt")
    assert [p.title for p in page.papers] == ["Second"]
    assert page.warnings == [
        "p.txt:2: abstract of 20,999 characters is over the limit of 20,000, record skipped: 'First'"]


def test_a_listing_page_over_32_mib_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.truncate(33 << 20)  # sparse: nothing is written, or read
    with pytest.raises(SourceError, match=r"huge.txt: 33 MiB is over the limit of 32 MiB for a listing page"):
        read_page(path)


def test_an_oai_record_over_a_bound_is_an_error_of_that_record_only():
    fixture = (FIX / "oai" / "arXiv_cs_1.xml").read_bytes()
    long_abstract = fixture.replace(b"We survey attacks", b"We survey attacks" + b" again" * 4000)
    page = parse_list_records(long_abstract, "oai-page")
    whole = parse_list_records(fixture, "oai-page")
    assert [p.arxiv_id for p in page.papers] == [p.arxiv_id for p in whole.papers][1:]
    [error] = page.errors
    assert re.fullmatch(r"oai-page:\d+: paper 2401\.00001: abstract of 24,\d{3} characters is over the limit of 20,000",
                        str(error))
    # an id is stored as OAI gives it when it does not parse: it must still fit its column
    long_id = fixture.replace(b"<id>2401.00001</id>", b"<id>" + b"x" * 70 + b"</id>")
    [error] = parse_list_records(long_id, "oai-page").errors
    assert re.fullmatch(r"oai-page:\d+: paper 'x{40}'\.\.\.: id of 70 characters is over the limit of 64", str(error))


def test_an_atom_entry_over_a_bound_is_an_error_naming_its_id():
    entries = (FIX / "arxiv_api" / "entries.xml").read_bytes()
    feed = parse_feed(entries.replace(b"<title>A Third Paper", b"<title>" + b"A" * 1200))
    assert "2312.00042" not in [p.arxiv_id for p in feed.papers] and len(feed.papers) >= 2
    assert [(e.arxiv_id, e.message) for e in feed.errors] == [
        ("2312.00042", "title of 1,200 characters is over the limit of 1,000")]


def test_a_hugging_face_item_over_a_bound_refuses_its_file_naming_the_paper():
    """That source is all or nothing (see hf_daily): the first bad item stops the file."""
    items = json.loads((FIX / "hf" / "daily_papers.json").read_text())
    items[1]["paper"]["summary"] = "word " * 5000
    with pytest.raises(SourceError, match=r"^paper \S+: abstract of 24,999 characters is over the limit of 20,000$"):
        parse_daily_papers(json.dumps(items), "daily.json")


def test_subscription_topics_are_bounded_too():
    with pytest.raises(InvalidInput, match="at most 20 topics, got 21"):
        Interests.parse(topics="\n".join(f"topic {i}" for i in range(21)))
    with pytest.raises(InvalidInput, match="longer than 200 characters"):
        Interests.parse(topics="t" * 201)


def test_docs_list_every_bound():
    section = DOCS.read_text().split("## Limits", 1)[1].split("\n## ", 1)[0]
    for name in ("TITLE", "ABSTRACT", "AUTHORS", "AUTHOR_NAME", "CATEGORIES", "CATEGORY", "DOI", "NOTE", "ID"):
        assert f"{getattr(limits, name):,}" in section, name
    for name in ("JSONL_LINE", "PAGE_LINE", "PAGE_FILE", "REQUEST_BODY", "QUERY_STRING"):
        assert limits.size(getattr(limits, name)) in section, name


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    radar = Radar(make_settings(tmp_path_factory.mktemp("limits") / "data"))
    with LiveServer(create_app(radar.settings, radar)) as server:
        yield server
    radar.close()


def test_a_query_string_over_8_kib_is_refused_with_414(site):
    with httpx.Client(base_url=site.url, timeout=10) as http:
        api = http.get("/api/papers/search", params={"q": "a" * 9000})
        assert api.status_code == 414
        assert api.json() == {"error": "the query string of 8.8 KiB is over the limit of 8 KiB", "status": 414}
        page = http.get("/search", params={"q": "a" * 9000})
        assert page.status_code == 414 and "the query string of 8.8 KiB is over the limit of 8 KiB" in page.text
        assert page.headers["x-frame-options"] == "DENY"  # an error page like any other
        # what is within the bound reaches the handler (which ignores a parameter it does not know)
        assert http.get("/api/papers/search", params={"q": "flows", "pad": "a" * 8000}).status_code == 200


def test_a_declared_body_over_1_mib_is_refused_before_it_is_sent(site):
    with socket.create_connection(("127.0.0.1", site.port), timeout=10) as s:
        s.sendall(b"POST /api/papers/search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 52428800\r\n\r\n")
        reply = b""
        while b"}" not in reply:
            reply += s.recv(4096)
    head, body = reply.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ")
    assert json.loads(body) == {"error": "the request body of 50 MiB is over the limit of 1 MiB", "status": 413}


def test_a_streamed_body_is_counted_as_it_arrives(site):
    with httpx.Client(base_url=site.url, timeout=10) as http:
        form = http.get("/subscribe")
        chunks = (b"topics=" + b"x" * 100_000 for _ in range(20))  # no Content-Length: chunked
        r = http.post("/subscribe", content=chunks, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 413 and "the request body is over the limit of 1 MiB" in r.text
        # a form of ordinary size still goes through to its own checks
        r = http.post("/subscribe", data={"email": "a@example.com", "topics": "t" * 201,
                                          "csrf_token": csrf_of(form.text)})
        assert r.status_code == 400 and "longer than 200 characters" in r.text
