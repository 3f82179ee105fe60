"""`python -m paperradar.embed.verify`: are the embedding models installed, and the right ones?

Run by `make install` right after installing the weights packages, so a wrong or missing model is
reported at install time, as one line, not at the first search. Without --model it checks the
configured model (PAPERRADAR_EMBED_MODEL) and every other supported model with any package
installed. A model split over several packages is assembled into the model cache here (once), so
the first search does not wait for it. Exit 0 when all checked models are usable, 1 when not.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from .errors import EmbedError
from .graph import check_files
from .tokenizer import load_tokenizer
from .weights import SUPPORTED_MODELS, installed, model_spec


def check(model: str, cache_dir: Path) -> str:
    """One line describing the verified model; raises EmbedError when it is not usable."""
    files, digest = installed(model, cache_dir)
    check_files(files)  # the config files parse and describe a graph we can build
    load_tokenizer(files)
    return f"ok: {model} weights sha256 {digest[:12]}... in {files.folder}"


def any_package_installed(model: str) -> bool:
    spec = model_spec(model)
    names = [part.import_name for part in spec.parts] or [spec.import_name]
    return any(importlib.util.find_spec(name) is not None for name in names)


def main(argv: list[str] | None = None) -> int:
    from ..config import Settings

    parser = argparse.ArgumentParser(prog="python -m paperradar.embed.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help=f"one of: {', '.join(SUPPORTED_MODELS)} (repeatable)")
    parser.add_argument("--cache-dir", type=Path, help="model cache folder (default: the settings' models folder)")
    args = parser.parse_args(argv)
    settings = Settings()
    models = args.model or [m for m in SUPPORTED_MODELS if m == settings.embed_model or any_package_installed(m)]
    failed = False
    for model in models:
        try:
            print(check(model, args.cache_dir or settings.model_cache), flush=True)
        except EmbedError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
