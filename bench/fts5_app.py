"""The comparator bench/scaleout.py runs beside our keyword search: SQLite FTS5 BM25 over the same
papers' titles and abstracts, served as JSON by a minimal Starlette app (uvicorn, the same number
of worker processes as our server; one read-only sqlite3 connection per thread).

    FTS5_DB=path.db python bench/fts5_app.py --port 8001 --workers 2

Each worker listens on a socket of its own bound to the port (SO_REUSEPORT), as `paperradar
serve`'s do: with uvicorn's one shared socket, a run could find all of its connections on one
process (paperradar/web/workers.py), and the comparison would flatter us.

`GET /search?q=words` answers the top 20 by FTS5's bm25 rank: `... MATCH ? ORDER BY rank LIMIT 20`
with the query's words OR-ed (as our keyword search ranks any of the words, not only all).
`build(path, papers)` writes the table.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import socket
import sqlite3
import threading
from pathlib import Path
from typing import Iterable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SEARCH = "SELECT id, title, abstract FROM fts WHERE fts MATCH ? ORDER BY rank LIMIT 20"
WORD = re.compile(r"\w+")


def build(path: Path, papers: Iterable[tuple[str, str, str]]) -> int:
    """(id, title, abstract) rows into a new FTS5 table (porter stemming, as our index stems)."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("CREATE VIRTUAL TABLE fts USING fts5(id UNINDEXED, title, abstract, tokenize='porter unicode61')")
    n = 0
    batch = []
    for row in papers:
        batch.append(row)
        if len(batch) == 10_000:
            conn.executemany("INSERT INTO fts (id, title, abstract) VALUES (?, ?, ?)", batch)
            n, batch = n + len(batch), []
    conn.executemany("INSERT INTO fts (id, title, abstract) VALUES (?, ?, ?)", batch)
    n += len(batch)
    conn.execute("INSERT INTO fts (fts) VALUES ('optimize')")
    conn.commit()
    conn.close()
    return n


def match_expression(q: str) -> str:
    """Each word quoted (FTS5 syntax characters in a query are only text), OR-ed."""
    return " OR ".join(f'"{w}"' for w in WORD.findall(q))


def create_app() -> Starlette:
    path = os.environ["FTS5_DB"]
    local = threading.local()

    def conn() -> sqlite3.Connection:
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        return c

    def search(request: Request) -> JSONResponse:  # sync: Starlette runs it on its thread pool
        expression = match_expression(request.query_params.get("q", ""))
        if not expression:
            return JSONResponse({"error": "q has no words"}, status_code=400)
        rows = conn().execute(SEARCH, (expression,)).fetchall()
        return JSONResponse([{"id": r[0], "title": r[1], "abstract": r[2]} for r in rows])

    return Starlette(routes=[Route("/search", search)])


def _serve(port: int) -> None:
    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    uvicorn.Server(uvicorn.Config(create_app(), log_level="warning")).run(sockets=[sock])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="SQLite FTS5 BM25 search as JSON (FTS5_DB names the database)")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    workers = [multiprocessing.get_context("spawn").Process(target=_serve, args=(a.port,)) for _ in range(a.workers)]
    for w in workers:
        w.start()
    try:
        for w in workers:
            w.join()
    except KeyboardInterrupt:  # the bench stops the process group with SIGINT: each worker ends itself
        for w in workers:
            w.join(30)
    raise SystemExit(max(abs(w.exitcode or 0) for w in workers))
