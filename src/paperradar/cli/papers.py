"""Reading commands: search, show, stats, reindex."""

from __future__ import annotations

import typer
from rich.table import Table

from ..errors import UserError
from ..views import hit_json, paper_json
from .common import out, print_json, progress_bar, radar, sync_indexes


def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help='Words, "phrases", -exclusions, author:NAME, cat:cs.LG, from:/to:YYYY-MM-DD.'),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=200, help="How many results."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array in rank order."),
) -> None:
    """Search the papers."""
    with radar(ctx) as r:
        sync_indexes(r)
        results = r.search.search(query, limit=limit)
    if as_json:
        print_json([hit_json(h) for h in results.hits])
        return
    if not results.hits:
        out.print("no papers match")
        return
    table = Table("#", "score", "id", "title", box=None, header_style="bold")
    for i, h in enumerate(results.hits, 1):
        table.add_row(str(i), f"{h.score:.3f}", h.paper.id, h.paper.title)
    out.print(table)
    out.print(f"[dim]{len(results.hits)} of {results.total} matching papers[/]")


def show(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="paperradar id or arXiv id."),
    as_json: bool = typer.Option(False, "--json", help="Print the paper as JSON."),
) -> None:
    """Show one paper."""
    with radar(ctx) as r:
        p = r.store.get_paper(paper_id.strip())
    if p is None:
        raise UserError(f"no paper with id {paper_id!r}")
    if as_json:
        print_json(paper_json(p, full=True))
        return
    out.print(f"[bold]{p.title}[/]", highlight=False)
    if p.authors:
        out.print(", ".join(p.authors), highlight=False)
    meta = [x for x in (p.id, p.arxiv_id and f"arXiv:{p.arxiv_id}", ", ".join(p.categories),
                        p.published and p.published.isoformat()) if x]
    out.print(f"[dim]{' · '.join(dict.fromkeys(meta))}[/]", highlight=False)
    out.print()
    out.print(p.abstract, highlight=False)
    for s in p.sightings:
        out.print(f"[dim]seen: {s.source} {s.ref} #{s.position} {s.listed}[/]", highlight=False)


def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Counts: papers, indexed documents, pending index work."""
    with radar(ctx) as r:
        data = {
            "papers": r.store.count_papers(),
            "indexed": len(r.lexical),
            "index_pending": r.pending_index_changes(),
            "data_dir": str(r.settings.data_dir.resolve()),
        }
    if as_json:
        print_json(data)
        return
    table = Table(show_header=False, box=None)
    for k, v in data.items():
        table.add_row(k, str(v))
    out.print(table)


def reindex(ctx: typer.Context) -> None:
    """Rebuild the search indexes from the store."""
    with radar(ctx) as r:
        with progress_bar("reindexing", r.store.count_papers()) as advance:
            n = r.rebuild_indexes(advance)
    out.print(f"reindexed {n} papers")


def register(app: typer.Typer) -> None:
    for fn in (search, show, stats, reindex):
        app.command()(fn)
