"""Importing files: the arXiv metadata snapshot (streamed, batched, resumable after SIGKILL) and
a Hugging Face daily_papers response; one paper from several sources stays one paper."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.config import Settings
from paperradar.harvest import import_hf_daily, import_jsonl
from paperradar.harvest.files import jsonl_checkpoint_key
from paperradar.models import Sighting
from paperradar.sources.errors import SourceError
from paperradar.store import Store

FIX = Path(__file__).parent / "fixtures"
SNAPSHOT = FIX / "jsonl" / "snapshot.jsonl"
SRC = Path(__file__).resolve().parents[1] / "src"
runner = CliRunner()


@pytest.fixture
def store(tmp_path):
    s = Store.from_settings(Settings(data_dir=tmp_path / "data"))
    yield s
    s.close()


def write_snapshot(path: Path, n: int, bad_every: int = 0) -> Path:
    """n snapshot lines (ids 2301.00001...), every `bad_every`-th one broken."""
    with path.open("w") as f:
        for i in range(1, n + 1):
            if bad_every and i % bad_every == 0:
                f.write('{"id": "2301.%05d", "title": \n' % i)
                continue
            f.write(json.dumps({
                "id": f"2301.{i:05d}", "authors": "A. Author, B. M\\\"uller", "title": f"Paper number {i}",
                "abstract": f"Abstract of paper {i}. " * 8, "categories": "cs.LG",
                "versions": [{"version": "v1", "created": "Mon, 2 Jan 2023 10:00:00 GMT"}],
                "update_date": "2023-01-03", "authors_parsed": [["Author", "A.", ""], ["M\\\"uller", "B.", ""]],
            }) + "\n")
    return path


def test_import_snapshot_reports_bad_lines_and_keeps_the_rest(store):
    counts = import_jsonl(store, SNAPSHOT, batch=2)
    assert (counts.records, counts.added, counts.errors) == (4, 4, 2)
    assert counts.error_messages[0].endswith("snapshot.jsonl:4: invalid JSON: Invalid control character at: line 1 column 55 (char 54)")
    assert "snapshot.jsonl:5: missing or invalid arXiv id 'not-an-id'" in counts.error_messages[1]
    paper = store.get_paper("0704.0001")
    assert paper.version == 2 and paper.authors[0] == "C. Balázs"
    assert paper.sightings == [Sighting("jsonl", "snapshot.jsonl")]
    state = json.loads(store.get_meta(jsonl_checkpoint_key(SNAPSHOT)))
    assert state == {"offset": SNAPSHOT.stat().st_size, "line": 7}
    [run] = store.last_runs()
    assert run.job == "import-jsonl" and run.status == "ok" and run.counts["errors"] == 2


def test_finished_import_does_nothing_until_restarted(store):
    import_jsonl(store, SNAPSHOT)
    again = import_jsonl(store, SNAPSHOT)
    assert again.records == 0 and again.errors == 0
    restarted = import_jsonl(store, SNAPSHOT, restart=True)
    assert (restarted.records, restarted.added, restarted.unchanged) == (4, 0, 4)
    assert store.count_papers() == 4


def test_helper_process_reads_the_same_as_inline(tmp_path, store):
    snapshot = write_snapshot(tmp_path / "s.jsonl", 1200, bad_every=100)
    inline = Store.from_settings(Settings(data_dir=tmp_path / "inline"))
    try:
        a = import_jsonl(inline, snapshot, batch=250, parallel=False)
        b = import_jsonl(store, snapshot, batch=250, parallel=True)
        assert (a.records, a.errors, a.error_messages) == (b.records, b.errors, b.error_messages) == (1188, 12, a.error_messages)
        assert sorted(p.id for p in inline.latest_papers(2000)) == sorted(p.id for p in store.latest_papers(2000))
        assert inline.get_paper("2301.00007").replace(first_seen_at=None) == store.get_paper("2301.00007").replace(first_seen_at=None)
    finally:
        inline.close()


def test_missing_file_is_a_clear_error(store, tmp_path):
    with pytest.raises(SourceError, match="nope.jsonl: no such file"):
        import_jsonl(store, tmp_path / "nope.jsonl")


@pytest.mark.parametrize("parallel", ["--no-parallel", "--parallel"])
def test_killed_import_resumes_from_its_checkpoint(tmp_path, parallel):
    """SIGKILL a real `paperradar ingest jsonl` mid-file; the next run imports exactly the rest."""
    n = 8000
    snapshot = write_snapshot(tmp_path / "big.jsonl", n)
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    cmd = [sys.executable, "-m", "paperradar", "-d", str(data), "ingest", "jsonl", str(snapshot),
           "--batch", "500", parallel, "--no-index", "--json"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    key = jsonl_checkpoint_key(snapshot)
    helpers = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # kill as soon as the first batch is committed
            if (data / "paperradar.db").exists():
                store = Store(Settings(data_dir=data).db_url, migrate_schema=False)
                try:
                    state = store.get_meta(key)
                except Exception:  # the schema is still being created
                    state = None
                finally:
                    store.close()
                if state:
                    break
            time.sleep(0.005)
        helpers = _children(proc.pid)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    if parallel == "--parallel":
        assert helpers, "the parser helper process should have been running"
    _wait_gone(helpers)  # the helper notices its importer died and exits

    store = Store(Settings(data_dir=data).db_url)
    try:
        state = json.loads(store.get_meta(key))
        committed = store.count_papers()
        assert 0 < committed < n, "the kill should land mid-file"
        assert state["line"] == committed  # checkpoint and data were committed together
        assert state["offset"] == sum(len(l) for l in snapshot.read_bytes().splitlines(keepends=True)[:committed])
    finally:
        store.close()
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads(done.stdout)
    assert summary["records"] == summary["added"] == n - committed
    store = Store(Settings(data_dir=data).db_url)
    try:
        assert store.count_papers() == n
        assert [r.status for r in store.last_runs()] == ["ok", "abandoned"]  # the killed run
    finally:
        store.close()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _wait_gone(pids: list[int], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    for pid in pids:
        while Path(f"/proc/{pid}").exists():
            status = Path(f"/proc/{pid}/status").read_text() if Path(f"/proc/{pid}/status").exists() else ""
            if "State:\tZ" in status:
                break  # exited; only its parent's (gone) bookkeeping remains
            assert time.monotonic() < deadline, f"helper {pid} outlived its importer"
            time.sleep(0.05)


def test_hf_daily_and_other_sources_merge_into_one_paper(store):
    import_jsonl(store, SNAPSHOT)
    hf = import_hf_daily(store, FIX / "hf" / "daily_papers.json")
    assert (hf.records, hf.added) == (2, 2)
    # the same paper from the snapshot (TeX) and from the arXiv API fixture later: still one row
    from paperradar.sources.arxiv_atom import parse_feed

    feed = parse_feed((FIX / "arxiv_api" / "entries.xml").read_bytes())
    result = store.upsert_papers(feed.papers)
    # 2401.01234 was known from HF daily and gains the API's version, categories and DOI;
    # hep-th/9901001 came in the snapshot and the API says exactly the same: unchanged
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    paper = store.get_paper("2401.01234")
    assert paper.version == 2 and paper.categories == ["cs.CL", "cs.IR"]
    assert {s.source for s in paper.sightings} == {"hf-daily", "api"}
    assert set(store.get_paper("hep-th/9901001").sightings) == {Sighting("jsonl", "snapshot.jsonl"), Sighting("api", "arxiv-api")}
    assert store.count_papers() == 4 + 2 + 1


def test_cli_ingest_jsonl_and_hf_daily(tmp_path):
    def cli(*args):
        return runner.invoke(app, ["-d", str(tmp_path / "data"), *map(str, args)])

    r = cli("ingest", "jsonl", SNAPSHOT, "--json")
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["added"] == 4 and summary["errors"] == 2 and summary["indexed"] == 4
    r = cli("ingest", "hf-daily", FIX / "hf" / "daily_papers.json", "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["added"] == 2
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    r = cli("ingest", "hf-daily", bad)
    assert r.exit_code == 1 and "bad.json:1: invalid JSON" in r.output and "Traceback" not in r.output
    r = cli("ingest", "jsonl", tmp_path / "missing.jsonl")
    assert r.exit_code == 1 and "missing.jsonl: no such file" in r.output
