"""Shared fixtures: real data dirs in tmp, a demo-loaded radar, a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import uvicorn

from paperradar.config import Settings
from paperradar.radar import Radar, demo_files
from paperradar.store import Store

SEEDS = Path(__file__).resolve().parents[1].parent / "shared" / "seeds"

# Every test data dir shares one cache of built model graphs (keyed by the weights' hash), so
# the ONNX graph is built once per machine rather than once per test.
os.environ.setdefault("PAPERRADAR_MODELS_DIR", str(Path(tempfile.gettempdir()) / "paperradar-test-models"))


@pytest.fixture(scope="session")
def seed_files() -> list[Path]:
    """The five listing pages: ../shared/seeds when present, else the copy shipped in the package."""
    files = sorted(SEEDS.glob("*.txt")) if SEEDS.is_dir() else []
    return files or demo_files()


def make_settings(data_dir: Path, **kw) -> Settings:
    kw.setdefault("api_rate_limit", 0)  # the shared demo server takes every test's requests
    return Settings(data_dir=data_dir, **kw)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture(scope="session")
def postgres(tmp_path_factory):
    """A real PostgreSQL 16 for the session (the pgserver wheel: initdb and start, a few
    seconds), listening on a unix socket in a temporary folder; stopped at the end."""
    # pgserver's platformdirs wants a runtime dir; without one it warns and uses /tmp anyway.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(tmp_path_factory.mktemp("xdg-runtime")))
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path) -> Store:
    """An empty store, once on a SQLite file and once on its own PostgreSQL database."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/p.db"
    else:
        server = request.getfixturevalue("postgres")
        name = f"t_{uuid.uuid4().hex[:16]}"
        server.psql(f"CREATE DATABASE {name};")
        url = server.get_uri(name).replace("postgresql://", "postgresql+psycopg://", 1)
    s = Store(url)
    yield s
    s.close()


@pytest.fixture(scope="session")
def demo_radar(tmp_path_factory) -> Radar:
    """A data dir loaded with the demo corpus and indexed; shared, so tests must not write to it."""
    r = Radar(make_settings(tmp_path_factory.mktemp("demo") / "data"))
    r.load_demo_if_empty()
    r.sync_indexes()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving an app in a background thread, on a free loopback port."""

    def __init__(self, app):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 15
        while not self.server.started:
            if time.time() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def live(demo_radar):
    from paperradar.web.app import create_app

    with LiveServer(create_app(demo_radar.settings, demo_radar)) as server:
        yield server


@pytest.fixture
def http(live):
    with httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium (never a downloaded browser), driven by Playwright."""
    import shutil

    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or "/usr/bin/chromium",
                                     args=CHROMIUM_ARGS)
        yield browser
        browser.close()
