"""Damaged indexes are found, reported and rebuilt from the store; two ingests on one data dir
both finish.

Each test damages a real data dir's index files the way a failing disk, a crash or a person
does (truncated files, random bytes, zeroed term files, a deleted meta.json, random bytes in the
vectors), then uses the real CLI, the real web app on a real server, or real processes.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.models import Paper
from paperradar.radar import Radar
from paperradar.search.tantivy_folder import RECHECK_S
from paperradar.web.app import create_app

from conftest import LiveServer, make_settings

runner = CliRunner()
QUERY = "gradient boosting neural networks"


def cli(data_dir: Path, *args, env: dict | None = None):
    return runner.invoke(app, ["-d", str(data_dir), *map(str, args)], env=env)


def search_ids(data_dir: Path, mode: str) -> list[str]:
    found = cli(data_dir, "search", QUERY, "--mode", mode, "--json", "-n", "10")
    assert found.exit_code == 0, found.output
    return [hit["id"] for hit in json.loads(found.stdout)]


def stats(data_dir: Path, env: dict | None = None) -> dict:
    shown = cli(data_dir, "stats", "--json", env=env)
    assert shown.exit_code == 0, shown.output
    return json.loads(shown.stdout)


@dataclass
class Indexed:
    path: Path
    lexical: list[str]  # the intact index's answers to QUERY
    vector: list[str]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, seed_files) -> Indexed:
    """The first listing page ingested and indexed (56 papers), and QUERY's intact answers."""
    d = tmp_path_factory.mktemp("indexed") / "data"
    assert cli(d, "ingest", "pages", seed_files[0]).exit_code == 0
    return Indexed(d, search_ids(d, "lexical"), search_ids(d, "vector"))


@pytest.fixture
def data_dir(indexed, tmp_path) -> Path:
    d = tmp_path / "data"
    shutil.copytree(indexed.path, d)
    return d


# --- ways an index gets damaged -------------------------------------------------------------

def segment_files(d: Path, *exts: str) -> list[Path]:
    folder = d / "index" / "lexical"
    return sorted(f for ext in exts for f in folder.glob(f"*.{ext}"))


def truncated(d: Path) -> None:
    for f in segment_files(d, "term", "idx"):
        os.truncate(f, f.stat().st_size // 2)


def random_bytes(d: Path) -> None:
    for f in segment_files(d, "term", "idx", "pos", "store", "fast", "fieldnorm"):
        f.write_bytes(os.urandom(f.stat().st_size))


def zeroed_term_files(d: Path) -> None:
    for f in segment_files(d, "term"):
        f.write_bytes(bytes(f.stat().st_size))


def zeroed_term_bodies(d: Path) -> None:
    """Zeros over a term dictionary, its footer (and so tantivy's own check at open) left intact."""
    for f in segment_files(d, "term"):
        data = f.read_bytes()
        footer = struct.unpack("<I", data[-8:-4])[0] + 8
        with open(f, "r+b") as out:  # in place: a server that has the file mapped sees it too
            out.write(bytes(len(data) - footer))


def deleted_meta(d: Path) -> None:
    (d / "index" / "lexical" / "meta.json").unlink()


DAMAGE = {  # what the report must name
    truncated: "truncated", random_bytes: "footer is gone", zeroed_term_files: "footer is gone",
    zeroed_term_bodies: "fails its checksum", deleted_meta: "meta.json is missing",
}


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_stats_reports_the_damage_and_search_answers_from_a_rebuild(indexed, data_dir, damage):
    damage(data_dir)
    found = stats(data_dir)
    assert DAMAGE[damage] in found["index_damage"]["keywords"]
    assert found["papers"] == 56 and found["index_pending"] == 56  # emptied; the store refills it
    assert search_ids(data_dir, "lexical") == indexed.lexical  # rebuilt before answering
    after = stats(data_dir)
    assert after["index_damage"] == {} and after["indexed"] == 56 and after["index_pending"] == 0
    assert DAMAGE[damage] in after["index_repaired"]["keywords"]["problem"]  # the repair is remembered


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__)
def test_reindex_works_whatever_the_damage(indexed, data_dir, damage):
    damage(data_dir)
    done = cli(data_dir, "reindex")
    assert done.exit_code == 0, done.output
    assert "reindexed 56 papers" in done.stdout
    assert search_ids(data_dir, "lexical") == indexed.lexical


