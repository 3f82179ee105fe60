"""Reading a big snapshot on a second core: `iter_snapshot` in a forked helper process.

Parsing (JSON, TeX, normalization) costs about as much CPU as storing, so for a large file one
process parses while the importing process stores. The helper also turns each paper into its
store row (`PaperRow`), so a new paper needs no Python work in the importer beyond its insert.
It sends batches of plain values (marshal, much cheaper to receive than pickled objects)
through a pipe; a queue of at most `_AHEAD` messages in front of the pipe keeps memory bounded,
and when the importer dies the helper's next send fails and it exits. Items arrive in file
order with their line numbers and offsets, exactly as `iter_snapshot` yields them, so
checkpoints and resumption are unchanged. Small files, and systems without `fork`, are read
inline.
"""

from __future__ import annotations

import datetime as dt
import marshal
import multiprocessing
import os
import queue
import threading
from pathlib import Path
from typing import Iterator

from ..models import Paper, Sighting
from ..sources.arxiv_jsonl import iter_snapshot
from ..sources.errors import SourceError
from ..store import PaperRow, paper_row

PARALLEL_MIN_BYTES = 32 << 20  # below this the helper's start-up is not worth it
_LINES_PER_MESSAGE = 500
_AHEAD = 8  # messages parsed ahead of the pipe (~5 MB)
_COLUMNS = list(paper_row(Paper(title="")))
_DATES = [_COLUMNS.index("published"), _COLUMNS.index("updated")]


def read_snapshot(path: str | os.PathLike, offset: int = 0, line: int = 0,
                  parallel: bool | None = None) -> Iterator[tuple[int, int, Paper | PaperRow | SourceError]]:
    """What `iter_snapshot(path, offset, line)` yields, parsed in a helper process when worth it
    (and then as `PaperRow`s)."""
    if parallel is None:
        parallel = (Path(path).stat().st_size - offset >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) > 1
                    and "fork" in multiprocessing.get_all_start_methods())
    if not parallel:
        yield from iter_snapshot(path, offset, line)
        return
    ctx = multiprocessing.get_context("fork")
    reader, writer = ctx.Pipe(duplex=False)
    helper = ctx.Process(target=_parse_into, args=(str(path), offset, line, reader, writer),
                         name="snapshot-parser", daemon=True)
    helper.start()
    writer.close()  # only the helper writes; its death then shows up here as EOF
    where, ref = str(path), os.path.basename(str(path))
    sighting = [Sighting("jsonl", ref)]  # every paper's; never changed, so shared
    try:
        while True:
            try:
                message = marshal.loads(reader.recv_bytes())
            except EOFError:
                raise SourceError(where, line, "snapshot parser process died") from None
            if message is None:
                return
            for line, offset, kind, values in message:
                if kind == 0:
                    yield line, offset, _unpack(values, sighting)
                elif kind == 1:
                    yield line, offset, SourceError(where, line, values)
                else:
                    raise RuntimeError(f"snapshot parser failed: {values}")
    finally:
        reader.close()
        helper.join(timeout=5)
        if helper.is_alive():
            helper.kill()
            helper.join()


def _parse_into(path: str, offset: int, line: int, reader, writer) -> None:
    """The helper: parse from `offset`, send batches, send None at the end.

    A thread of its own does the sending, up to `_AHEAD` messages behind the parsing: while the
    importer is busy committing it does not read, and with only the pipe's 64 KiB between them
    the parser would stop too.
    """
    reader.close()
    outbox: queue.Queue = queue.Queue(maxsize=_AHEAD)
    sender = threading.Thread(target=_send_all, args=(outbox, writer), daemon=True)
    sender.start()
    batch = []
    try:
        for line, offset, item in iter_snapshot(path, offset, line):
            if isinstance(item, SourceError):
                batch.append((line, offset, 1, item.message))
            else:
                batch.append((line, offset, 0, _pack(item)))
            if len(batch) >= _LINES_PER_MESSAGE:
                if not _put(outbox, sender, marshal.dumps(batch)):
                    return  # the importer is gone; so are we
                batch = []
        if batch:
            _put(outbox, sender, marshal.dumps(batch))
        _put(outbox, sender, marshal.dumps(None))
    except Exception as exc:  # report, so the importer fails with a message instead of hanging
        _put(outbox, sender, marshal.dumps([(line, offset, 2, f"{type(exc).__name__}: {exc}")]))
    finally:
        _put(outbox, sender, None)
        sender.join()
        writer.close()


def _put(outbox: queue.Queue, sender: threading.Thread, message: bytes | None) -> bool:
    """Queue a message for the sender; False once the sender has stopped (the pipe broke)."""
    while sender.is_alive():
        try:
            outbox.put(message, timeout=0.5)
            return True
        except queue.Full:
            continue
    return False


def _send_all(outbox: queue.Queue, writer) -> None:
    while (message := outbox.get()) is not None:
        try:
            writer.send_bytes(message)
        except OSError:  # BrokenPipe, ConnectionReset: the importer is gone
            return


def _pack(p: Paper) -> list:
    values = list(paper_row(p).values())
    for i in _DATES:
        if values[i] is not None:
            values[i] = values[i].toordinal()
    return values


def _unpack(values: list, sighting: list[Sighting]) -> PaperRow:
    for i in _DATES:
        if values[i] is not None:
            values[i] = dt.date.fromordinal(values[i])
    return PaperRow(dict(zip(_COLUMNS, values)), sighting)
