"""Shared by the benchmarks: timing statistics, memory readings, and the demo corpus's text."""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path

from paperradar.radar import demo_files
from paperradar.sources.pages import read_page


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile of a sample."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(p / 100 * len(s) + 0.5) - 1))]


def rss_mib(pid: int | None = None) -> tuple[float, float]:
    """(current RSS, peak RSS) in MiB of a process (default: this one), from /proc."""
    text = Path(f"/proc/{pid or os.getpid()}/status").read_text()
    get = lambda key: int(re.search(rf"^{key}:\s+(\d+) kB", text, re.M).group(1)) / 1024  # noqa: E731
    return get("VmRSS"), get("VmHWM")


def verdict(value: float, target: float, lower_is_better: bool = True) -> str:
    ok = value <= target if lower_is_better else value >= target
    return "meets" if ok else "MISSES"


def row(name: str, value: float, unit: str, target: float | None = None, lower_is_better: bool = True) -> str:
    if target is None:
        return f"  {name:<44} {value:>10.2f} {unit}"
    sign = "≤" if lower_is_better else "≥"
    return f"  {name:<44} {value:>10.2f} {unit:<6} target {sign} {target:g} {unit}: {verdict(value, target, lower_is_better)}"


def demo_text() -> tuple[list[str], list[str]]:
    """(titles, abstract sentences) of the demo corpus: the material synthetic corpora recombine."""
    titles, sentences = [], []
    for f in demo_files():
        for p in read_page(f).papers:
            titles.append(p.title)
            sentences += [s.strip() for s in re.split(r"(?<=[.!?])\s+", p.abstract) if len(s.strip()) > 20]
    return titles, sentences


def median(values: list[float]) -> float:
    return statistics.median(values)
