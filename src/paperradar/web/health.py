"""`GET /health`: is this web process able to answer, and which process is it.

For a reverse proxy or load balancer's health check, and for telling the processes of one
`serve --workers N` apart (a keep-alive connection stays with the process that accepted it).
It sits outside /api/, so checks are not counted against the API's rate limit, and it reads
only what is cheap at any size: the store's newest change position and how far this process's
indexes are behind it.
"""

from __future__ import annotations

import logging
import os

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from .. import __version__
from .deps import RadarDep

router = APIRouter(tags=["health"])
log = logging.getLogger("paperradar.web")


@router.get("/health", summary="This process is up and reaches the store (503 when it cannot)")
def health(radar: RadarDep) -> JSONResponse:
    body = {"status": "ok", "pid": os.getpid(), "version": __version__}
    try:
        body["indexes_behind"] = radar.pending_index_changes()  # reads the store: proves it answers
    except Exception as e:  # the store is down or unreachable: say so, never a 500 page
        log.warning("health check: the store does not answer: %s", e)
        return JSONResponse({**body, "status": "unavailable", "error": "the database does not answer"},
                            status_code=503)
    return JSONResponse(body)
