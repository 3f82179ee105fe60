"""Keyword search: any string is safe, phrases and filters work, highlights are escaped HTML."""

import datetime as dt
import re

import pytest

from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.config import Settings
from paperradar.ingest import ingest
from paperradar.search.lexical import title_pairs
from paperradar.search.query import QueryError

HOSTILE = ['"unbalanced', "*", "AND", "a AND b OR", "NEAR(", "NEAR(a b)", "-", "-leading", "don't",
           "multi-agent", "", "   ", "x" * 10_000, "word " * 2000, 'title:"x', "author:", "cat:",
           "()[]{}^~:\\/", "'; DROP TABLE papers; --", "<script>alert(1)</script>", "\x00\x01", "🙂 émoji"]


@pytest.mark.parametrize("q", HOSTILE)
def test_hostile_queries_never_error(demo_radar, q):
    results = demo_radar.search.search(q, limit=5)
    assert isinstance(results.hits, list)


def test_normalizing_flows_finds_flow_papers_first(demo_radar):
    titles = [h.paper.title for h in demo_radar.search.search("normalizing flows", limit=5).hits]
    assert all("flow" in t.lower() for t in titles[:3]), titles


def test_title_matches_rank_above_abstract_matches(demo_radar):
    # Keyword ranking: the words side by side in a title (`title_pairs`) lift those papers. In
    # hybrid mode the first place is the fusion's call (docs/search.md, "Keyword ranking").
    top = demo_radar.search.search("gradient inversion", limit=3, mode="lexical").hits
    assert all("gradient inversion" in h.paper.title.lower() for h in top), [h.paper.title for h in top]


def test_title_pairs_join_each_stem_to_the_next_two():
    assert title_pairs(["gradient", "invers", "attack"]) == ["gradient_invers", "gradient_attack", "invers_attack"]


def test_words_side_by_side_in_a_title_beat_the_same_words_apart(tmp_path):
    r = Radar(Settings(data_dir=tmp_path))
    # the shorter title would win on BM25 alone
    ingest(r.store, [Paper(title="Gradient inversion attacks on federated learning with many clients", abstract="x"),
                     Paper(title="Inversion by gradient", abstract="x")])
    r.sync_indexes()
    hits = r.search.search("gradient inversion", limit=2, mode="lexical").hits
    assert hits[0].paper.title.startswith("Gradient inversion")


def test_phrase_requires_adjacent_words(demo_radar):
    phrase = demo_radar.search.search('"knowledge distillation"', limit=50)
    loose = demo_radar.search.search("knowledge distillation", limit=50)
    assert 0 < phrase.total < loose.total
    for h in phrase.hits:
        text = (h.paper.title + " " + h.paper.abstract).lower()
        # adjacent words, compared by stem: "knowledge, distilling" matches too
        assert re.search(r"knowledge\W+distill", text)


def test_exclusion(demo_radar):
    ids = {h.paper.id for h in demo_radar.search.search("diffusion -image", limit=100).hits}
    assert ids
    for pid in ids:
        p = demo_radar.store.get_paper(pid)
        assert "image" not in (p.title + p.abstract).lower().replace("images", "image").split()



def test_a_page_of_results_says_whether_another_follows(demo_radar):
    search = demo_radar.search
    matching = [h.paper.id for h in search.search("inversion", limit=200, mode="lexical").hits]
    assert 6 < len(matching) < 200
    first = search.search("inversion", limit=5, mode="lexical")
    assert [h.paper.id for h in first.hits] == matching[:5] and first.more
    last = search.search("inversion", limit=5, offset=len(matching) - 3, mode="lexical")
    assert [h.paper.id for h in last.hits] == matching[-3:] and not last.more
    assert search.search("inversion", limit=5).more  # hybrid, too

def test_highlight_marks_stems_and_escapes(demo_radar):
    hit = demo_radar.search.search("normalizing flows", limit=1).hits[0]
    assert "<mark>Normalizing</mark>" in hit.title_html and "<mark>Flows</mark>" in hit.title_html
    hostile = demo_radar.search.search("<script>", limit=1)
    assert all("<script>" not in str(h.snippet_html) for h in hostile.hits)


def test_bad_date_is_a_query_error(demo_radar):
    with pytest.raises(QueryError, match="from: expects a date"):
        demo_radar.search.search("flows from:2020-13-45")


