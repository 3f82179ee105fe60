"""Topics against known answers: separated blobs give their clusters with the same ids when fitted
again, rising is checked against hand-worked numbers, the demo corpus's gradient-inversion papers
form a topic named for them, and the pages, API, feed and map read the stored fit."""

from __future__ import annotations

import datetime as dt
import math

import feedparser
import httpx
import numpy as np
import pytest

from conftest import LiveServer, make_settings
from paperradar.models import Listing, Paper
from paperradar.radar import Radar
from paperradar.store import Store
from paperradar.topics import build, cluster, layout, rising
from paperradar.web.app import create_app

MODEL = "test-model"
NOW = dt.datetime(2026, 8, 22)
BLOBS = {"gradient inversion attacks": 0, "protein folding diffusion": 1, "galaxy survey telescope": 2}


def blob_papers(store: Store, per_blob: int, start: int = 0, seed: int = 0) -> list[str]:
    """Papers in three well-separated blobs of 32-dimensional vectors, one blob a theme."""
    rng = np.random.default_rng(seed)
    centres = np.eye(32)[:3] * 10
    papers, rows = [], []
    for words, b in BLOBS.items():
        for i in range(start, start + per_blob):
            day = dt.date(2026, 8, 21) - dt.timedelta(days=(i * 7) % 80)
            p = Paper(id=f"{b}.{i:04d}", title=f"{words} study {i}", abstract=f"We study {words} again ({i}).",
                      published=day, listing=Listing(day=day, source="hf-daily"))
            papers.append(p)
            rows.append((p.id, p.content_hash(), centres[b] + rng.normal(0, 1, 32)))
    store.upsert_papers(papers)
    store.put_embeddings(MODEL, rows)
    return [p.id for p in papers]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path}/t.db")
    yield s
    s.close()


def topics_of(store, level="topic"):
    return {t.id: t for t in store.topics() if t.level == level}


def test_three_blobs_give_three_topics_and_a_refit_keeps_their_ids(store):
    blob_papers(store, 40)
    first = build.rebuild(store, MODEL, now=NOW, per_topic=40)  # 120 papers: 3 topics
    assert (first.papers, first.topics) == (120, 3)
    fine = topics_of(store)
    members = store.topic_members()
    assert sorted(len(m) for m in members.values()) == [40, 40, 40]
    assert all(len({pid.split(".")[0] for pid in m}) == 1 for m in members.values())  # one blob each
    names = {t.id: t.name for t in fine.values()}
    assert any("inversion" in n or "gradient" in n for n in names.values())
    again = build.rebuild(store, MODEL, now=NOW, per_topic=40)
    assert again.kept_ids == 3 and {t.id: t.name for t in topics_of(store).values()} == names
    blob_papers(store, 10, start=40, seed=1)  # more papers of the same themes
    build.rebuild(store, MODEL, now=NOW, per_topic=50)
    assert set(topics_of(store)) == set(names)
    grown = store.topic_members()
    assert all(len(m) == 50 and len({pid.split(".")[0] for pid in m}) == 1 for m in grown.values())


def test_new_papers_are_assigned_to_their_topic(store):
    blob_papers(store, 40)
    build.rebuild(store, MODEL, now=NOW, per_topic=40)
    before = {pid: tid for tid, m in store.topic_members().items() for pid in m}
    new = blob_papers(store, 5, start=100, seed=2)
    assert build.assign(store, MODEL) == 15 and build.assign(store, MODEL) == 0
    for pid in new:
        same_blob = next(p for p in before if p.split(".")[0] == pid.split(".")[0])
        assert store.topic_of(pid) == before[same_blob]


def test_too_few_papers_is_a_clear_refusal_that_keeps_nothing_broken(store):
    blob_papers(store, 3)
    with pytest.raises(build.TooFewPapers, match="at least 30"):
        build.rebuild(store, MODEL, now=NOW)
    assert store.topics() == []


