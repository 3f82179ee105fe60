"""A search service keeps the papers of recent results (search/recent_papers.py); a changed
paper shows in results as soon as the keyword index has the change, whichever process synced it."""

from paperradar.config import Settings
from paperradar.ingest import ingest
from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.search.recent_papers import RecentPapers


def paper(title: str, version: int) -> Paper:
    return Paper(title=title, abstract="Tokens are routed to a few experts.", arxiv_id="2401.00001", version=version)


def titles(r: Radar, q: str) -> list[str]:
    return [h.paper.title for h in r.search.search(q, mode="lexical").hits]


def test_a_changed_title_shows_once_the_index_has_it(tmp_path):
    r = Radar(Settings(data_dir=tmp_path))
    ingest(r.store, [paper("Sparse experts for long documents", 1)])
    r.sync_indexes()
    assert titles(r, "experts") == ["Sparse experts for long documents"]
    ingest(r.store, [paper("Sparse experts for very long documents", 2)])
    # The keyword index does not have the change yet, and results show the paper as it knows it
    assert titles(r, "experts") == ["Sparse experts for long documents"]
    r.sync_indexes()
    assert titles(r, "experts") == ["Sparse experts for very long documents"]


def test_a_sync_by_another_process_drops_what_was_kept(tmp_path):
    settings = Settings(data_dir=tmp_path)
    server = Radar(settings)
    ingest(server.store, [paper("Sparse experts for long documents", 1)])
    server.sync_indexes()
    assert titles(server, "experts") == ["Sparse experts for long documents"]
    cli = Radar(settings)  # e.g. `paperradar ingest` beside a running server
    ingest(cli.store, [paper("Sparse experts for very long documents", 2)])
    cli.sync_indexes()
    assert titles(server, "experts") == ["Sparse experts for very long documents"]


def test_the_least_recently_used_go_first_and_a_new_version_drops_all():
    fetched, version = [], [1]

    def fetch(ids):
        fetched.extend(ids)
        return {i: Paper(title=i, id=i) for i in ids if i != "unknown"}

    kept = RecentPapers(fetch, lambda: version[0], max_items=2)
    assert list(kept.get(["a", "b", "unknown"])) == ["a", "b"]
    kept.get(["a"])  # a is now the most recently used
    kept.get(["c"])  # so b goes
    fetched.clear()
    assert list(kept.get(["a", "b", "c"])) == ["a", "c", "b"]
    assert fetched == ["b"]
    version[0] = 2
    fetched.clear()
    kept.get(["a"])
    assert fetched == ["a"]
