"""`paperradar eval`: score search modes against judged queries.

Given a BEIR folder, or our JSON lines with `--corpus` files, the corpus is loaded into a
throwaway data dir (indexed and embedded there, the built model graphs shared with the real
data dir); otherwise the queries are judged against the data dir's own papers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..errors import UserError
from ..evaluate import evaluate, load_queries
from ..evalsets import beir_papers, beir_queries, corpus_papers, is_beir
from ..ingest import ingest
from ..radar import Radar
from .common import err, out, print_json, radar, settings, sync_indexes


def eval_cmd(
    ctx: typer.Context,
    queries: Path = typer.Argument(..., help="JSON lines {qid, query, style, relevant: {title: grade}}, or a BEIR "
                                             "folder (corpus.jsonl, queries.jsonl, qrels.tsv)."),
    corpus: Optional[List[Path]] = typer.Option(None, "--corpus", "-c", help="Judge against these files (listing "
                                                "pages .txt, Hugging Face daily lists .json/.jsonl/.gz) loaded into "
                                                "a throwaway data dir; repeat for more."),
    mode: Optional[List[str]] = typer.Option(None, "--mode", "-m", help="Modes to compare (default: all available)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report (with per-query rows) as JSON."),
) -> None:
    """nDCG@10, MRR@10 and recall@50, overall and per query style, for each search mode."""
    if is_beir(queries) or corpus:
        with tempfile.TemporaryDirectory(prefix="paperradar-eval-") as tmp:
            s = settings(ctx)
            throwaway = s.model_copy(update={"data_dir": Path(tmp), "database_url": None, "models_dir": s.model_cache})
            r = Radar(throwaway)
            try:
                report = _judge_loaded(r, queries, corpus or [], mode)
            finally:
                r.close()
    else:
        with radar(ctx) as r:
            sync_indexes(r)
            report = _judge(r, load_queries(queries, r.store), mode)
    _print(report, as_json)


def _judge_loaded(r: Radar, queries: Path, corpus: list[Path], mode) -> dict:
    if is_beir(queries):
        papers = beir_papers(queries)
        stored = r.store.upsert_papers(papers).ids
        sync_indexes(r)
        judged = beir_queries(queries, {p.id[len("beir:"):]: pid for p, pid in zip(papers, stored)})
    else:
        papers, warnings = corpus_papers(corpus)
        ingest(r.store, papers)
        for line in warnings:
            err.print(f"[yellow]corpus:[/] {line}", highlight=False)
        sync_indexes(r)
        judged = load_queries(queries, r.store)
    return _judge(r, judged, mode)


def _judge(r: Radar, judged, mode) -> dict:
    if not r.store.count_papers():
        # Every judged title would be "missing" and every score 0: say what is wrong instead.
        raise UserError(f"the store in {r.settings.data_dir} has no papers: ingest the judged corpus first "
                        f"(or give it with --corpus)")
    for q in judged:
        for title in q.missing:
            err.print(f"[yellow]query {q.qid}: judged title not in the store:[/] {title}", highlight=False)
    return evaluate(r.search, judged, mode or list(r.search.modes))


def _print(report: dict, as_json: bool) -> None:
    if as_json:
        print_json(report)
        return
    table = Table("mode", "style", "n", "nDCG@10", "MRR@10", "recall@50", box=None, header_style="bold")
    for m, data in report["modes"].items():
        rows = [("all", data["overall"])] + list(data["by_style"].items())
        for style, s in rows:
            table.add_row(m, style, str(s["n"]), f"{s['ndcg@10']:.3f}", f"{s['mrr@10']:.3f}", f"{s['recall@50']:.3f}")
        table.add_section()
    out.print(table)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
