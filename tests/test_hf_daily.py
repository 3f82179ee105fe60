"""Hugging Face Daily Papers: every input shape into a real store, with listings, and the real data."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperradar import demo_vectors
from paperradar.cli import app
from paperradar.config import Settings
from paperradar.harvest import import_hf_daily
from paperradar.sources.errors import SourceError
from paperradar.sources.hf_daily import parse_daily_papers
from paperradar.store import Store

FIX = Path(__file__).parent / "fixtures" / "hf"
REAL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hf_daily_papers.jsonl.gz"
runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    s = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    yield s
    s.close()


def item(arxiv_id: str, day: str, upvotes: int = 5, **paper) -> dict:
    """One item as the API gives it; the item's publishedAt is hours after the listing day."""
    return {"paper": {"id": arxiv_id, "authors": [{"name": "Ada Lovelace"}], "publishedAt": "2026-08-19T17:00:00.000Z",
                      "title": f"Paper {arxiv_id} on\n  things", "summary": "An abstract.\nTwo lines.",
                      "upvotes": upvotes, "submittedOnDailyAt": f"{day}T00:00:00.000Z", **paper},
            "publishedAt": f"{day}T03:50:58.348Z", "title": f"Paper {arxiv_id}", "numComments": 2}


ITEMS = [
    item("2608.00001", "2026-08-20", 40, githubRepo="https://github.com/a/b", githubStars=12, projectPage="https://a.io"),
    item("2608.00002", "2026-08-20", 9),
    item("2608.00003", "2026-08-21", 3, githubRepo="https://github.com/c/d"),
]


def write_jsonl(path: Path, items: list[dict], *, gz: bool = False) -> Path:
    text = "".join(json.dumps(i) + "\n" for i in items).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def test_the_json_array_fixture_keeps_counts_and_days(db):
    counts = import_hf_daily(db, FIX / "daily_papers.json")
    assert (counts.records, counts.added) == (2, 2)
    first = db.get_listing("2401.01234")
    # no submittedOnDailyAt in the fixture: the item's publishedAt is the listing day
    assert (first.day, first.source, first.position) == (dt.date(2024, 1, 5), "hf-daily", 1)
    assert (first.imported_upvotes, first.num_comments, first.submitter) == (42, 3, "Some One")
    second = db.get_listing("2401.00006")
    assert (second.day, second.position, second.imported_upvotes, second.num_comments) == (dt.date(2024, 1, 9), 1, 7, 0)


@pytest.mark.parametrize("name,gz", [("daily.jsonl", False), ("daily.jsonl.gz", True), ("gzipped-but-named.jsonl", True)])
def test_json_lines_plain_or_gzipped_keep_everything(db, tmp_path, name, gz):
    counts = import_hf_daily(db, write_jsonl(tmp_path / name, ITEMS, gz=gz))
    assert (counts.records, counts.added, counts.errors) == (3, 3, 0)
    top = db.get_listing("2608.00001")
    assert (top.day, top.position, top.imported_upvotes, top.num_comments) == (dt.date(2026, 8, 20), 1, 40, 2)
    assert (top.github_repo, top.github_stars, top.project_page) == ("https://github.com/a/b", 12, "https://a.io")
    assert db.get_listing("2608.00002").position == 2
    # rank within its own day, and the day is submittedOnDailyAt
    last = db.get_listing("2608.00003")
    assert (last.day, last.position, last.github_repo, last.github_stars, last.project_page) == (
        dt.date(2026, 8, 21), 1, "https://github.com/c/d", None, None)
    assert db.get_paper("2608.00001").title == "Paper 2608.00001 on things"  # arXiv line breaks cleaned


def test_the_papers_page_shape_pretty_printed(tmp_path, db):
    path = tmp_path / "page.json"
    path.write_text(json.dumps({"dailyPapers": ITEMS}, indent=2))
    assert import_hf_daily(db, path).added == 3
    assert db.get_listing("2608.00003").day == dt.date(2026, 8, 21)


def test_reimport_is_idempotent_and_upvotes_only_grow(store, tmp_path):
    """On SQLite and PostgreSQL: the same file twice changes nothing; counts taken later rise."""
    path = write_jsonl(tmp_path / "d.jsonl", ITEMS)
    import_hf_daily(store, path)
    again = import_hf_daily(store, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 3)
    assert store.get_listing("2608.00001").imported_upvotes == 40
    later = [item("2608.00001", "2026-08-20", 55), item("2608.00002", "2026-08-20", 1)]
    import_hf_daily(store, write_jsonl(tmp_path / "later.jsonl", later))
    assert store.get_listing("2608.00001").imported_upvotes == 55
    assert store.get_listing("2608.00002").imported_upvotes == 9  # a lower count is an older snapshot
    # a record without links does not erase them
    assert store.get_listing("2608.00001").github_repo == "https://github.com/a/b"


