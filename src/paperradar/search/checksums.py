"""Whether an index's files are still what its writer wrote: CRC-32s, checked when it opens.

tantivy ends every segment file with a footer holding the CRC-32 of the bytes before it (what
tantivy's own `validate_checksum` checks; the Python binding does not expose it). The vector
index records a CRC-32 of each of its files in its state when it writes them. Reading a large
index in full costs (1.5 GB of vectors at a million papers), so an open re-reads only the files
whose size or modification time differ from what the writer recorded (`stamp`): any write
changes those, whether by a program, a copy, a restore or a truncation. `paperradar stats`
re-reads every file.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from pathlib import Path

TANTIVY_MAGIC = 1337  # the last 4 bytes of every tantivy segment file
CHUNK = 1 << 22


def stamp(path: Path) -> list[int]:
    """[size, modification time in ns]: what an unchanged file keeps."""
    st = path.stat()
    return [st.st_size, st.st_mtime_ns]


def crc32(path: Path, size: int | None = None, start: int = 0, crc: int = 0) -> int | None:
    """CRC-32 of the file's bytes [start, size) (to its end without `size`), continuing `crc`;
    None when the file is shorter than `size`."""
    end = path.stat().st_size if size is None else size
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                return None
            crc = zlib.crc32(chunk, crc)
            left -= len(chunk)
    return crc


def tantivy_file_problem(path: Path, known: list[int] | None = None) -> str | None:
    """What is wrong with one tantivy segment file (None: nothing). A file whose `stamp` equals
    `known` is taken as written; any other is read in full against its footer's checksum."""
    try:
        if known is not None and stamp(path) == known:
            return None
        size = path.stat().st_size
        with open(path, "rb") as f:
            if size < 8:
                return "is truncated"
            f.seek(size - 8)
            footer_len, magic = struct.unpack("<II", f.read(8))
            if magic != TANTIVY_MAGIC or footer_len + 8 > size:
                return "is truncated or overwritten (its tantivy footer is gone)"
            f.seek(size - 8 - footer_len)
            expected = json.loads(f.read(footer_len))["crc"]
    except FileNotFoundError:
        return "is missing"
    except (ValueError, KeyError, TypeError):
        return "has an unreadable footer"
    if crc32(path, size - 8 - footer_len) != expected:
        return "fails its checksum (its bytes were changed after tantivy wrote it)"
    return None


def tantivy_index_problem(folder: Path, components: tuple[str, ...], known: dict, full: bool) -> str | None:
    """The first damaged or missing file among those of the segments meta.json lists (each has
    `components`, and a `.del` file once it has deletions), described; None when all are whole.
    `known`: each file's `stamp` when it was written; `full` reads every file."""
    try:
        meta = json.loads((folder / "meta.json").read_bytes())
        segments = [(s["segment_id"].replace("-", ""), (s.get("deletes") or {}).get("opstamp"))
                    for s in meta["segments"]]
    except FileNotFoundError:
        return "meta.json is missing"
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "meta.json is unreadable"
    for segment, deletes in segments:
        names = [f"{segment}.{ext}" for ext in components]
        if deletes is not None:
            names.append(f"{segment}.{deletes}.del")
        for name in names:
            problem = tantivy_file_problem(folder / name, None if full else known.get(name))
            if problem:
                return f"{name} {problem}"
    return None


def file_problem(path: Path, recorded: list[int] | None, full: bool) -> str | None:
    """What is wrong with a file whose [size, crc, mtime_ns] the vector index recorded (None:
    nothing). Bytes past the recorded size were appended by a write that never finished and
    are not part of the index; a file shorter than recorded was truncated."""
    if recorded is None:
        return None
    size, crc, mtime_ns = recorded
    try:
        st = path.stat()
    except FileNotFoundError:
        return "is missing" if size else None
    if st.st_size < size:
        return f"is truncated ({st.st_size} bytes; {size} were written)"
    if not full and st.st_size == size and st.st_mtime_ns == mtime_ns:
        return None
    if crc32(path, size) != crc:
        return "fails its checksum (its bytes were changed after they were written)"
    return None


def record(path: Path, size: int, crc: int) -> list[int]:
    """The [size, crc, mtime_ns] entry `file_problem` checks, for a file just written."""
    return [size, crc, os.stat(path).st_mtime_ns]
