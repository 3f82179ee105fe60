"""`make bench`: every benchmark at a size that finishes in minutes; each prints figure vs target.

Full sizes: run a script by hand with its size flag (see each script's --help).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
SMALL = {
    "embed.py": ["--repeat", "3"],  # its figures swing by 20% run to run on a shared machine
    "search.py": ["--papers", "20000", "--rounds", "200"],
    "import.py": [],
    "harvest.py": [],
    "digest.py": [],
    "daily.py": ["--rounds", "30", "--vote-rounds", "100"],
    "topics.py": ["--papers", "20000", "--rounds", "30"],
    "scaleout.py": ["--seconds", "5", "--freshness-rounds", "10"],  # demo corpus, serve --workers 2, wrk if installed
}


def main() -> int:
    failed = []
    for script, args in SMALL.items():
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n=== {script} {' '.join(args)}", flush=True)
        if subprocess.run([sys.executable, str(path), *args]).returncode != 0:
            failed.append(script)
    if failed:
        print(f"\nfailed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
