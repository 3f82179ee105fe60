"""Reading a big snapshot on a second core: `iter_snapshot` in a forked helper process.

Parsing (JSON, TeX, normalization) costs about as much CPU as storing, so for a large file one
process parses while the importing process stores. The helper sends batches of plain values
(marshal, much cheaper to receive than pickled objects) through a pipe; the pipe's small
buffer keeps memory bounded, and when the importer dies the helper's next send fails and it
exits. Items arrive in file order with their line numbers and offsets, exactly as
`iter_snapshot` yields them, so checkpoints and resumption are unchanged. Small files, and
systems without `fork`, are read inline.
"""

from __future__ import annotations

import datetime as dt
import marshal
import multiprocessing
import os
from pathlib import Path
from typing import Iterator

from ..models import Paper, Sighting
from ..sources.arxiv_jsonl import iter_snapshot
from ..sources.errors import SourceError

PARALLEL_MIN_BYTES = 32 << 20  # below this the helper's start-up is not worth it
_LINES_PER_MESSAGE = 500
_FIELDS = list(Paper.__dataclass_fields__)
_DATES = [_FIELDS.index("published"), _FIELDS.index("updated")]
_SIGHTINGS = _FIELDS.index("sightings")
_PLAIN = [i for i, name in enumerate(_FIELDS) if name not in ("sightings", "first_seen_at")]
_PLAIN_NAMES = [_FIELDS[i] for i in _PLAIN]


def read_snapshot(path: str | os.PathLike, offset: int = 0, line: int = 0,
                  parallel: bool | None = None) -> Iterator[tuple[int, int, Paper | SourceError]]:
    """What `iter_snapshot(path, offset, line)` yields, parsed in a helper process when worth it."""
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
    sighting = [Sighting("jsonl", ref)]
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
    """The helper: parse from `offset`, send batches, send None at the end."""
    reader.close()
    batch = []
    try:
        for line, offset, item in iter_snapshot(path, offset, line):
            if isinstance(item, SourceError):
                batch.append((line, offset, 1, item.message))
            else:
                batch.append((line, offset, 0, _pack(item)))
            if len(batch) >= _LINES_PER_MESSAGE:
                writer.send_bytes(marshal.dumps(batch))
                batch = []
        if batch:
            writer.send_bytes(marshal.dumps(batch))
        writer.send_bytes(marshal.dumps(None))
    except (BrokenPipeError, ConnectionResetError):  # the importer is gone; so are we
        pass
    except Exception as exc:  # report, so the importer fails with a message instead of hanging
        try:
            writer.send_bytes(marshal.dumps([(line, offset, 2, f"{type(exc).__name__}: {exc}")]))
        except OSError:
            pass
    finally:
        writer.close()


def _pack(p: Paper) -> tuple:
    values = [getattr(p, _FIELDS[i]) for i in _PLAIN]
    for i, index in enumerate(_PLAIN):
        if index in _DATES and values[i] is not None:
            values[i] = values[i].toordinal()
    return tuple(values)


def _unpack(values: tuple, sighting: list[Sighting]) -> Paper:
    # The inverse of _pack, filling the instance's __dict__ directly: Paper is a plain
    # dataclass (no __post_init__, no slots), and its __init__ is a measurable share of the
    # importer's time at 10,000 papers/s.
    fields = dict(zip(_PLAIN_NAMES, values))
    for name in ("published", "updated"):
        if fields[name] is not None:
            fields[name] = dt.date.fromordinal(fields[name])
    fields["sightings"] = list(sighting)
    fields["first_seen_at"] = None
    paper = object.__new__(Paper)
    paper.__dict__.update(fields)
    return paper
