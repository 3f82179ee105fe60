"""`paperradar eval`: score search modes against judged queries."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.table import Table

from ..errors import UserError
from ..evaluate import evaluate, load_queries
from .common import err, out, print_json, radar, sync_indexes


def eval_cmd(
    ctx: typer.Context,
    queries: Path = typer.Argument(..., help="JSON lines: {qid, query, style, relevant: {title: grade}}."),
    mode: Optional[List[str]] = typer.Option(None, "--mode", "-m", help="Modes to compare (default: all available)."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report (with per-query rows) as JSON."),
) -> None:
    """nDCG@10, MRR@10 and recall@50, overall and per query style, for each search mode."""
    with radar(ctx) as r:
        sync_indexes(r)
        judged = load_queries(queries, r.store)
        if not r.store.count_papers():
            # Every judged title would be "missing" and every score 0: say what is wrong instead.
            raise UserError(f"the store in {r.settings.data_dir} has no papers: ingest the judged corpus first "
                            f"(`paperradar ingest pages FILES`, or start `paperradar serve` once for the demo corpus)")
        for q in judged:
            for title in q.missing:
                err.print(f"[yellow]query {q.qid}: judged title not in the store:[/] {title}", highlight=False)
        report = evaluate(r.search, judged, mode or list(r.search.modes))
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
