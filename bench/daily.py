"""Daily lists, trending and votes at scale: time the dated pages, /trending and a vote round trip.

    python bench/daily.py --rounds 30 --vote-rounds 100      # 50,000 papers and votes: what make bench runs
    python bench/daily.py --papers 1000000 --votes 1000000   # the issue's size (builds once into bench/out/)

Data: every paper is listed, 2,000 a day (arXiv's daily volume; --per-day) on consecutive days
ending 2025-06-30, so 1M papers span 500 days; 1 in 1,000 listings is hidden, 5% came from
Hugging Face with imported upvotes (geometric, mean 9). Votes: accounts of 50 votes each on
papers drawn by a heavy-tailed popularity, so most papers have none and a few have hundreds;
the listings' `votes` and `points` are set from the vote rows, as the store keeps them. Papers
go through `Store.apply_batch` (the real upsert); listings, accounts and votes are written
straight into their tables: what the store holds after those votes, without a million vote
transactions. The built data dir is kept under --out and reused (--rebuild to start over).

Measured in a fresh process (so RSS is the server's own), each of `--repeat` runs timing:
- pages in-process through Starlette's TestClient (routing, `daily.view`, the template), as a
  visitor: random days, weeks and months of the data (sorted by votes, the default) and
  /trending for the week and month windows. The client's own cost is shown beside them (the
  round trip of a static file), and in the last run `daily.view` alone for the same periods:
  the part of each figure that is data rather than template and client;
- votes over HTTP against uvicorn on 127.0.0.1 in a thread: one signed-in member votes
  (value=1) then takes the vote back (value=0) on random papers, so the data ends as it began
  (the API's per-IP rate limit counts each, its limit raised out of the way).
Medians of the runs' p50 and p95 are shown. Then what trending reads: the candidate rows of a
month window against the vote rows, and how many statements of a /trending request touch
`votes` (none). --explain prints SQLite's plan of every statement the pages run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import percentile, row, rss_mib  # noqa: E402

from paperradar.config import Settings  # noqa: E402
from paperradar.models import Paper  # noqa: E402

TARGET_PAGE_P95_MS, TARGET_VOTE_P95_MS = 30, 20
LAST_DAY = dt.date(2025, 6, 30)
VOTES_PER_ACCOUNT, HIDDEN_EVERY, HF_SHARE = 50, 1000, 0.05
BUILD_VERSION = 3  # bump when the data generated changes, so cached builds are not reused
WORDS = ("learning model data network training neural graph method results approach performance "
         "propose show task image language optimization deep representation algorithm problem "
         "framework analysis based using large efficient robust generative inference").split()
NAMES = ["Müller", "García", "Smith", "Nguyen", "Schröder", "Li", "Kumar", "Rossi", "Chen", "Novak"]
CATS = ["cs.LG", "cs.CV", "cs.CL", "stat.ML", "cs.AI", "math.OC", "hep-th", "quant-ph"]
PAGES = ("date", "week", "month", "trending week", "trending month",
         "api date", "api month", "api week trending", "feed daily", "feed trending")
NAMES_OF = {"api date": "/api/daily_papers?date=…", "api month": "/api/daily_papers?month=…",
            "api week trending": "/api/daily_papers?week=…&sort=trending", "feed daily": "/feeds/daily.atom?date=…",
            "feed trending": "/feeds/trending.atom?window=week"}


def paper_id(i: int) -> str:
    return f"{2000 + i // 100_000:04d}.{i % 100_000:05d}"


def day_of(i: int, n: int, per_day: int) -> dt.date:
    """Paper i's listing day: the last papers on LAST_DAY, per_day papers a day."""
    days = -(-n // per_day)
    return LAST_DAY - dt.timedelta(days=days - 1 - i // per_day)


def papers(n: int, per_day: int, seed: int = 0):
    rng = random.Random(seed)
    for i in range(n):
        day = day_of(i, n, per_day)
        cats = rng.sample(CATS, rng.randint(1, 3))
        # the number keeps titles distinct: the store merges papers with equal titles
        yield Paper(id=paper_id(i), arxiv_id=paper_id(i), version=1,
                    title=" ".join(rng.choices(WORDS, k=rng.randint(6, 12))).capitalize() + f" {i}",
                    abstract=" ".join(rng.choices(WORDS, k=rng.randint(110, 170))).capitalize() + ".",
                    authors=[f"{chr(65 + k)}. {rng.choice(NAMES)}" for k in range(rng.randint(2, 6))],
                    categories=cats, primary_category=cats[0],
                    published=day - dt.timedelta(days=rng.randrange(3)))


def vote_pairs(n_papers: int, n_votes: int, rng: np.random.Generator) -> np.ndarray:
    """Distinct (account index, paper index) rows, about VOTES_PER_ACCOUNT per account: papers
    drawn by a Pareto popularity (a quarter of papers get any vote; the top ones a few hundred)."""
    weight = rng.pareto(1.1, n_papers) + 0.05
    weight = np.minimum(weight, np.quantile(weight, 0.9995))  # no paper gets every account's vote
    p = weight / weight.sum()
    accounts = -(-n_votes // VOTES_PER_ACCOUNT)
    account = np.arange(n_votes) // VOTES_PER_ACCOUNT
    keys = np.unique(account.astype(np.int64) * n_papers + rng.choice(n_papers, n_votes, p=p))
    while len(keys) < n_votes:  # duplicates drawn by one account: draw again for the shortfall
        extra = rng.integers(0, accounts, n_votes - len(keys)).astype(np.int64) * n_papers \
            + rng.choice(n_papers, n_votes - len(keys), p=p)
        keys = np.unique(np.concatenate([keys, extra]))
    keys = keys[:n_votes]
    return np.stack([keys // n_papers, keys % n_papers], axis=1)


def build(data_dir: Path, n: int, n_votes: int, per_day: int) -> dict:
    from sqlalchemy import insert

    from paperradar.store import Store
    from paperradar.store.schema import accounts, listing_days, listings, votes

    store = Store.from_settings(Settings(data_dir=data_dir))
    t0 = time.perf_counter()
    batch = []
    for p in papers(n, per_day):
        batch.append(p)
        if len(batch) == 20_000:
            store.apply_batch(batch, bulk=True)
            batch = []
    if batch:
        store.apply_batch(batch, bulk=True)
    t_papers = time.perf_counter() - t0

    t0 = time.perf_counter()
    rng = np.random.default_rng(1)
    pairs = vote_pairs(n, n_votes, rng)
    local = np.bincount(pairs[:, 1], minlength=n)
    from_hf = rng.random(n) < HF_SHARE
    imported = np.where(from_hf, rng.geometric(0.1, n) - 1, 0)
    stars = np.where(rng.random(n) < 0.1, rng.geometric(0.01, n), -1)
    created = dt.datetime(2025, 1, 1)
    n_accounts = int(pairs[:, 0].max()) + 1 if len(pairs) else 0
    if n_accounts:
        with store.tx() as conn:
            conn.execute(insert(accounts), [
                {"email": f"member{a}@bench.example", "role": "member", "status": "active",
                 "login_nonce": f"nonce{a}", "created_at": created} for a in range(n_accounts)])
    # accounts.id is autoincrement from 1 in an empty table: account index a is id a + 1
    days = {}
    for start in range(0, n, 50_000):
        rows = []
        for i in range(start, min(n, start + 50_000)):
            day = day_of(i, n, per_day)
            listed_at = days.setdefault(day, dt.datetime.combine(day, dt.time()))
            hf, v, up = bool(from_hf[i]), int(local[i]), int(imported[i])
            rows.append({
                "paper_id": paper_id(i), "day": day, "source": "hf-daily" if hf else "oai", "listed_at": listed_at,
                "position": i % per_day + 1, "submitted_by": None, "submitter_name": "Some Body" if hf else None,
                "votes": v, "imported_upvotes": up, "points": v + up, "num_comments": None,
                "github_repo": f"https://github.com/bench/r{i}" if stars[i] >= 0 else None,
                "github_stars": int(stars[i]) if stars[i] >= 0 else None, "project_page": None,
                "hidden": i % HIDDEN_EVERY == HIDDEN_EVERY - 1})
        with store.tx() as conn:
            conn.execute(insert(listings), rows)
    with store.tx() as conn:  # the per-day counts the store keeps beside the listings
        visible, most = {}, {}
        for i in range(n):
            if i % HIDDEN_EVERY != HIDDEN_EVERY - 1:
                day = day_of(i, n, per_day)
                visible[day] = visible.get(day, 0) + 1
                if stars[i] >= 0:
                    most[day] = max(most.get(day, 0), int(stars[i]))
        conn.execute(insert(listing_days), [{"day": d, "papers": c, "max_stars": most.get(d)}
                                            for d, c in sorted(visible.items())])
    for start in range(0, len(pairs), 100_000):
        chunk = pairs[start : start + 100_000]
        with store.tx() as conn:
            conn.execute(insert(votes), [
                {"account_id": int(a) + 1, "paper_id": paper_id(int(i)),
                 "created_at": dt.datetime.combine(day_of(int(i), n, per_day), dt.time(12))} for a, i in chunk])
    t_community = time.perf_counter() - t0
    store.close()
    return {"version": BUILD_VERSION, "papers": n, "votes": int(len(pairs)), "accounts": n_accounts,
            "per_day": per_day, "papers_s": t_papers, "community_s": t_community,
            "db_mib": (data_dir / "paperradar.db").stat().st_size / 2**20}


# ---- measuring (in the child process) ----

def page_paths(b: dict, rounds: int, rng: random.Random) -> dict[str, list[str]]:
    from paperradar.community import periods

    first = day_of(0, b["papers"], b["per_day"])
    span = (LAST_DAY - first).days + 1
    days = [first + dt.timedelta(days=rng.randrange(span)) for _ in range(rounds)]
    return {
        "date": [periods.of("date", d).path for d in days],
        "week": [periods.of("week", d).path for d in days],
        "month": [periods.of("month", d).path for d in days],
        "trending week": ["/trending?window=week"] * rounds,
        "trending month": ["/trending?window=month"] * rounds,
        # the same lists as the Hugging Face-compatible API and Atom feeds (the open interfaces issue)
        "api date": [f"/api/daily_papers?date={d}" for d in days],
        "api month": [f"/api/daily_papers?month={d:%Y-%m}" for d in days],
        "api week trending": [f"/api/daily_papers?week={periods.of('week', d).slug}&sort=trending" for d in days],
        "feed daily": [f"/feeds/daily.atom?date={d}" for d in days],
        "feed trending": ["/feeds/trending.atom?window=week"] * rounds,
    }


def view_call(store, path: str):
    """The `daily.view` call the route at `path` makes (as a visitor)."""
    from paperradar.community import daily, periods
    from paperradar.store import now

    if path.startswith(("/api/", "/feeds/")):
        return None  # timed as a whole only
    if path.startswith("/trending"):
        window = path.rsplit("=", 1)[1]
        return lambda: daily.view(store, daily.window(store, window, now()), sort="trending", now=now())
    kind, slug = path.split("/")[2:4]
    return lambda: daily.view(store, periods.parse(kind, slug), sort="votes", now=now(), with_calendar=True)


def record_statements(engine) -> list[str]:
    """Every statement run on `engine` from now on, as a list that grows."""
    from sqlalchemy import event

    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, stmt, params, ctx, many: seen.append(stmt))
    return seen


def measure(data_dir: Path, b: dict, rounds: int, vote_rounds: int, repeat: int, explain: bool) -> dict:
    from sqlalchemy import func, select
    from starlette.testclient import TestClient

    from paperradar.radar import Radar
    from paperradar.store.schema import listings, votes
    from paperradar.web.app import create_app

    # The API's per-IP rate limit stays on (its store write is part of a vote's cost), raised so
    # that one client's hundreds of votes are not refused.
    settings = Settings(data_dir=data_dir, api_rate_limit=10**9)
    radar = Radar(settings)
    app = create_app(settings, radar)
    rng = random.Random(3)
    out: dict = {"pages": {}, "views": {}}
    page_runs: dict[str, list[tuple[float, float]]] = {k: [] for k in PAGES}
    view_runs: dict[str, list[tuple[float, float]]] = {k: [] for k in PAGES}
    with TestClient(app) as client:
        for paths in page_paths(b, 10, rng).values():  # warm: templates compiled, pages cached
            for path in paths:
                assert client.get(path).status_code == 200, path
        for run in range(repeat):
            for kind, paths in page_paths(b, rounds, rng).items():
                times = []
                for path in paths:
                    t0 = time.perf_counter()
                    resp = client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code == 200, (path, resp.status_code)
                page_runs[kind].append((percentile(times, 50), percentile(times, 95)))
                if run == repeat - 1:  # the data part alone, once: it shows what the rest costs
                    times = []
                    for path in paths:
                        call = view_call(radar.store, path)
                        if call is None:
                            continue
                        t0 = time.perf_counter()
                        call()
                        times.append((time.perf_counter() - t0) * 1000)
                    if times:
                        view_runs[kind].append((percentile(times, 50), percentile(times, 95)))
        times = []
        for _ in range(rounds):  # what the test client itself adds to each figure
            t0 = time.perf_counter()
            client.get("/static/favicon.svg")
            times.append((time.perf_counter() - t0) * 1000)
        out["client_ms"] = (percentile(times, 50), percentile(times, 95))
        statements = record_statements(radar.store.engine)
        client.get("/trending?window=month")
        out["trending_statements"] = len(statements)
        out["trending_vote_statements"] = sum(bool(re.search(r"\b(FROM|JOIN|INTO|UPDATE)\s+votes\b", s, re.I))
                                              for s in statements)
        if explain:
            out["plans"] = plans(radar.store.engine, client, b, rng)
    out["pages"] = {k: _medians(v) for k, v in page_runs.items()}
    out["views"] = {k: _medians(v) for k, v in view_runs.items() if v}

    from paperradar.community import daily
    from paperradar.store import now

    month = daily.window(radar.store, "month", now())
    with radar.store.engine.connect() as conn:
        in_window = (listings.c.day >= month.start) & (listings.c.day <= month.end) & listings.c.hidden.is_(False)
        out["month_listings"] = conn.execute(select(func.count()).select_from(listings).where(in_window)).scalar()
        out["month_candidates"] = conn.execute(select(func.count()).select_from(listings)
                                               .where(in_window, listings.c.points > 0)).scalar()
        out["vote_rows"] = conn.execute(select(func.count()).select_from(votes)).scalar()
    out["votes"] = measure_votes(app, radar, b, vote_rounds, repeat, rng)
    out["rss_mib"], out["peak_rss_mib"] = rss_mib()
    return out


def _medians(runs: list[tuple[float, float]]) -> tuple[float, float, float, float]:
    """(median p50, median p95, lowest p95, highest p95) over the runs."""
    return (statistics.median(p for p, _ in runs), statistics.median(p for _, p in runs),
            min(p for _, p in runs), max(p for _, p in runs))


def measure_votes(app, radar, b: dict, rounds: int, repeat: int, rng: random.Random) -> tuple:
    import httpx
    import uvicorn

    from paperradar.web.deps import SESSION_COOKIE

    account, _ = radar.store.ensure_account("voter@bench.example")  # votes for nothing yet
    session = radar.store.create_session(account.id, dt.timedelta(days=1))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    runs = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            client.cookies.set(SESSION_COOKIE, session)
            page = client.get("/trending")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
            visible = [i for i in range(b["papers"]) if i % HIDDEN_EVERY != HIDDEN_EVERY - 1]
            for run in range(-1, repeat):  # run -1 warms up
                times = []
                for n in range(rounds if run >= 0 else 20):
                    if n % 2 == 0:
                        pid = paper_id(rng.choice(visible))
                    value = 1 - n % 2  # vote, then take it back
                    t0 = time.perf_counter()
                    resp = client.post(f"/api/papers/{pid}/vote", params={"value": value},
                                       headers={"X-CSRF-Token": token, "Accept": "application/json"})
                    times.append((time.perf_counter() - t0) * 1000)
                    assert resp.status_code == 200 and resp.json()["voted"] == bool(value), resp.text
                if run >= 0:
                    runs.append((percentile(times, 50), percentile(times, 95)))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return _medians(runs)


def plans(engine, client, b: dict, rng: random.Random) -> dict[str, list[str]]:
    """SQLite's query plan of each distinct statement one page of each kind runs."""
    from sqlalchemy import event

    out: dict[str, list[str]] = {}
    for kind, paths in page_paths(b, 1, rng).items():
        seen: list[tuple] = []

        def record(conn, cur, stmt, params, ctx, many):
            seen.append((stmt, params))

        event.listen(engine, "before_cursor_execute", record)
        client.get(paths[0])
        event.remove(engine, "before_cursor_execute", record)
        with engine.connect() as conn:
            for stmt, params in seen:
                if stmt.lstrip().upper().startswith("SELECT") and stmt not in out:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params).all()
                    out[stmt] = [f"{kind}: {paths[0]}"] + [r[-1] for r in rows]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--papers", type=int, default=50_000, help="papers, all listed (default 50,000; the issue's is 1,000,000)")
    ap.add_argument("--votes", type=int, default=50_000, help="vote rows (default 50,000; the issue's is 1,000,000)")
    ap.add_argument("--per-day", type=int, default=2000, help="papers listed a day (default 2,000)")
    ap.add_argument("--rounds", type=int, default=200, help="timed requests per page kind and run")
    ap.add_argument("--vote-rounds", type=int, default=300, help="timed votes per run")
    ap.add_argument("--repeat", type=int, default=3, help="runs; medians are reported (the machine is noisy)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out", help="where built data dirs are kept")
    ap.add_argument("--rebuild", action="store_true", help="rebuild the data even if a build of this size exists")
    ap.add_argument("--explain", action="store_true", help="print the query plan of each statement the pages run")
    ap.add_argument("--_measure", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    data_dir = args.out / f"daily-{args.papers}-{args.votes}-{args.per_day}"
    built = data_dir / "built.json"
    if args._measure:  # the child process: measure and print JSON
        print(json.dumps(measure(args._measure, json.loads(built.read_text()), args.rounds, args.vote_rounds,
                                 args.repeat, args.explain)))
        return
    if args.rebuild or not built.exists() or json.loads(built.read_text()).get("version") != BUILD_VERSION:
        shutil.rmtree(data_dir, ignore_errors=True)
        print(f"building {args.papers:,} papers and {args.votes:,} votes into {data_dir} …", flush=True)
        data_dir.mkdir(parents=True)
        built.write_text(json.dumps(build(data_dir, args.papers, args.votes, args.per_day)))
    b = json.loads(built.read_text())
    child = subprocess.run([sys.executable, __file__, "--_measure", str(data_dir), "--papers", str(args.papers),
                            "--votes", str(args.votes), "--per-day", str(args.per_day), "--out", str(args.out),
                            "--rounds", str(args.rounds), "--vote-rounds", str(args.vote_rounds),
                            "--repeat", str(args.repeat), *(["--explain"] if args.explain else [])],
                           capture_output=True, text=True)
    if child.returncode:
        sys.exit(f"measuring failed:\n{child.stderr}")
    m = json.loads(child.stdout.strip().splitlines()[-1])
    days = -(-b["papers"] // b["per_day"])
    print(f"daily benchmark: {b['papers']:,} papers listed over {days} days, {b['votes']:,} votes by "
          f"{b['accounts']:,} accounts ({b['db_mib']:,.0f} MiB database); {args.rounds} requests per page kind "
          f"and {args.vote_rounds} votes per run, medians of {args.repeat} runs")
    print(row("build: papers through Store.apply_batch", b["papers_s"], "s"))
    print(row("build: listings, accounts, votes", b["community_s"], "s"))
    for kind in PAGES:
        p50, p95, lo, hi = m["pages"][kind]
        name = NAMES_OF.get(kind) or (f"/{kind.replace(' ', '?window=')}" if kind.startswith("trending")
                                      else f"/papers/{kind}/…")
        print(row(f"{name} p50", p50, "ms"))
        print(row(f"{name} p95 (runs {lo:.1f}-{hi:.1f})", p95, "ms", TARGET_PAGE_P95_MS))
        if kind in m["views"]:
            print(row("  of which daily.view p95 (last run)", m["views"][kind][1], "ms"))
    print(row("  test client alone p50 (a static file)", m["client_ms"][0], "ms"))
    p50, p95, lo, hi = m["votes"]
    print(row("vote over HTTP p50", p50, "ms"))
    print(row(f"vote over HTTP p95 (runs {lo:.1f}-{hi:.1f})", p95, "ms", TARGET_VOTE_P95_MS))
    print(f"  trending, month window: {m['month_candidates']:,} of {m['month_listings']:,} listings have points (each "
          f"day's top rows are read, not all of them); the store holds {m['vote_rows']:,} vote rows; "
          f"{m['trending_vote_statements']} of the {m['trending_statements']} statements of a /trending "
          f"request touch `votes`")
    print(row("server RSS after the runs", m["rss_mib"], "MiB"))
    print(row("server peak RSS", m["peak_rss_mib"], "MiB"))
    for stmt, lines in m.get("plans", {}).items():
        print(f"\n-- {lines[0]}\n{' '.join(stmt.split())}")
        for line in lines[1:]:
            print(f"   {line}")


if __name__ == "__main__":
    main()