def test_search_on_a_damaged_index_rebuilds_it_first(indexed, data_dir):
    random_bytes(data_dir)
    assert search_ids(data_dir, "lexical") == indexed.lexical


def test_random_bytes_in_the_vectors_are_found_and_refilled_from_the_store(indexed, data_dir):
    vectors = data_dir / "index" / "vectors" / "all-MiniLM-L6-v2" / "vectors.f32"
    intact = vectors.read_bytes()
    with open(vectors, "r+b") as f:  # ten rows of nonsense, the file's size unchanged
        f.seek(384 * 4 * 20)
        f.write(os.urandom(384 * 4 * 10))
    found = stats(data_dir)
    assert "vectors.f32 fails its checksum" in found["index_damage"]["vectors"]
    assert found["vectors"] == 56 and found["index_pending"] == 0  # refilled when it opened
    assert vectors.read_bytes() == intact
    assert search_ids(data_dir, "vector") == indexed.vector


def test_stats_verify_reads_every_byte_even_of_files_that_look_unchanged(indexed, data_dir):
    """An open reads again only files whose size or time changed; `stats --verify` reads all."""
    for f in segment_files(data_dir, "store") + [data_dir / "index" / "vectors" / "all-MiniLM-L6-v2" / "vectors.f32"]:
        seen = f.stat()
        with open(f, "r+b") as out:
            out.seek(100)
            out.write(os.urandom(200))
        os.utime(f, ns=(seen.st_atime_ns, seen.st_mtime_ns))  # as bit rot would leave it
    assert stats(data_dir)["index_damage"] == {}
    checked = cli(data_dir, "stats", "--json", "--verify")
    damage = json.loads(checked.stdout)["index_damage"]
    assert "fails its checksum" in damage["keywords"] and "vectors.f32 fails its checksum" in damage["vectors"]
    assert search_ids(data_dir, "lexical") == indexed.lexical
    assert search_ids(data_dir, "vector") == indexed.vector


def test_vectors_are_refilled_without_loading_a_model(tmp_path):
    """The store keeps every paper's vector: a repair copies them back, it embeds nothing."""
    settings = make_settings(tmp_path / "data")
    r = Radar(settings)
    r.store.upsert_papers([
        Paper(id="x1", title="Rocket engine combustion instability", abstract="Thermoacoustic oscillations."),
        Paper(id="x2", title="Protein folding with language models", abstract="Structure from sequence."),
        Paper(id="x3", title="Combustion noise in gas turbines", abstract="Acoustic coupling of flames."),
    ])
    r.sync_indexes()
    before = r.vectors.vectors_of(["x1", "x2", "x3"])
    r.close()
    (settings.data_dir / "index" / "vectors" / "all-MiniLM-L6-v2" / "vectors.f32").write_bytes(os.urandom(3 * 384 * 4))
    no_models = tmp_path / "no-models"
    no_models.write_text("a file where the model cache would be: loading a model fails")
    again = Radar(make_settings(settings.data_dir, models_dir=no_models))
    try:
        assert "vectors.f32" in again.index_damage["vectors"]
        after = again.vectors.vectors_of(["x1", "x2", "x3"])
        assert all(np.array_equal(before[pid], after[pid]) for pid in before)
        assert [h.paper.id for h in again.search.similar(again.store.get_paper("x1"), limit=1)] == ["x3"]
    finally:
        again.close()


# --- the web ------------------------------------------------------------------------------

def test_web_search_on_a_damaged_index_never_answers_500(indexed, data_dir):
    zeroed_term_files(data_dir)
    settings = make_settings(data_dir)
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        api = http.get("/api/papers/search", params={"q": QUERY, "mode": "lexical", "limit": 10})
        assert api.status_code == 200, api.text
        assert [p["id"] for p in api.json()] == indexed.lexical
        page = http.get("/search", params={"q": QUERY})
        assert page.status_code == 200 and f"/papers/{indexed.lexical[0]}" in page.text


