"""Every dev set, every style, every mode in one table, plain BM25 beside ours, with paired
bootstrap intervals for the differences that matter.

    python bench/eval_all.py                        # the three sets of ../shared/eval, all modes
    python bench/eval_all.py --save /tmp/after      # also keep each set's JSON report there
    python bench/eval_all.py --baseline /tmp/before # and compare with reports saved earlier

Runs `paperradar eval --json` once per set, with `--cache-dir` (default
/tmp/paperradar-eval-cache) so the 9,877 Daily Papers are embedded once per model; the
embedding model is whatever the settings name (PAPERRADAR_EMBED_MODEL). Prints nDCG@10 per set
× style × mode, recall@50 overall, then for each set: lexical − bm25 (our keyword ranking
against the yardstick; target ≥ 0) and, with --baseline, each mode against the saved run. An
interval that excludes 0 is a difference beyond the noise of the queries.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from paperradar.evaluate import compare

ROOT = Path(__file__).resolve().parents[1]
EVAL = ROOT.parent / "shared" / "eval"
DATA = ROOT.parent / "shared" / "data"
SEEDS = ROOT.parent / "shared" / "seeds"
TARGETS = {"seeds": {"hybrid": 0.82}, "daily": {"hybrid": 0.80}}  # issue 15 (natural ≥ 0.70 too)


def sets() -> dict[str, list[str]]:
    seeds = [a for f in sorted(SEEDS.glob("*.txt")) for a in ("--corpus", str(f))]
    return {"seeds": [str(EVAL / "dev_queries.jsonl"), *seeds],
            "daily": [str(EVAL / "dev_queries_10k.jsonl"), "--corpus", str(DATA / "hf_daily_papers.jsonl.gz")],
            "cranfield": [str(EVAL / "cranfield")]}


def run(name: str, args: list[str], modes: str, cache: Path) -> dict:
    cmd = [str(Path(sys.executable).parent / "paperradar"), "eval", *args, "--mode", modes,
           "--cache-dir", str(cache), "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ | {"NO_COLOR": "1"})
    if done.returncode:
        sys.exit(f"{name}: {' '.join(cmd)} failed:\n{done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def table(name: str, report: dict) -> None:
    modes = list(report["modes"])
    styles = ["all"] + sorted(report["modes"][modes[0]]["by_style"])
    print(f"\n{name} ({report['queries']} queries, {report.get('embedding', '?')}): nDCG@10")
    print(f"  {'style':<10}{'n':>4}" + "".join(f"{m:>9}" for m in modes))
    for s in styles:
        cells = [report["modes"][m]["overall" if s == "all" else "by_style"] for m in modes]
        cells = [c if s == "all" else c[s] for c in cells]
        print(f"  {s:<10}{cells[0]['n']:>4}" + "".join(f"{c['ndcg@10']:>9.3f}" for c in cells))
    print(f"  {'recall@50':<14}" + "".join(f"{report['modes'][m]['overall']['recall@50']:>9.3f}" for m in modes))
    for m, target in TARGETS.get(name, {}).items():
        if m in report["modes"]:
            v = report["modes"][m]["overall"]["ndcg@10"]
            print(f"  {m} nDCG@10 {v:.3f}, target ≥ {target}: {'meets' if v >= target else 'MISSES'}")


def intervals(title: str, rows: list[dict]) -> None:
    print(f"  {title}")
    for r in rows:
        print(f"    {r['style']:<10}{r['n']:>4}  {r['old']:.3f} → {r['new']:.3f}  {r['diff']:+.3f}"
              f"  [{r['lo']:+.3f} .. {r['hi']:+.3f}]")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modes", default="bm25,lexical,vector,hybrid")
    ap.add_argument("--sets", default="seeds,daily,cranfield")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/paperradar-eval-cache"))
    ap.add_argument("--save", type=Path, help="folder to keep each set's JSON report in")
    ap.add_argument("--baseline", type=Path, help="folder of reports saved earlier with --save")
    a = ap.parse_args()
    known = sets()
    for name in a.sets.split(","):
        if name not in known:
            sys.exit(f"--sets: unknown set {name!r} (expected {', '.join(known)})")
        report = run(name, known[name], a.modes, a.cache)
        if a.save:
            a.save.mkdir(parents=True, exist_ok=True)
            (a.save / f"{name}.json").write_text(json.dumps(report))
        table(name, report)
        if "lexical" in report["modes"] and "bm25" in report["modes"]:
            intervals("lexical − bm25 (target ≥ 0):", compare(report, report, "lexical", "bm25"))
        old_path = a.baseline / f"{name}.json" if a.baseline else None
        if old_path and old_path.is_file():
            old = json.loads(old_path.read_text())
            for m in report["modes"]:
                if m in old["modes"]:
                    intervals(f"{m}: this run − {a.baseline.name}:", compare(report, old, m, m)[:1] if m == "bm25"
                              else compare(report, old, m, m))


if __name__ == "__main__":
    main()
