"""The store: a real SQLite file; upserts are idempotent and merge duplicates."""

import datetime as dt
import sqlite3

from paperradar.models import Paper, Sighting
from paperradar.normalize import normalize_paper
from paperradar.store import Store


def paper(title="Attention Is All You Need", **kw) -> Paper:
    return normalize_paper(Paper(title=title, abstract=kw.pop("abstract", "Transformers."), **kw))


def test_sqlite_file_in_wal_mode(tmp_path):
    Store(f"sqlite:///{tmp_path}/p.db").close()
    mode = sqlite3.connect(tmp_path / "p.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reingesting_the_same_input_changes_nothing(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    batch = [paper(sightings=[Sighting("pages", "a.txt", 1)]), paper("Other", sightings=[Sighting("pages", "a.txt", 2)])]
    first = store.upsert_papers(batch)
    before = sqlite3.connect(tmp_path / "p.db").execute("SELECT * FROM papers ORDER BY id").fetchall()
    again = store.upsert_papers(batch)
    after = sqlite3.connect(tmp_path / "p.db").execute("SELECT * FROM papers ORDER BY id").fetchall()
    assert (first.added, again.added, again.updated, again.unchanged, again.new_sightings) == (2, 0, 0, 2, 0)
    assert before == after


def test_same_paper_on_two_pages_is_one_paper_seen_twice(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    r = store.upsert_papers([paper(sightings=[Sighting("pages", "a.txt", 3, "Mar 11")]),
                             paper("attention is all you NEED", sightings=[Sighting("pages", "b.txt", 7)])])
    assert r.added == 1 and r.unchanged == 1
    stored = store.get_paper(r.ids[0])
    assert [(s.ref, s.position) for s in stored.sightings] == [("a.txt", 3), ("b.txt", 7)]


def test_arxiv_record_enriches_a_listing_page_paper(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    listed = store.upsert_papers([paper()]).ids[0]
    r = store.upsert_papers([paper(arxiv_id="1706.03762v5", authors=["Ashish Vaswani"],
                                   categories=["cs.CL"], published=dt.date(2017, 6, 12))])
    assert r.updated == 1 and r.ids == [listed]  # the id stays stable
    p = store.get_paper(listed)
    assert (p.arxiv_id, p.version, p.authors, p.published) == ("1706.03762", 5, ["Ashish Vaswani"], dt.date(2017, 6, 12))
    assert store.get_paper("1706.03762").id == listed  # found by arXiv id too


def test_listing_page_never_overwrites_arxiv_metadata(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    store.upsert_papers([paper(arxiv_id="1706.03762", version=2, abstract="The real abstract.")])
    r = store.upsert_papers([paper(abstract="A shortened listing abstract.")])
    assert r.unchanged == 1
    assert store.get_paper("1706.03762").abstract == "The real abstract."


def test_changes_bump_seq_for_the_indexes(tmp_path):
    store = Store(f"sqlite:///{tmp_path}/p.db")
    store.upsert_papers([paper(), paper("Other")])
    seq = store.max_seq()
    store.upsert_papers([paper(abstract="Transformers, revised.", version=2)])
    changed = list(store.papers_changed_since(seq))
    assert [p.abstract for _, p in changed] == ["Transformers, revised."]
