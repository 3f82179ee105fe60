"""The evaluation harness: metrics against hand-computed values, and the CLI on the dev queries."""

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.search import metrics

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "dev_queries.jsonl"


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
