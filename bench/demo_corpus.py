"""The demo corpus's (title, abstract) pairs, read just well enough to benchmark the embedder.

Measurement only: the real listing-page parser is `paperradar.sources` (it handles authors, dates,
ids and malformed pages). This reader knows the page layout by heart: after a few header lines,
non-empty lines alternate title / abstract, with date lines ("Mar 11") in between; duplicates
across pages are kept once.
"""

from __future__ import annotations

import re
from pathlib import Path

SEEDS = Path(__file__).resolve().parent.parent / "src" / "paperradar" / "demo"
_HEADER = {
    "new",
    "Subscribe",
    "Get trending papers in your email inbox!",
    "Get trending papers in your email inbox once a day!",
    "byAK and the research community",
}
_DATE = re.compile(r"^[A-Z][a-z]{2} \d{1,2}$")


def demo_papers(folder: Path = SEEDS) -> list[tuple[str, str]]:
    papers: dict[str, str] = {}
    for page in sorted(folder.glob("*.txt")):
        lines = [line.strip() for line in page.read_text(encoding="utf-8").splitlines()]
        lines = [line.removeprefix("Subscribe") for line in lines if line and line not in _HEADER and not _DATE.match(line)]
        if len(lines) % 2:
            raise ValueError(f"{page}: odd number of title/abstract lines; the layout changed")
        for title, abstract in zip(lines[0::2], lines[1::2]):
            papers.setdefault(title, abstract)
    return list(papers.items())
