"""`paperradar topics list|show|rebuild|assign` and `paperradar map --png FILE`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.table import Table

from ..errors import UserError
from ..store import now as utcnow
from ..topics import build, views
from ..topics.picture import render
from .common import out, print_json, progress_bar, radar, sync_indexes

topics_app = typer.Typer(help="Topics of the radar: areas and fine topics, what is rising.", no_args_is_help=True)


@topics_app.command("list")
def list_(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every topic, fastest-growing first, with its area, size and weekly papers."""
    with radar(ctx) as r:
        fine, areas = views.fine_topics(r.store)
    if as_json:
        print_json({"areas": [views.topic_json(a) for a in areas.values()],
                    "topics": [views.topic_json(t, areas) for t in fine]})
        return
    if not fine:
        out.print("no topics yet: run `paperradar topics rebuild`")
        return
    table = Table("id", "topic", "area", "papers", "12 weeks", "change", box=None, header_style="bold")
    for t in fine:
        table.add_row(str(t.id), t.name, areas[t.parent_id].name if t.parent_id in areas else "", str(t.size),
                      " ".join(map(str, t.weekly)), f"{t.growth:+.2f}")
    out.print(table)


@topics_app.command("show")
def show(ctx: typer.Context, topic_id: int = typer.Argument(..., help="A topic id (from `topics list`)."),
         as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One topic: terms, weekly papers, its most typical and newest papers, related topics."""
    with radar(ctx) as r:
        found = views.page(r.store, topic_id)
    if found is None:
        raise UserError(f"no topic {topic_id}; `paperradar topics list` shows them")
    t = found.topic
    if as_json:
        print_json({**views.topic_json(t), "top": [p.id for p in found.top], "newest": [p.id for p in found.newest],
                    "related": [views.topic_json(x) for x in found.related]})
        return
    out.print(f"[bold]{t.name}[/]  ({t.level}, {t.size} papers, change {t.growth:+.2f})", highlight=False)
    out.print("terms: " + ", ".join(t.terms), highlight=False)
    out.print("weekly: " + " ".join(map(str, t.weekly)), highlight=False)
    for title, papers in (("most typical", found.top), ("newest", found.newest)):
        if papers:
            out.print(f"[bold]{title}[/]")
            for p in papers:
                out.print(f"  {p.id}  {p.title}", highlight=False)
    if found.related:
        out.print("[bold]related[/]: " + "; ".join(f"{x.name} ({x.id})" for x in found.related), highlight=False)


@topics_app.command("rebuild")
def rebuild(ctx: typer.Context, as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON.")) -> None:
    """Fit areas and topics to every embedded paper (ids kept where a topic is the same).

    One transaction writes the result: a rebuild killed midway leaves the previous topics, and
    run again it resumes after the clustering (saved in DATA_DIR/cache)."""
    with radar(ctx) as r:
        sync_indexes(r)  # topics are fitted to the embeddings: embed what is new first
        with progress_bar("fitting topics", len(build.STEPS)) as advance:
            report = build.rebuild(r.store, r.active, now=utcnow(),
                                   per_topic=r.settings.topics_per_topic, progress=lambda _step: advance(1),
                                   checkpoint=r.settings.data_dir / "cache" / "topics-fit.npz")
    if as_json:
        print_json(report.__dict__)
        return
    out.print(f"{report.topics} topics in {report.areas} areas from {report.papers:,} papers "
              f"({report.kept_ids} kept their ids) in {report.seconds:.1f} s", highlight=False)


@topics_app.command("assign")
def assign(ctx: typer.Context) -> None:
    """Place papers embedded since the last rebuild on their nearest topics."""
    with radar(ctx) as r:
        sync_indexes(r)
        n = build.assign(r.store, r.active)
    out.print(f"placed {n} papers")


def map_cmd(ctx: typer.Context, png: Path = typer.Option(..., "--png", help="Write the map to this PNG file."),
            size: int = typer.Option(1600, "--size", min=200, max=8000, help="Width and height in pixels.")) -> None:
    """Draw the topic map as a picture."""
    with radar(ctx) as r:
        fine, areas = views.fine_topics(r.store)
        if not fine:
            raise UserError("no topics yet: run `paperradar topics rebuild` first")
        ids, xy, topic_ids = r.store.topic_points()
    area_of = {t.id: t.parent_id for t in fine}
    order = {a: i for i, a in enumerate(areas)}
    colour = np.array([order.get(area_of.get(int(t)), 0) for t in topic_ids])
    render(png, xy, colour, [(a.name, a.x, a.y) for a in areas.values()], size=size)
    out.print(f"wrote {png} ({len(ids):,} papers, {len(areas)} areas)", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(topics_app, name="topics")
    app.command("map")(map_cmd)
