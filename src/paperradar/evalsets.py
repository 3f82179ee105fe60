"""Judged query sets with their corpora, loaded into a throwaway data dir for `paperradar eval`.

Two layouts: BEIR (a folder with `corpus.jsonl` {_id, title, text}, `queries.jsonl` {_id, text}
and `qrels.tsv` or `qrels/test.tsv`: query-id, corpus-id, score), judged by document id; and our
own JSON lines (evaluate.load_queries), judged by title, with the corpus given as files the
ingest commands read (listing pages, Hugging Face daily lists).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .errors import UserError
from .evaluate import Judged
from .models import Paper
from .sources.hf_daily import parse_daily_papers
from .sources.pages import read_page

TITLE_FROM_TEXT = 80  # characters of the text that stand in for a missing title


def is_beir(path: Path) -> bool:
    return path.is_dir() and (path / "corpus.jsonl").is_file()


def _jsonl(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError as e:
                raise UserError(f"{path}:{n}: invalid JSON: {e}") from None
    return out


def beir_papers(folder: Path) -> list[Paper]:
    """The corpus as papers whose id is `beir:` + the document id (so judgments map back)."""
    papers = []
    for n, d in enumerate(_jsonl(folder / "corpus.jsonl"), 1):
        if "_id" not in d:
            raise UserError(f"{folder / 'corpus.jsonl'}:{n}: a document without _id")
        text = str(d.get("text") or "")
        title = str(d.get("title") or "").strip() or text[:TITLE_FROM_TEXT]
        papers.append(Paper(id=f"beir:{d['_id']}", title=title, abstract=text))
    return papers


def beir_queries(folder: Path, stored: dict[str, str]) -> list[Judged]:
    """Judged queries; `stored` maps each corpus id to the id the store kept it under (documents
    with the same title are merged by the store's dedupe, and share their judgments)."""
    qrels = folder / "qrels.tsv" if (folder / "qrels.tsv").is_file() else folder / "qrels" / "test.tsv"
    try:
        with qrels.open(encoding="utf-8") as f:
            rows = list(csv.reader(f, delimiter="\t"))
    except OSError as e:
        raise UserError(f"{qrels}: cannot read: {e.strerror or e}") from None
    gains: dict[str, dict[str, float]] = {}
    for n, row in enumerate(rows, 1):
        if n == 1 and row and not row[-1].lstrip("-").isdigit():
            continue  # the header
        try:
            qid, doc, grade = row[0], row[1], float(row[2])
        except (IndexError, ValueError):
            raise UserError(f"{qrels}:{n}: expected query-id, corpus-id, score") from None
        if grade > 0 and doc in stored:
            pid = stored[doc]
            gains.setdefault(qid, {})[pid] = max(grade, gains.get(qid, {}).get(pid, 0.0))
    out = []
    for d in _jsonl(folder / "queries.jsonl"):
        qid = str(d.get("_id"))
        if qid in gains:  # BEIR keeps queries without judgments in the file; they score nothing
            out.append(Judged(qid, str(d.get("text", "")), str(d.get("metadata", {}).get("style", "beir")), gains[qid]))
    if not out:
        raise UserError(f"{folder}: no judged queries")
    return out


def corpus_papers(files: list[Path]) -> tuple[list[Paper], list[str]]:
    """(papers, warnings) from corpus files: listing pages (.txt) or Hugging Face daily lists."""
    papers, warnings = [], []
    for path in files:
        if path.suffix == ".txt":
            page = read_page(path)
            papers += page.papers
            warnings += page.warnings
        else:
            try:
                data = path.read_bytes()
            except OSError as e:
                raise UserError(f"{path}: cannot read: {e.strerror or e}") from None
            papers += parse_daily_papers(data, str(path), ref=path.name)
    return papers, warnings
