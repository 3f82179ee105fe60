"""Snapshot import speed: generate N arXiv-snapshot JSON lines, import them without embedding.

    python bench/import.py                 # 100,000 papers (about a minute)
    python bench/import.py --papers 1000000

Prints papers/s next to the 10,000/s target and the process's peak RSS next to 1 GiB.
The lines look like the public snapshot's: ~1 KB abstracts, 2-6 authors with TeX accents in
some, 1-3 versions, categories, DOIs and journal refs on some.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from paperradar.config import Settings  # noqa: E402
from paperradar.harvest import import_jsonl  # noqa: E402
from paperradar.store import Store  # noqa: E402

WORDS = ("learning model data network training neural graph method results approach performance "
         "propose show task image language optimization deep representation algorithm problem "
         "framework analysis based using large efficient robust generative inference").split()
NAMES = ["M\\\"uller", "Garc\\'ia", "Smith", "Nguyen", "Schr\\\"oder", "Li", "Kumar", "Rossi", "Chen", "Novak"]
CATS = ["cs.LG", "cs.CV", "cs.CL", "stat.ML", "cs.AI", "math.OC", "hep-th", "quant-ph"]


def snapshot_line(n: int, rng: random.Random) -> str:
    arxiv_id = f"{2001 + n // 99999 % 2000:04d}.{n % 99999 + 1:05d}"
    authors = [[rng.choice(NAMES), f"{chr(65 + i)}.", ""] for i in range(rng.randint(2, 6))]
    versions = [{"version": f"v{v}", "created": f"Mon, {1 + v} Jan 2024 10:00:00 GMT"} for v in range(1, rng.randint(2, 4))]
    return json.dumps({
        "id": arxiv_id,
        "submitter": "Some Body",
        "authors": ", ".join(f"{a[1]} {a[0]}" for a in authors),
        "title": " ".join(rng.choices(WORDS, k=rng.randint(6, 14))).capitalize() + f" {n}",
        "comments": f"{rng.randint(5, 40)} pages" if n % 2 else None,
        "journal-ref": "Phys. Rev. D 1 (2020) 1" if n % 5 == 0 else None,
        "doi": f"10.1000/bench.{n}" if n % 3 == 0 else None,
        "report-no": None,
        "categories": " ".join(rng.sample(CATS, rng.randint(1, 3))),
        "license": "http://creativecommons.org/licenses/by/4.0/" if n % 4 == 0 else None,
        "abstract": "  " + " ".join(rng.choices(WORDS, k=rng.randint(110, 170))) + ".\n",
        "versions": versions,
        "update_date": "2024-01-05",
        "authors_parsed": authors,
    })


def generate(path: Path, papers: int) -> None:
    rng = random.Random(7)
    with path.open("w") as f:
        for n in range(papers):
            f.write(snapshot_line(n, rng))
            f.write("\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=100_000, help="snapshot lines to generate and import")
    parser.add_argument("--batch", type=int, default=Settings().import_batch, help="papers per commit")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        snapshot = Path(tmp) / "arxiv-metadata-snapshot.json"
        t0 = time.perf_counter()
        generate(snapshot, args.papers)
        size_mb = snapshot.stat().st_size / 1e6
        print(f"generated {args.papers:,} lines ({size_mb:,.0f} MB) in {time.perf_counter() - t0:.1f} s")
        store = Store.from_settings(Settings(data_dir=Path(tmp) / "data"))
        t0, c0 = time.perf_counter(), time.process_time()
        counts = import_jsonl(store, snapshot, batch=args.batch)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        stored = store.count_papers()
        store.close()
    rate = counts.records / seconds
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    helper_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the parser process
    print(f"imported {counts.records:,} papers ({stored:,} stored, {counts.errors} bad lines) in {seconds:.1f} s")
    print(f"import rate   {rate:>10,.0f} papers/s   target >= 10,000/s   {'OK' if rate >= 10_000 else 'MISSED'}")
    # On a shared machine wall time depends on the neighbours; CPU time (all threads) does not.
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    helper_cpu = children.ru_utime + children.ru_stime
    print(f"CPU cost      {cpu / counts.records * 1e6:>10,.1f} us/paper in the importer + "
          f"{helper_cpu / counts.records * 1e6:,.1f} in the parser process "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"peak RSS      {peak_mib:>10,.0f} MiB        target <  1,024 MiB  {'OK' if peak_mib < 1024 else 'MISSED'}"
          f"   (parser helper process: {helper_mib:,.0f} MiB)")


if __name__ == "__main__":
    main()