@pytest.fixture
def small(settings):
    r = Radar(settings)
    r.store.upsert_papers([
        Paper(id="2101.00001", arxiv_id="2101.00001", title="Graph neural networks for molecules",
              abstract="Message passing.", authors=["Ada Lovelace", "Alan Turing"], categories=["cs.LG"],
              published=dt.date(2021, 1, 4)),
        Paper(id="2203.00002", arxiv_id="2203.00002", title="Graph transformers for proteins",
              abstract="Attention over residues.", authors=["Grace Hopper"], categories=["q-bio.BM", "cs.LG"],
              published=dt.date(2022, 3, 1)),
        Paper(id="2305.00003", arxiv_id="2305.00003", title="Graph drawing by hand",
              abstract="Pencils.", authors=["Alan Kay"], categories=["cs.CG"], published=dt.date(2023, 5, 2)),
    ])
    r.sync_indexes()
    yield r
    r.close()


def ids(r, q, mode="lexical"):
    return [h.paper.id for h in r.search.search(q, limit=10, mode=mode).hits]


def test_filters(small):
    assert ids(small, "graph author:turing") == ["2101.00001"]
    assert ids(small, 'graph author:"alan kay"') == ["2305.00003"]
    assert set(ids(small, "graph cat:cs.LG")) == {"2101.00001", "2203.00002"}
    assert ids(small, "graph cat:q-bio.BM") == ["2203.00002"]
    assert set(ids(small, "graph from:2022-01-01")) == {"2203.00002", "2305.00003"}
    assert ids(small, "graph from:2022 to:2022-12") == ["2203.00002"]
    assert ids(small, "graph to:2020") == []


@pytest.mark.parametrize("mode", ["hybrid", "vector"])
def test_filters_hold_in_every_mode(small, mode):
    assert ids(small, "graph cat:q-bio.BM", mode) == ["2203.00002"]
    assert set(ids(small, "molecules cat:cs.LG", mode)) == {"2101.00001", "2203.00002"}
    assert ids(small, "molecules author:kay", mode) == ["2305.00003"]
    assert ids(small, "molecules to:2021", mode) == ["2101.00001"]
    assert "2101.00001" not in ids(small, "molecules -message", mode)


def test_filters_alone_list_newest_first(small):
    assert ids(small, "cat:cs.LG") == ["2203.00002", "2101.00001"]


def test_index_follows_store_changes(small):
    small.store.upsert_papers([Paper(id="2305.00003", arxiv_id="2305.00003", version=2,
                                     title="Graph drawing with quantum pencils", abstract="Pencils.",
                                     published=dt.date(2023, 5, 2))])
    assert small.pending_index_changes() == 1
    small.sync_indexes()
    assert ids(small, "quantum") == ["2305.00003"]


def test_index_survives_restart_and_rebuilds(small, settings):
    small.close()
    again = Radar(settings)
    assert again.pending_index_changes() == 0
    assert ids(again, "proteins") == ["2203.00002"]
    assert again.rebuild_indexes() == 3
    assert ids(again, "proteins") == ["2203.00002"]
    again.close()


def test_highlighting_escapes_hostile_text_and_marks_stems():
    from paperradar.search import highlight

    m = highlight.matcher(["studies", "flows"])
    html = highlight.mark("We study <script>alert(1)</script> flow &amp; flowing.", m)
    assert html == ("We <mark>study</mark> &lt;script&gt;alert(1)&lt;/script&gt; <mark>flow</mark> "
                    "&amp;amp; <mark>flowing</mark>.")
    long = "filler " * 100 + "normalizing flows work " + "more " * 100
    snip = highlight.snippet(long, highlight.matcher(["normalizing", "flows"]))
    assert snip.startswith("… ") and snip.endswith(" …") and "<mark>normalizing</mark> <mark>flows</mark>" in snip
    assert len(snip) < 400

    # control characters in the text itself never turn into tags (they stand for them inside)
    odd = highlight.mark("a\x00flow\x01 <b>", m)
    assert odd == "a\x00<mark>flow</mark>\x01 &lt;b&gt;" and "<b>" not in odd


def test_highlighting_marks_whole_words_only_and_keeps_positions_in_any_script():
    from paperradar.search import highlight

    m = highlight.matcher(["networks", "istanbul"])
    # "İ" lowercases to two characters; the marks still land on the right words
    assert highlight.mark("İstanbul: subnetworks, networked NETWORKS", m) == (
        "<mark>İstanbul</mark>: subnetworks, <mark>networked</mark> <mark>NETWORKS</mark>")
