"""Changing the embedding model: search keeps its vectors until `reembed` has made the new ones,
a killed run resumes, and running servers switch by themselves.

The int8 twin of MiniLM stands in for "another model": it is a separate embedding (its vectors
never mix with fp32 ones) that embeds the seed pages in seconds.
"""

import gc
import json
import os
import subprocess
import sys
import time
import weakref
from pathlib import Path

from typer.testing import CliRunner

from paperradar.cli import app
from paperradar.radar import Radar
from paperradar.store import Store

from conftest import make_settings

runner = CliRunner()
SRC = str(Path(__file__).resolve().parents[1] / "src")
FP32, INT8 = "all-MiniLM-L6-v2", "all-MiniLM-L6-v2-int8"
QUERY = "rocket engine combustion instability"


def cli(data_dir, *args, env=None) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": SRC, "PAPERRADAR_EMBED_INT8": "1", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "paperradar", "-d", str(data_dir), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def stats(data_dir, **env) -> dict:
    done = runner.invoke(app, ["-d", str(data_dir), "stats", "--json"], env=env)
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout)


def test_search_keeps_the_old_vectors_until_reembed_switches(tmp_path, seed_files):
    d = str(tmp_path)
    assert runner.invoke(app, ["-d", d, "ingest", "pages", str(seed_files[0])]).exit_code == 0
    int8 = {"PAPERRADAR_EMBED_INT8": "1"}
    # The settings now name the int8 embedding: search by meaning goes on with the fp32 vectors.
    found = runner.invoke(app, ["-d", d, "search", QUERY, "--json", "-n", "1"], env=int8)
    assert found.exit_code == 0 and "Thermoacoustic Instabilities" in json.loads(found.stdout)[0]["title"]
    assert "reembed" in found.stderr
    before = stats(d, **int8)
    assert before["embedding_model"] == FP32 and before["embedding_wanted"] == INT8
    switched = runner.invoke(app, ["-d", d, "reembed"], env=int8)
    assert switched.exit_code == 0, switched.output
    assert f"search now uses {INT8} (56 vectors; was {FP32})" in switched.stdout
    after = stats(d, **int8)
    assert after["embedding_model"] == INT8 and "embedding_wanted" not in after and after["vectors"] == 56
    again = runner.invoke(app, ["-d", d, "reembed", "--json"], env=int8)
    assert json.loads(again.stdout)["previous"] is None  # nothing left to do
    # And back: the fp32 vectors are still in the store, so nothing is embedded again.
    back = runner.invoke(app, ["-d", d, "reembed"])
    assert f"search now uses {FP32}" in back.stdout


def test_a_killed_reembed_resumes_and_search_never_stops(tmp_path, seed_files):
    settings = make_settings(tmp_path / "data")
    assert runner.invoke(app, ["-d", str(settings.data_dir), "ingest", "pages", *map(str, seed_files)]).exit_code == 0
    r = Radar(settings)
    store = Store.from_settings(settings)
    first = cli(settings.data_dir, "reembed")
    deadline = time.monotonic() + 120
    while store.embedding_counts().get(INT8, 0) < 256 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.kill()
    first.communicate()
    made = store.embedding_counts().get(INT8, 0)
    assert 256 <= made < 576, made  # killed part way
    assert store.get_meta("search_embedding") == FP32  # search still on the complete fp32 vectors
    assert r.search.search(QUERY, limit=1, mode="vector").hits
    second = cli(settings.data_dir, "reembed", "--json")
    out, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert json.loads(out)["embedding"] == INT8
    assert store.embedding_counts()[INT8] == 576 and store.get_meta("search_embedding") == INT8
    store.close()
    r.close()


def test_a_running_server_switches_when_reembed_finishes(tmp_path, seed_files):
    settings = make_settings(tmp_path / "data")
    assert runner.invoke(app, ["-d", str(settings.data_dir), "ingest", "pages", str(seed_files[0])]).exit_code == 0
    server = Radar(settings)
    gc.collect()
    gc.freeze()  # as a web process does once started (web/serving.py)
    replaced = weakref.ref(server.vectors)
    server.follow(0.1)
    try:
        assert server.active == FP32
        done = cli(settings.data_dir, "reembed")
        assert done.wait(timeout=300) == 0, done.stderr.read()
        deadline = time.monotonic() + 5
        while server.active != INT8 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.active == INT8 and server.search.vectors.model == INT8
        hits = server.search.search(QUERY, limit=1, mode="vector").hits
        assert "Thermoacoustic Instabilities" in hits[0].paper.title
        gc.collect()
        assert replaced() is None  # the old vector index is freed, frozen at start-up or not
    finally:
        gc.unfreeze()
        server.close()