def test_rising_against_hand_worked_numbers():
    totals = np.array([100] * 12)
    flat = np.array([10] * 12)
    assert rising.growth(flat, totals) == pytest.approx(0.0)
    doubled = np.array([10] * 8 + [20] * 4)  # share 10% -> 20%: p = 160/1200
    p = 160 / 1200
    assert rising.growth(doubled, totals) == pytest.approx(0.1 / math.sqrt(p * (1 - p) * (1 / 400 + 1 / 800)))
    assert rising.growth(doubled, totals) == pytest.approx(4.80, abs=0.01)
    tiny = np.array([0] * 8 + [0, 0, 1, 1])  # a 2-paper topic seen only lately: a big ratio, little evidence
    assert rising.growth(tiny, totals) == pytest.approx(2.0, abs=0.01)
    assert rising.growth(tiny, totals) < rising.RISING
    halved = np.array([20] * 8 + [10] * 4)  # 20% -> 10%
    assert rising.growth(halved, totals) == pytest.approx(-4.38, abs=0.01)
    assert rising.growth(tiny, np.array([0] * 8 + [100] * 4)) == 0.0  # no baseline weeks: no statement


def test_layout_keeps_similar_topics_close():
    c = cluster.normalize(np.array([[1, 0, 0], [0.95, 0.05, 0], [0, 0, 1.0]]))
    xy = layout.mds(c)
    d = np.linalg.norm(xy[:, None] - xy[None], axis=2)
    assert d[0, 1] < d[0, 2] and np.abs(xy).max() <= 1.0 + 1e-9


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The demo corpus, embedded and fitted, served by uvicorn."""
    radar = Radar(make_settings(tmp_path_factory.mktemp("topics") / "data"))
    radar.load_demo_if_empty()
    radar.sync_indexes()
    build.rebuild(radar.store, radar.settings.embedding_name, now=NOW)
    with LiveServer(create_app(radar.settings, radar)) as live:
        yield live, radar
    radar.close()


def test_the_demo_s_gradient_inversion_papers_form_a_named_topic(demo_site):
    _, radar = demo_site
    named = [t for t in radar.store.topics() if t.level == "topic" and ("inversion" in t.name or "gradient" in t.name)]
    assert named
    ids = radar.store.topic_papers(named[0].id, 50)
    titles = [p.title.lower() for p in radar.store.get_papers(ids).values()]
    assert sum("inversion" in t or "gradient" in t for t in titles) >= 5


def test_topic_pages_api_feed_and_map_data(demo_site):
    live, radar = demo_site
    with httpx.Client(base_url=live.url) as c:
        page = c.get("/topics")
        assert page.status_code == 200 and page.text.count('<svg class="spark"') >= 10
        topics = c.get("/api/topics").json()["topics"]
        growths = [t["growth"] for t in topics]
        assert growths == sorted(growths, reverse=True)
        first = topics[0]
        one = c.get(f"/topics/{first['id']}")
        assert one.status_code == 200 and first["name"] in one.text and "Most typical papers" in one.text
        assert "/subscribe?topics=" in one.text
        detail = c.get(f"/api/topics/{first['id']}").json()
        assert detail["top"] and detail["related"]
        assert c.get("/topics/99999").status_code == 404
        feed = feedparser.parse(c.get(f"/feeds/topic/{first['id']}.atom").content)
        assert not feed.bozo and feed.entries
        meta = c.get("/api/map").json()
        blob = c.get("/api/map/points.bin").content
        assert meta["count"] == 1016 == len(meta["ids"]) and len(blob) == 12 * meta["count"]
        xy = np.frombuffer(blob[: 8 * meta["count"]], dtype="<f4").reshape(-1, 2)
        assert np.abs(xy).max() <= 1.0 + 1e-6
        prefilled = c.get("/subscribe", params={"topics": "gradient inversion"})
        assert ">gradient inversion</textarea>" in prefilled.text


def test_pages_say_when_there_are_too_few_papers(tmp_path):
    radar = Radar(make_settings(tmp_path / "data"))
    with LiveServer(create_app(radar.settings, radar)) as live, httpx.Client(base_url=live.url) as c:
        for path in ("/topics", "/map"):
            r = c.get(path)
            assert r.status_code == 200 and "Too few papers" in r.text
    radar.close()


@pytest.mark.browser
def test_the_map_offline_hover_shows_a_title_and_click_opens_the_paper(chromium, demo_site):
    live, radar = demo_site
    page = chromium.new_page(viewport={"width": 1200, "height": 900})
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(live.url) else route.abort())
    page.goto(live.url + "/map")
    page.wait_for_selector("canvas[data-ready='1']")
    ids, xy, _ = radar.store.topic_points()
    box = page.locator("#map").bounding_box()
    k = min(box["width"], box["height"]) * 0.45
    x = float(box["x"] + box["width"] / 2 + xy[0, 0] * k)
    y = float(box["y"] + box["height"] / 2 - xy[0, 1] * k)
    page.mouse.move(x, y)
    tip = page.locator("#tip")
    tip.wait_for(state="visible")
    title = tip.locator("strong").inner_text()
    near = [i for i in range(len(ids)) if np.hypot(*(xy[i] - xy[0])) * k < 8]  # what is under the pointer
    assert title in {radar.store.get_paper(ids[i]).title for i in near}
    page.mouse.click(x, y)
    page.wait_for_url("**/papers/**")
    assert page.locator("h1").inner_text() == title
    page.close()


def test_a_topic_subscription_reaches_a_digest(demo_site):
    """"Get this topic by email" subscribes with the topic's terms; the digest then holds its papers."""
    from paperradar.digest.run import DigestService

    live, radar = demo_site
    topic = max((t for t in radar.store.topics() if t.level == "topic"), key=lambda t: t.size)
    terms = " ".join(topic.terms[:3])
    with httpx.Client(base_url=live.url) as c:
        assert f">{terms}</textarea>" in c.get(f"/topics/{topic.id}").text or terms in c.get(
            "/subscribe", params={"topics": terms}).text
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    sub = radar.store.add_subscriber("topic-fan@example.org", status="active", topics=[terms])
    service = DigestService(radar.settings, radar.store, embedder=radar.embedder, clock=lambda: now)
    service.plan(now.date(), only_email=sub.email)
    [row] = [r for r in radar.store.outbox_for_date(now.date()) if r.subscriber_id == sub.id]
    members = radar.store.topic_members()[topic.id]
    assert row.items and sum(item["id"] in members for item in row.items) >= len(row.items) // 2
    # a subscriber adds a topic from the preferences page (the link in every digest)
    manage = service.links.manage(sub.id, sub.email).replace(radar.settings.public_url, live.url)
    with httpx.Client() as c:
        page = c.get(f"{manage}&add={topic.id}")
    assert page.status_code == 200 and f"Added the topic “{topic.name}”" in page.text
    assert page.text.count(terms) >= 2  # already among the topics, and added once more to save


