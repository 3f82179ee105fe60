"""The evaluation harness: metrics against hand-computed values, and the CLI on the dev queries."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.search import metrics

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev_queries.jsonl"


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_ndcg_by_hand():
    gains = {"a": 2, "b": 1}
    assert metrics.ndcg_at(["a", "b", "x"], gains) == 1.0
    swapped = (1 / math.log2(2) + 3 / math.log2(3)) / (3 / math.log2(2) + 1 / math.log2(3))
    assert metrics.ndcg_at(["b", "a"], gains) == pytest.approx(swapped)
    assert metrics.ndcg_at(["x", "y"], gains) == 0.0
    assert metrics.ndcg_at(["a"], {}) == 0.0


def test_mrr_and_recall():
    gains = {"a": 2, "b": 1, "c": 1}
    assert metrics.mrr_at(["x", "y", "b"], gains) == pytest.approx(1 / 3)
    assert metrics.mrr_at(["x"] * 10 + ["a"], gains, k=10) == 0.0
    assert metrics.recall_at(["a", "x", "c"], gains) == pytest.approx(2 / 3)


def test_eval_cli_reports_every_mode_and_style(tmp_path, seed_files):
    if not DEV.exists():
        pytest.skip("../shared/eval not present")
    runner = CliRunner()
    runner.invoke(app, ["-d", str(tmp_path), "ingest", "pages", *map(str, seed_files)])
    r = runner.invoke(app, ["-d", str(tmp_path), "eval", str(DEV), "--json", "--mode", "lexical"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    lexical = report["modes"]["lexical"]
    assert report["queries"] == 10
    assert set(lexical["by_style"]) == {"keyword", "natural", "acronym", "cross"}
    assert 0.5 < lexical["overall"]["ndcg@10"] <= 1.0


def test_eval_rejects_a_malformed_file_with_its_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"query": "x", "relevant": {}}\nnot json\n')
    r = CliRunner().invoke(app, ["-d", str(tmp_path / "d"), "eval", str(bad)])
    assert r.exit_code == 1 and "q.jsonl:2: not a judged query" in r.output


def test_eval_on_an_empty_store_says_so_instead_of_scoring_zero(tmp_path):
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"qid": "1", "query": "gradient inversion", "style": "keyword", "relevant": {"Some Title": 2}}\n')
    r = CliRunner().invoke(app, ["-d", str(tmp_path / "d"), "eval", str(queries)])
    assert r.exit_code == 1 and "has no papers: ingest the judged corpus first" in r.output


def beir_folder(tmp_path):
    """A tiny BEIR set: 4 documents (two with one title, which the store merges), 2 judged queries."""
    folder = tmp_path / "beir"
    folder.mkdir()
    docs = [("1", "wing slipstream lift", "the lift of a wing in a propeller slipstream."),
            ("2", "heat conduction in slabs", "heat conduction in composite slabs."),
            ("3", "boundary layer transition", "transition of the boundary layer at high speed."),
            ("4", "boundary layer transition", "the same title again, another document.")]
    (folder / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": t, "text": x}) + "\n" for i, t, x in docs))
    (folder / "queries.jsonl").write_text(
        json.dumps({"_id": "q1", "text": "propeller slipstream"}) + "\n"
        + json.dumps({"_id": "q2", "text": "boundary layer"}) + "\n"
        + json.dumps({"_id": "q3", "text": "a query nobody judged"}) + "\n")
    (folder / "qrels.tsv").write_text("query-id\tcorpus-id\tscore\nq1\t1\t3\nq2\t4\t2\nq2\t2\t0\n")
    return folder


def test_eval_loads_a_beir_folder_into_a_throwaway_data_dir(tmp_path):
    data = tmp_path / "data"
    out = run("-d", data, "eval", beir_folder(tmp_path), "--mode", "lexical", "--json")
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert report["queries"] == 2  # q3 has no judgments
    rows = {r["qid"]: r for r in report["modes"]["lexical"]["per_query"]}
    assert rows["q1"]["ndcg@10"] == 1.0
    assert rows["q2"]["ndcg@10"] == 1.0  # document 4 was merged into 3 by title: its judgment follows it
    assert not (data / "paperradar.db").exists()  # the real data dir was not touched


def test_eval_judges_our_queries_against_corpus_files(tmp_path):
    corpus = tmp_path / "daily.json"
    corpus.write_text(json.dumps([
        {"paper": {"id": "2401.00001", "title": "Speculative decoding for fast inference", "summary": "Drafts and verifies."}},
        {"paper": {"id": "2401.00002", "title": "Protein folding with diffusion", "summary": "Structures."}}]))
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"qid": 1, "query": "speculative decoding", "style": "keyword",
                                   "relevant": {"Speculative decoding for fast inference": 2}}) + "\n")
    out = run("-d", tmp_path / "data", "eval", queries, "--corpus", corpus, "--mode", "lexical", "--json")
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["modes"]["lexical"]["by_style"]["keyword"]["ndcg@10"] == 1.0


def test_paired_bootstrap_interval():
    from paperradar.evaluate import paired_bootstrap

    assert paired_bootstrap([0.5] * 20, [0.5] * 20) == (0.0, 0.0, 0.0)
    d, lo, hi = paired_bootstrap([0.9] * 10 + [0.6] * 10, [0.5] * 20)  # always better: interval above 0
    assert d == pytest.approx(0.25) and 0 < lo < d < hi <= 0.4
    d, lo, hi = paired_bootstrap([1.0, 0.0] * 10, [0.0, 1.0] * 10)  # wins and losses cancel: noise
    assert d == 0.0 and lo < 0 < hi
    assert paired_bootstrap([0.3, 0.9, 0.4], [0.1, 0.2, 0.8]) == paired_bootstrap([0.3, 0.9, 0.4], [0.1, 0.2, 0.8])


def test_plain_bm25_ranks_by_textbook_bm25():
    from paperradar.models import Paper
    from paperradar.search.plain_bm25 import PlainBM25

    plain = PlainBM25([Paper(id="a", title="Wing lift", abstract="lift of a wing in a propeller slipstream"),
                       Paper(id="b", title="Heat", abstract="heat conduction; the wing is not the topic here at all"),
                       Paper(id="c", title="Withdrawn wing", abstract="wing", withdrawn=True)])
    assert plain.search("propeller wing") == ["a", "b"]  # the rarer word decides; withdrawn papers are out
    assert plain.search("the") == ["b"] and plain.search("") == [] and plain.search("zzz") == []


def test_eval_modes_against_bm25_compare_and_cache(tmp_path):
    folder, cache = beir_folder(tmp_path), tmp_path / "cache"
    first = run("-d", tmp_path / "data", "eval", folder, "--mode", "lexical,bm25", "--cache-dir", cache, "--json",
                "--against", "bm25")
    assert first.exit_code == 0, first.output
    report = json.loads(first.stdout)
    assert list(report["modes"]) == ["lexical", "bm25"] and report["modes"]["bm25"]["overall"]["ndcg@10"] == 1.0
    [c] = report["comparisons"]
    assert c["new"] == "lexical" and c["rows"][0]["style"] == "all" and c["rows"][0]["n"] == 2
    [kept] = list(cache.iterdir())
    assert (kept / "eval-loaded.json").is_file()
    saved = tmp_path / "before.json"
    saved.write_text(first.stdout)
    again = run("-d", tmp_path / "data", "eval", folder, "-m", "lexical", "--cache-dir", cache, "--compare", saved)
    assert again.exit_code == 0, again.output
    assert "lexical − lexical (before.json)" in again.stdout and "+0.000 .. +0.000" in again.stdout
    assert list(cache.iterdir()) == [kept]  # reused, not loaded again


def test_eval_refuses_an_unknown_mode_and_a_bad_report(tmp_path):
    folder = beir_folder(tmp_path)
    r = run("-d", tmp_path / "data", "eval", folder, "--mode", "lexical,bm26")
    assert r.exit_code == 1 and "unknown mode 'bm26'" in r.output
    bad = tmp_path / "r.json"
    bad.write_text("[1, 2]")
    r = run("-d", tmp_path / "data", "eval", folder, "--compare", bad)
    assert r.exit_code == 1 and "not a report saved with --json" in r.output
