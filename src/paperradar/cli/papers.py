"""Reading commands: search, show, stats, reindex."""

from __future__ import annotations

import typer
from rich.table import Table

from ..errors import UserError
from ..radar import Radar
from ..views import hit_json, paper_json
from ..search.service import MODES
from .common import err, out, print_json, radar, reembed, settings, sync_indexes
from .harvest import runs_table


def search(
    ctx: typer.Context,
    query: str = typer.Argument(..., help='Words, "phrases", -exclusions, author:NAME, cat:cs.LG, from:/to:YYYY-MM-DD.'),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=200, help="How many results."),
    mode: str = typer.Option("hybrid", "--mode", "-m", help="hybrid (default), lexical (BM25) or vector (by meaning)."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array in rank order."),
) -> None:
    """Search the papers (by keywords and by meaning)."""
    if mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not query.strip():  # as the search feed answers 400: an empty query is a mistake, not "no match"
        raise UserError('give a query: words, "phrases", author:NAME, cat:cs.LG...')
    with radar(ctx) as r:
        sync_indexes(r)
        results = r.search.search(query, limit=limit, mode=mode)
    if results.notice:
        err.print(f"[yellow]note:[/] {results.notice}", highlight=False)
    if results.suggestion:  # on stderr: --json output stays one JSON array
        err.print(f"did you mean: {results.suggestion.query}  (showing results for it)", highlight=False)
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
    if results.total:
        out.print(f"[dim]{len(results.hits)} of {results.total} matching papers ({results.mode})[/]")


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


def similar(
    ctx: typer.Context,
    paper_id: str = typer.Argument(..., help="paperradar id or arXiv id."),
    limit: int = typer.Option(10, "--limit", "-n", min=1, max=100, help="How many papers."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array, most similar first."),
) -> None:
    """Papers closest in meaning to one paper (never the paper itself or another version of it)."""
    with radar(ctx) as r:
        sync_indexes(r)
        p = r.store.get_paper(paper_id.strip())
        if p is None:
            raise UserError(f"no paper with id {paper_id!r}")
        hits = r.search.similar(p, limit=limit)
    if as_json:
        print_json([hit_json(h) for h in hits])
        return
    table = Table("#", "similarity", "id", "title", box=None, header_style="bold")
    for i, h in enumerate(hits, 1):
        table.add_row(str(i), f"{h.score:.3f}", h.paper.id, h.paper.title)
    out.print(table)


def stats(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON."),
          verify: bool = typer.Option(False, "--verify", help="Read every byte of the indexes against their "
                                      "checksums (opening checks only files changed since they were written).")) -> None:
    """Counts: papers, indexed documents, pending index work, index damage found and repaired."""
    with radar(ctx) as r:
        # found when the indexes opened (emptied and being rebuilt from the store), or now
        damage = {**r.index_damage, **(r.indexer.repair(full=True) if verify else {})}
        repaired = {"keywords": r.lexical.last_repair, "vectors": r.vectors.last_repair if r.vectors else None}
        data = {
            "papers": r.store.count_papers(),
            "indexed": len(r.lexical),
            "vectors": len(r.vectors) if r.vectors else 0,
            "embedding_model": r.active,
            **({"embedding_wanted": r.wanted} if r.wanted != r.active else {}),
            "search_by_meaning": "on" if r.vectors is not None else f"off: {r.vector_problem}",
            "index_pending": r.pending_index_changes(),
            "index_damage": damage,
            "index_repaired": {name: last for name, last in repaired.items() if last},
            "data_dir": str(r.settings.data_dir.resolve()),
        }
        runs = runs_table(r.store)
    if as_json:
        print_json({**data, "runs": runs})
        return
    table = Table(show_header=False, box=None)
    for k, v in data.items():
        if k == "index_damage":
            v = "; ".join(f"{name}: {problem} (emptied; rebuilt from the store)" for name, problem in v.items()) or "none"
        elif k == "index_repaired":
            v = "; ".join(f"{name} {last['at']}: {last['problem']}" for name, last in v.items()) or "never"
        table.add_row(k, str(v))
    out.print(table)
    if runs:
        recent = Table("job", "started (UTC)", "took", "status", "counts / error", box=None, header_style="bold")
        for run in runs:
            took = str(run["finished_at"] - run["started_at"]) if run["finished_at"] else "-"
            detail = run["error"] or " ".join(f"{k}={v}" for k, v in run["counts"].items())
            recent.add_row(run["job"], f"{run['started_at']:%Y-%m-%d %H:%M:%S}", took, run["status"], detail)
        out.print(recent)


def reindex(ctx: typer.Context) -> None:
    """Rebuild the search indexes from the store, whatever state they are in (they are derived
    data); after a change of embedding model it also re-embeds the papers (`reembed`)."""
    r = Radar(settings(ctx), rebuild_vectors=True)
    try:
        r.indexer.reset()
        sync_indexes(r, strict=True, quiet_model_notice=True)  # another process writing too long: an error
        reembed(r)
        n = len(r.lexical)
    finally:
        r.close()
    out.print(f"reindexed {n} papers")


def register(app: typer.Typer) -> None:
    for fn in (search, show, similar, stats, reindex):
        app.command()(fn)