def overwritten_time_kept(d: Path) -> None:
    """The postings' offsets overwritten in place, the file's size and time kept (as bit rot
    would): nothing but a failing search can tell a running server."""
    for f in segment_files(d, "idx"):
        seen, data = f.stat(), f.read_bytes()
        footer = struct.unpack("<I", data[-8:-4])[0] + 8
        with open(f, "r+b") as out:
            out.write(b"\xff" * (len(data) - footer))
        os.utime(f, ns=(seen.st_atime_ns, seen.st_mtime_ns))


@pytest.mark.parametrize("damage, found", [(zeroed_term_bodies, "fails its checksum"),
                                           (overwritten_time_kept, "found when a search failed")],
                         ids=["zeroed term bodies", "overwritten, time kept"])
def test_damage_under_a_running_server_is_repaired_not_500(indexed, data_dir, damage, found):
    settings = make_settings(data_dir)
    with LiveServer(create_app(settings)) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        params = {"q": QUERY, "mode": "lexical", "limit": 10}
        assert http.get("/api/papers/search", params=params).status_code == 200
        damage(data_dir)  # the server has these files open and mapped: tantivy reads the damage
        time.sleep(RECHECK_S)  # a running server looks at its files' sizes and times this often
        for _ in range(2):
            api = http.get("/api/papers/search", params=params)
            assert api.status_code == 200, api.text
            assert [p["id"] for p in api.json()] == indexed.lexical
    assert found in stats(data_dir)["index_repaired"]["keywords"]["problem"]


# --- writers in other processes -----------------------------------------------------------

def paperradar(data_dir: Path, *args, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "paperradar", "-d", str(data_dir), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def test_two_ingests_on_one_data_dir_both_finish_and_index_everything(tmp_path, seed_files):
    d = tmp_path / "data"
    first = paperradar(d, "ingest", "pages", *seed_files[:2], "--json")
    second = paperradar(d, "ingest", "pages", *seed_files[2:], "--json")
    for proc in (first, second):
        out, errors = proc.communicate(timeout=180)
        assert proc.returncode == 0, errors
    found = stats(d)
    assert found["papers"] == found["indexed"] == found["vectors"] == 576
    assert found["index_pending"] == 0 and found["index_damage"] == {}
    r = Radar(make_settings(d))
    try:  # every paper, from either process, is found by its title
        papers = r.store.latest_papers(1000)
        missed = [p.title for p in papers
                  if p.id not in {h.paper.id for h in r.search.search(p.title, limit=20, mode="lexical").hits}]
        assert len(papers) == 576 and missed == []
    finally:
        r.close()


HOLD = """
import sys, time
from pathlib import Path
from paperradar.search.writelock import WriterLock
with WriterLock(Path(sys.argv[1]), "keyword index", 5).held():
    print("held", flush=True)
    time.sleep(120)
"""


def test_a_writer_that_never_finishes_is_waited_for_a_bounded_time(tmp_path, seed_files):
    d = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(d / "index" / "lexical.lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        wait = {"PAPERRADAR_INDEX_LOCK_WAIT_S": "1"}
        ingest = cli(d, "ingest", "pages", seed_files[0], env=wait)
        assert ingest.exit_code == 0, ingest.output
        assert time.monotonic() - started < 30
        said = " ".join(ingest.output.split())
        assert f"being written by process {holder.pid}, which did not finish within 1 s" in said
        assert "the papers are stored and the index catches up at the next command" in said
        found = stats(d, env=wait)
        assert found["papers"] == 56 and found["vectors"] == 56 and found["index_pending"] == 56
        refused = cli(d, "reindex", env=wait)
        assert refused.exit_code == 1 and "being written by process" in refused.output
        assert "Traceback" not in refused.output
    finally:
        holder.kill()
        holder.wait()
    assert len(search_ids(d, "lexical")) == 10  # the lock freed: the next command caught up
    assert stats(d)["index_pending"] == 0