def test_a_refit_killed_midway_leaves_the_previous_topics(tmp_path):
    """A real process fitting topics is SIGKILLed as it starts writing: the old fit stays whole."""
    import subprocess
    import sys
    import textwrap

    url = f"sqlite:///{tmp_path}/t.db"
    store = Store(url)
    blob_papers(store, 40)
    build.rebuild(store, MODEL, now=NOW, per_topic=40)
    before = ({t.id: t.name for t in store.topics()}, store.topic_members())
    blob_papers(store, 30, start=40, seed=3)
    store.close()
    script = textwrap.dedent(f"""
        import os, signal, datetime as dt
        from paperradar.store import Store
        from paperradar.topics import build
        store = Store({url!r})
        def progress(step):
            if step == "writing":
                os.kill(os.getpid(), signal.SIGKILL)
        build.rebuild(store, {MODEL!r}, now=dt.datetime(2026, 8, 23), per_topic=20, progress=progress)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9
    store = Store(url)
    assert ({t.id: t.name for t in store.topics()}, store.topic_members()) == before
    store.close()


def test_a_killed_rebuild_resumes_after_the_clustering(tmp_path):
    """The clustering is saved as soon as it is done; a rerun over the same papers reads it back."""
    store = Store(f"sqlite:///{tmp_path}/t.db")
    blob_papers(store, 40)
    checkpoint = tmp_path / "cache" / "topics-fit.npz"

    def die_after_clustering(step):
        if step == "naming topics":
            raise KeyboardInterrupt  # as a Ctrl-C would, once the clustering is saved

    with pytest.raises(KeyboardInterrupt):
        build.rebuild(store, MODEL, now=NOW, per_topic=40, progress=die_after_clustering, checkpoint=checkpoint)
    assert checkpoint.exists() and store.topics() == []
    steps = []
    report = build.rebuild(store, MODEL, now=NOW, per_topic=40, progress=steps.append, checkpoint=checkpoint)
    assert report.topics == 3 and not checkpoint.exists()
    assert steps[1] == "clustering: resumed from the checkpoint" and len(steps) == len(build.STEPS)
    store.close()
