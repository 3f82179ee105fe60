"""`paperradar reembed`: move search to the configured embedding model (docs/search.md, "Models")."""

from __future__ import annotations

import typer

from .common import out, print_json, radar, sync_indexes
from .common import reembed as run_reembed  # this module's command has the same name


def reembed(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Embed every paper with the configured model (PAPERRADAR_EMBED_MODEL, PAPERRADAR_EMBED_INT8),
    then switch search to it.

    Until it finishes, search keeps answering with the vectors it has. A killed run resumes where
    it stopped when started again: the vectors made so far are kept in the store. Running servers
    switch by themselves within a second of the end.
    """
    with radar(ctx) as r:
        sync_indexes(r, quiet_model_notice=True)  # the keyword index and the current vectors first
        before = r.active
        result = run_reembed(r)
        n = len(r.vectors) if r.vectors is not None else 0
    if json_out:
        print_json({"embedding": result.embedding, "previous": result.previous, "papers": result.papers,
                    "vectors": n, "seconds": round(result.seconds, 1)})
    elif result.previous is None:
        out.print(f"search already uses {before} ({n} vectors); nothing to do")
    else:
        out.print(f"search now uses {result.embedding} ({n} vectors; was {result.previous}): "
                  f"{result.papers} papers taken in {result.seconds:.0f} s")


def register(app: typer.Typer) -> None:
    app.command()(reembed)
