"""`python -m paperradar.embed.verify`: is the embedding model installed, and the right one?

Run by `make install` right after installing the weights package, so a wrong or missing model is
reported at install time, as one line, not at the first search. Exit 0 when usable, 1 when not.
"""

from __future__ import annotations

import argparse
import sys

from .errors import EmbedError
from .graph import BertShape
from .tokenizer import load_tokenizer
from .weights import SUPPORTED_MODELS, locate


def check(model: str) -> str:
    """One line describing the verified model; raises EmbedError when it is not usable."""
    files = locate(model)
    digest = files.verify()
    BertShape.from_files(files)  # the config files parse and describe a graph we can build
    load_tokenizer(files)
    return f"ok: {model} weights sha256 {digest[:12]}... in {files.folder}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m paperradar.embed.verify", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2", help=f"one of: {', '.join(SUPPORTED_MODELS)}")
    args = parser.parse_args(argv)
    try:
        print(check(args.model))
    except EmbedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