def test_a_bad_line_names_its_line_and_stores_nothing(db, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(ITEMS[0]) + "\n\n" + '{"paper": {"id": "2608.00002", "title": \n' + json.dumps(ITEMS[2]) + "\n")
    with pytest.raises(SourceError, match=r"bad\.jsonl:3: invalid JSON"):
        import_hf_daily(db, path)
    assert db.count_papers() == 0 and db.get_listing("2608.00001") is None
    r = runner.invoke(app, ["-d", str(tmp_path / "data"), "ingest", "hf-daily", str(path)])
    assert r.exit_code == 1 and "bad.jsonl:3: invalid JSON" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("content,message", [
    (b'{"paper": {"title": "no id"}}\n{"paper": {"title": "x"}}\n', r"x\.jsonl:1: item 1 has no arXiv id or title"),
    (json.dumps(ITEMS[0]).encode() + b"\n[1, 2]\n", r"x\.jsonl:2: item 2 is not an object"),
    (json.dumps(ITEMS[0]).encode() + b'\n{"p": "' + b"x" * (5 << 20) + b'"}\n', r"x\.jsonl:2: line of 5 MB, over the 4 MB limit"),
    (gzip.compress(b"[]" * 100)[:20], r"x\.jsonl: not a readable gzip file"),
    (b"", r"x\.jsonl: empty file"),
    (b'{"unrelated": true}', r"x\.jsonl: expected a JSON list of daily-paper items"),
    (b"[" * 100_000, r"x\.jsonl: invalid JSON: nested too deeply"),
    (b"\xff\xfe\x00garbage", r"x\.jsonl(:1)?: invalid JSON"),
])
def test_malformed_input_is_one_clear_error(content, message):
    with pytest.raises(SourceError, match=message):
        parse_daily_papers(content, "x.jsonl")


def test_cli_help_names_the_formats():
    r = runner.invoke(app, ["ingest", "hf-daily", "--help"])
    assert r.exit_code == 0 and ".jsonl.gz" in r.output and ".json" in r.output


def test_the_demo_has_four_weeks_of_daily_papers_with_shipped_vectors(demo_radar):
    store = demo_radar.store
    top = store.get_listing("2608.19880")  # first on 2026-08-21 in the real data
    assert (top.day, top.source, top.position, top.imported_upvotes) == (dt.date(2026, 8, 21), "hf-daily", 1, 163)
    assert store.count_papers() > 576 + 400
    # every demo paper has a shipped vector, so a fresh `make run` never embeds at start
    shipped = demo_vectors.load(demo_radar.settings.embedding_name)
    assert all(p.content_hash() in shipped for _, p in store.papers_changed_since(0))
    hits = demo_radar.search.search("can AI coding assistants fix engineering problems in scientific software",
                                    limit=5, mode="vector").hits
    assert "2608.19799" in [h.paper.id for h in hits]  # SWE-bench Science, listed 2026-08-21


@pytest.mark.skipif(not REAL.is_file(), reason="../shared/data/hf_daily_papers.jsonl.gz not present")
def test_the_real_collection_imports_9877_papers_over_580_days(tmp_path):
    r = runner.invoke(app, ["-d", str(tmp_path / "data"), "ingest", "hf-daily", str(REAL), "--no-index", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert (summary["records"], summary["added"], summary["errors"]) == (9877, 9877, 0)
    expected = {}
    with gzip.open(REAL, "rt") as f:
        for line in f:
            i = json.loads(line)
            if i["paper"]["submittedOnDailyAt"].startswith("2026-08-21"):
                expected[i["paper"]["id"]] = i["paper"].get("upvotes", 0)
    store = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    try:
        days = store.listing_day_counts(dt.date(2000, 1, 1), dt.date(2100, 1, 1))
        assert len(days) == 580 and sum(days.values()) == 9877
        assert days[dt.date(2026, 8, 21)] == len(expected) > 0
        got = {pid: store.get_listing(pid).imported_upvotes for pid in expected}
        assert got == expected
        assert all("\n" not in p.title and "  " not in p.title for p in store.get_papers(list(expected)).values())
    finally:
        store.close()
