""""Did you mean": typo'd words are corrected against the index's vocabulary, in the search
service, on the page, in the API (a header the Hugging Face client ignores) and in the CLI."""

from __future__ import annotations

import time
from urllib.parse import unquote

import pytest
from huggingface_hub import HfApi
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.search import suggest
from paperradar.search.query import parse

CORRECT = ["transformer", "gradient inversion", "diffusion models", "RLHF", "reconstructing images from shared gradients",
           '"speculative decoding"', "author:Hinton", "neural architecture search"]


def test_distance_counts_a_transposition_as_one_edit():
    assert suggest.distance("trasnformer", "transformer", 2) == 1
    assert suggest.distance("difusion", "diffusion", 2) == 1
    assert suggest.distance("lerning", "learning", 2) == 1
    assert suggest.distance("rekurent", "recurrent", 2) == 2
    assert suggest.distance("rekurant", "recurrent", 2) == 3  # over the cutoff: cutoff + 1
    assert suggest.distance("abc", "abc", 1) == 0


def test_replace_words_keeps_filters_quotes_and_exclusions():
    fix = {"trasnformer": "transformer", "atention": "attention"}
    assert suggest.replace_words('author:trasnformer "sparse atention" cat:cs.LG -trasnformer Trasnformer', fix) \
        == 'author:trasnformer "sparse attention" cat:cs.LG -trasnformer Transformer'


def test_a_typo_finds_results_and_a_suggestion(demo_radar):
    for mode in ("lexical", "hybrid"):
        r = demo_radar.search.search("trasnformer", mode=mode, limit=10)
        assert r.suggestion and r.suggestion.query == "transformer", mode
        assert r.suggestion.corrections == {"trasnformer": "transformer"}
        assert sum("ransformer" in h.paper.title for h in r.hits) >= 5, [h.paper.title for h in r.hits]
    two = demo_radar.search.search("difusion modles", mode="lexical")
    assert two.suggestion.query == "diffusion models" and two.hits


def test_correct_words_never_get_a_suggestion(demo_radar):
    for q in CORRECT:
        assert demo_radar.search.search(q, mode="lexical", limit=5).suggestion is None, q
    # a word the index has is never "corrected", even when a commoner word is one edit away
    assert demo_radar.lexical.unmatched(["model", "models", "transformer"]) == []


def test_the_suggestion_keeps_the_query_s_filters(demo_radar):
    r = demo_radar.search.search('"trasnformer models" cat:cs.LG -survey', mode="lexical")
    assert r.suggestion.query == '"transformer models" cat:cs.LG -survey'
    assert r.query.phrases == [["transformer", "models"]] and r.query.categories == ["cs.LG"]


def test_hostile_queries_stay_bounded(demo_radar):
    typos = " ".join(f"trasnformr{c}x difusionn{c} !!! ((( \"unclosed" for c in "abcdefghijklmnopqrstuvwxyz")
    for q in (typos, typos * 10, "a" * 5000, "ñøñ-ascii wörds ünknöwn " * 40, "author: cat: from:2020 :::: \"\" -"):
        start = time.perf_counter()
        r = demo_radar.search.search(q, mode="lexical")
        assert time.perf_counter() - start < 3, q[:40]
        assert r.suggestion is None or len(r.suggestion.corrections) <= suggest.MAX_WORDS
    assert len(parse(typos * 10).raw) > 2000  # the parser cuts it: the suggestion works on the cut text


def test_page_offers_the_suggestion_as_a_link(http):
    page = http.get("/search", params={"q": "trasnformer", "mode": "lexical"})
    assert page.status_code == 200
    assert "Did you mean" in page.text and 'href="/search?q=transformer&amp;mode=lexical"' in page.text
    assert "trasnformer→<b>transformer</b>" in page.text
    filtered = http.get("/search", params={"q": 'trasnformer cat:cs.LG "neural netwrks"'})
    assert "/search?q=transformer%20cat%3Acs.LG%20%22neural%20networks%22" in filtered.text
    assert "Did you mean" not in http.get("/search", params={"q": "transformer"}).text
    hostile = http.get("/search", params={"q": ("zzqxv trasnformr !!! \"" * 50)[:1000]})
    assert hostile.status_code == 200


def test_api_returns_the_suggestion_in_a_header_and_hf_clients_still_work(http, live):
    r = http.get("/api/papers/search", params={"q": 'trasnformer "neural netwrks"'})
    assert r.status_code == 200 and isinstance(r.json(), list) and r.json()
    assert unquote(r.headers["x-did-you-mean"]) == 'transformer "neural networks"'
    assert "x-did-you-mean" not in http.get("/api/papers/search", params={"q": "transformer"}).headers
    found = list(HfApi(endpoint=live.url).list_papers(query="trasnformer", limit=5))
    assert len(found) == 5 and all(p.title for p in found)
    assert http.get("/api/papers/search", params={"q": ("qqzx trasnfrmr ;;; " * 60)[:1000]}).status_code == 200


@pytest.mark.parametrize("as_json", [False, True])
def test_cli_search_prints_the_suggestion(tmp_path, seed_files, as_json):
    runner = CliRunner()
    data = tmp_path / "d"
    assert runner.invoke(app, ["-d", str(data), "ingest", "pages", *map(str, seed_files)]).exit_code == 0
    r = runner.invoke(app, ["-d", str(data), "search", "trasnformer", "--mode", "lexical"] + (["--json"] * as_json))
    assert r.exit_code == 0, r.output
    assert "did you mean: transformer" in r.stderr
    assert "did you mean" not in r.stdout  # --json stays parseable
    assert "ransformer" in r.stdout


def test_real_words_missing_from_the_corpus_are_not_turned_into_others(tmp_path):
    from conftest import make_settings
    from paperradar.models import Paper
    from paperradar.radar import Radar

    r = Radar(make_settings(tmp_path / "data"))
    try:
        r.store.upsert_papers([
            Paper(id=f"p{i}", title=t, abstract=a) for i, (t, a) in enumerate([
                ("Controlled flight of a wing alone", "Thrust and lift measured in controlled conditions."),
                ("Alone in the wind tunnel", "A controlled study of thrust at low speed."),
                ("Boundary layers", "Heat transfer in a laminar boundary layer.")])])
        r.lexical.sync()
        for q in ("uncontrolled flight", "anyone", "stop", "laminar"):  # an affix, short words, a match
            assert r.search.search(q, mode="lexical").suggestion is None, q
        fixed = r.search.search("contrlled thrust", mode="lexical")
        assert fixed.suggestion.query == "controlled thrust" and fixed.hits
    finally:
        r.close()


def test_browsers_may_read_the_suggestion_header(http):
    r = http.get("/api/papers/search", params={"q": "trasnformer"}, headers={"Origin": "https://example.org"})
    assert "X-Did-You-Mean" in r.headers["access-control-expose-headers"]


def test_between_forms_of_one_stem_the_one_as_long_as_the_typed_word_wins(demo_radar):
    assert demo_radar.search.search("mixture of experst", mode="lexical").suggestion.query == "mixture of experts"
