"""`paperradar eval`: score search modes against judged queries.

Given a BEIR folder, or our JSON lines with `--corpus` files, the corpus is loaded into a
throwaway data dir (indexed and embedded there, the built model graphs shared with the real
data dir), or with `--cache-dir` into a folder kept for the next run with the same files and
model (so a 10,000-paper corpus is embedded once); otherwise the queries are judged against the
data dir's own papers. `--against MODE` and `--compare REPORT` print paired bootstrap intervals
for the differences (evaluate.paired_bootstrap).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import typer
from rich.table import Table

from ..errors import UserError
from ..evaluate import PLAIN_BM25, compare, evaluate, load_queries
from ..evalsets import beir_papers, beir_queries, corpus_papers, is_beir
from ..ingest import ingest
from ..radar import Radar
from ..search.service import MODES
from .common import err, out, print_json, radar, settings, sync_indexes

LOADED = "eval-loaded.json"  # written in a cached corpus folder once the corpus is fully loaded


def eval_cmd(
    ctx: typer.Context,
    queries: Path = typer.Argument(..., help="JSON lines {qid, query, style, relevant: {title: grade}}, or a BEIR "
                                             "folder (corpus.jsonl, queries.jsonl, qrels.tsv)."),
    corpus: Optional[List[Path]] = typer.Option(None, "--corpus", "-c", help="Judge against these files (listing "
                                                "pages .txt, Hugging Face daily lists .json/.jsonl/.gz) loaded into "
                                                "a throwaway data dir; repeat for more."),
    mode: Optional[List[str]] = typer.Option(None, "--mode", "-m", help="Modes to score, comma-separated or repeated: "
                                             "hybrid, lexical, vector, and bm25 (plain BM25 over title + abstract, "
                                             "the yardstick). Default: every search mode and bm25."),
    cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Load the corpus into a folder under this one "
                                             "and keep it: a later run with the same corpus files and embedding "
                                             "model reuses it (no re-embedding)."),
    against: Optional[str] = typer.Option(None, "--against", help="Compare every other mode of this run with this "
                                          "one (e.g. bm25): mean nDCG@10 difference with a paired bootstrap 95% "
                                          "interval, overall and per style."),
    compare_to: Optional[Path] = typer.Option(None, "--compare", help="A report saved earlier with --json on the "
                                              "same queries: each mode's nDCG@10 difference from it, with a paired "
                                              "bootstrap 95% interval."),
    as_json: bool = typer.Option(False, "--json", help="Print the full report (with per-query rows) as JSON."),
) -> None:
    """nDCG@10, MRR@10 and recall@50, overall and per query style, for each search mode."""
    modes = _modes(mode, against)
    baseline = _read_report(compare_to) if compare_to else None
    if is_beir(queries) or corpus:
        with _corpus_dir(ctx, queries, corpus or [], cache_dir) as (r, judged):
            report = _judge(r, judged, modes)
    else:
        with radar(ctx) as r:
            sync_indexes(r)
            report = _judge(r, load_queries(queries, r.store), modes)
    comparisons = []
    if against:
        comparisons += [{"new": m, "old": f"{against} (this run)", "rows": compare(report, report, m, against)}
                        for m in modes if m != against]
    if baseline:
        comparisons += [{"new": m, "old": f"{m} ({compare_to.name})", "rows": compare(report, baseline, m, m)}
                        for m in modes if m in baseline.get("modes", {})]
    if comparisons:
        report["comparisons"] = comparisons
    _print(report, as_json)


def _modes(given: list[str] | None, against: str | None) -> list[str]:
    known = list(MODES) + [PLAIN_BM25]
    modes = [m.strip() for part in (given or []) for m in part.split(",") if m.strip()] or known
    if against and against not in modes:
        modes.append(against)
    for m in modes:
        if m not in known:
            raise UserError(f"--mode: unknown mode {m!r} (expected {', '.join(known)})")
    return list(dict.fromkeys(modes))


def _read_report(path: Path) -> dict:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
    except ValueError as e:
        raise UserError(f"{path}: not a report saved with --json ({e})") from None
    if not isinstance(report, dict) or not isinstance(report.get("modes"), dict):
        raise UserError(f"{path}: not a report saved with --json (no \"modes\")")
    return report


def _corpus_key(queries: Path, corpus: list[Path], embedding: str) -> str:
    """Which files (by path, size and modification time) and which model a cached folder holds."""
    files = [queries / "corpus.jsonl"] if is_beir(queries) else corpus
    h = hashlib.sha256(embedding.encode())
    for f in files:
        try:
            st = f.stat()
        except OSError as e:
            raise UserError(f"{f}: cannot read: {e.strerror or e}") from None
        h.update(f"\0{f.resolve()}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    name = queries.name if is_beir(queries) else (corpus[0].stem.split(".")[0] if corpus else "corpus")
    return f"{name}-{embedding}-{h.hexdigest()[:12]}"


@contextmanager
def _corpus_dir(ctx: typer.Context, queries: Path, corpus: list[Path], cache_dir: Path | None) -> Iterator:
    """(Radar over a data dir holding the corpus, judged queries): throwaway, or cached."""
    s = settings(ctx)
    with tempfile.TemporaryDirectory(prefix="paperradar-eval-") as tmp:
        folder = Path(tmp)
        if cache_dir:
            folder = cache_dir / _corpus_key(queries, corpus, s.embedding_name)
            if folder.exists() and not (folder / LOADED).is_file():
                shutil.rmtree(folder)  # a load that was cut short: start it again
            folder.mkdir(parents=True, exist_ok=True)
        r = Radar(s.model_copy(update={"data_dir": folder, "database_url": None, "models_dir": s.model_cache}))
        try:
            yield r, _load(r, queries, corpus, folder / LOADED if cache_dir else None)
        finally:
            r.close()


def _load(r: Radar, queries: Path, corpus: list[Path], marker: Path | None):
    """Judged queries over the corpus, loading it into `r` unless `marker` says it is there."""
    loaded = json.loads(marker.read_text()) if marker and marker.is_file() else None
    if is_beir(queries):
        if loaded is None:
            papers = beir_papers(queries)
            stored = r.store.upsert_papers(papers).ids
            loaded = {"beir": {p.id[len("beir:"):]: pid for p, pid in zip(papers, stored)}}
        sync_indexes(r)
        judged = beir_queries(queries, loaded["beir"])
    else:
        if loaded is None:
            papers, warnings = corpus_papers(corpus)
            ingest(r.store, papers)
            for line in warnings:
                err.print(f"[yellow]corpus:[/] {line}", highlight=False)
            loaded = {}
        sync_indexes(r)
        judged = load_queries(queries, r.store)
    if marker and not marker.is_file() and not r.vector_problem:
        marker.write_text(json.dumps(loaded))  # only once indexed and embedded
    return judged


def _judge(r: Radar, judged, modes: list[str]) -> dict:
    if not r.store.count_papers():
        # Every judged title would be "missing" and every score 0: say what is wrong instead.
        raise UserError(f"the store in {r.settings.data_dir} has no papers: ingest the judged corpus first "
                        f"(or give it with --corpus)")
    for q in judged:
        for title in q.missing:
            err.print(f"[yellow]query {q.qid}: judged title not in the store:[/] {title}", highlight=False)
    report = evaluate(r.search, judged, modes)
    report["embedding"] = r.settings.embedding_name
    return report


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
    for c in report.get("comparisons", []):
        t = Table("style", "n", c["old"], c["new"], "difference", "95% interval", box=None, header_style="bold",
                  title=f"nDCG@10: {c['new']} − {c['old']} (paired bootstrap)", title_justify="left")
        for row in c["rows"]:
            t.add_row(row["style"], str(row["n"]), f"{row['old']:.3f}", f"{row['new']:.3f}", f"{row['diff']:+.3f}",
                      f"{row['lo']:+.3f} .. {row['hi']:+.3f}")
        out.print(t)


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_cmd)
