"""The app one `paperradar serve` process runs, and the factory each worker process calls.

`serve --workers N` does the one-time work (demo load, index sync, topics) in its parent, then
starts N processes on the parent's socket (uvicorn's supervisor, which restarts one that dies).
Each builds its own `Radar` here: the indexes are per-process replicas, kept fresh by following
the store's change feed in the background, so a paper another process commits is searchable
here within seconds, without a restart.

Workers are started with `spawn` (a fresh interpreter: no forked database connections or
threads), so they get their settings through the environment: the parent's exact `Settings`
as JSON in `SETTINGS_ENV`.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys

from fastapi import FastAPI

from ..config import Settings
from ..radar import Radar
from .app import create_app

SETTINGS_ENV = "PAPERRADAR_SERVE_SETTINGS"
STARTUP_FAILURE = 3  # uvicorn's exit status for "failed before serving": its supervisor then stops, not restarts
log = logging.getLogger("paperradar.web")


def serving_app(settings: Settings, radar: Radar) -> FastAPI:
    """The web app, with the query model loaded before the first search. While it serves, its
    radar follows the store's change feed (`create_app`'s lifespan calls `Radar.follow`)."""
    app = create_app(settings, radar)
    if radar.vectors:
        radar.query_embedder()  # loaded now rather than by the first search (a second or two)
    # What start-up made (modules, the app, the models, the indexes) lives as long as the
    # process: out of the garbage collector's sight, whose full passes over it stalled every
    # request for ~60 ms now and then (the p99 of a busy server). Start-up's garbage is
    # collected first: frozen, it would be kept for good.
    gc.collect()
    gc.freeze()
    return app


def settings_for_workers(settings: Settings) -> None:
    """Hand `settings` to the worker processes about to be spawned (they inherit the environment)."""
    os.environ[SETTINGS_ENV] = settings.model_dump_json()


def worker_app() -> FastAPI:
    """uvicorn's app factory in a worker process: its own Radar on the parent's settings.

    A failure here (database gone, schema too old) is one line on stderr and uvicorn's startup
    failure status, so the supervisor stops with a message instead of restarting forever."""
    radar = None
    try:
        settings = Settings(**json.loads(os.environ[SETTINGS_ENV]))
        radar = Radar(settings)
        app = serving_app(settings, radar)
    except Exception as e:  # noqa: BLE001 (anything: the message is all a user can act on)
        from ..cli.common import EXPECTED, unexpected_line

        why = " ".join(str(e).split()) if isinstance(e, EXPECTED) else unexpected_line(e)
        print(f"error: web worker {os.getpid()} cannot start: {why}", file=sys.stderr, flush=True)
        if radar is not None:
            radar.close()
        sys.exit(STARTUP_FAILURE)
    return app  # its radar lives as long as the process: nothing to close before the process ends

