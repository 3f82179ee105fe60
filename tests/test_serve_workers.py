"""`paperradar serve --workers 2` as a real subprocess on SQLite: two processes answer on one
port, each listening on a socket of its own, a paper another process ingests is found by keyword
in both within 2 s of its commit, a worker that dies is replaced (new connections are answered
meanwhile), and Ctrl-C stops them all with one line and no traceback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from conftest import free_port
from paperradar.store import Store
from paperradar.web.workers import OWN_SOCKETS

WORD = "quokkaformer"  # in no demo paper
NEW_ID = "2503.99999"
FRESH_WITHIN_S = 2.0


def _paper_line() -> str:
    return json.dumps({
        "id": NEW_ID, "title": f"The {WORD}: marsupial attention for tiny image transformers",
        "abstract": f"We introduce the {WORD}, an attention layer that hops between image patches.",
        "authors": "Ada Lovelace and Alan Turing", "categories": "cs.CV cs.LG",
        "versions": [{"version": "v1", "created": "Mon, 3 Mar 2025 10:00:00 GMT"}],
    }) + "\n"


class Server:
    """The CLI as a subprocess in its own session (a terminal's Ctrl-C reaches the whole group)."""

    def __init__(self, data_dir, port: int):
        env = {**os.environ, "PAPERRADAR_API_RATE_LIMIT": "0"}
        self.port, self.url = port, f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "paperradar", "-d", str(data_dir), "serve", "--workers", "2", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for_line(self, prefix: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines:
                if line.startswith(prefix):
                    return line
            assert self.proc.poll() is None, "".join(self.lines)
            time.sleep(0.05)
        pytest.fail(f"no line starting {prefix!r} in {timeout} s: {''.join(self.lines)}")

    def connections_by_pid(self, want: int, timeout: float = 60) -> dict[int, httpx.Client]:
        """Keep-alive connections until `want` distinct worker processes hold one each: a
        connection stays with the process that accepted it."""
        found: dict[int, httpx.Client] = {}
        deadline = time.monotonic() + timeout
        while len(found) < want and time.monotonic() < deadline:
            client = httpx.Client(base_url=self.url, timeout=10)
            try:
                pid = client.get("/health").json()["pid"]
            except httpx.TransportError:  # the workers are still starting
                client.close()
                time.sleep(0.1)
                continue
            if pid in found:
                client.close()
            else:
                found[pid] = client
        assert len(found) == want, f"only {sorted(found)} answered"
        return found

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            self.proc.wait(60)
        self._reader.join(10)


def finds(client: httpx.Client, pid: int, q: str, mode: str = "lexical") -> bool | None:
    """Whether the process `pid` finds NEW_ID for `q`; None when the connection moved elsewhere."""
    r = client.get("/api/papers/search", params={"q": q, "mode": mode, "limit": 5})
    assert r.status_code == 200, r.text
    found = NEW_ID in [p["id"] for p in r.json()]
    return found if client.get("/health").json()["pid"] == pid else None


def listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on `port` (Linux: /proc/net/tcp, state 0A)."""
    found = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
            found.add(fields[9])
    return found


def socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed since the listing
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


@pytest.fixture
def server(tmp_path):
    s = Server(tmp_path / "data", free_port())
    yield s
    s.stop()


def test_two_workers_answer_and_both_find_a_paper_ingested_by_another_process(server, tmp_path):
    assert server.wait_for_line("paperradar serving", 300) == \
        f"paperradar serving {(tmp_path / 'data').resolve()} at http://127.0.0.1:{server.port}\n"
    assert "starting 2 web workers\n" in server.lines
    clients = server.connections_by_pid(2)
    assert server.proc.pid not in clients  # the parent only supervises
    if OWN_SOCKETS:  # Linux: each worker accepts from a socket of its own (a shared one sends
        # most connections to the busiest process: web/workers.py); the parent listens on none.
        listening = listening_inodes(server.port)
        assert len(listening) == 2 and all(len(socket_inodes(pid) & listening) == 1 for pid in clients)
        assert not socket_inodes(server.proc.pid) & listening
    for pid, client in clients.items():
        assert finds(client, pid, WORD) is False

    snapshot = tmp_path / "new.jsonl"
    snapshot.write_text(_paper_line())
    ingest = subprocess.Popen([sys.executable, "-m", "paperradar", "-d", str(tmp_path / "data"), "ingest", "jsonl",
                               str(snapshot)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store(f"sqlite:///{(tmp_path / 'data' / 'paperradar.db').resolve()}", migrate_schema=False)
    try:
        deadline = time.monotonic() + 120
        while store.get_paper(NEW_ID) is None:  # the moment the ingest's commit is visible
            assert time.monotonic() < deadline and ingest.poll() in (None, 0), ingest.communicate()
            time.sleep(0.02)
        committed = time.monotonic()
    finally:
        store.close()
    seen: dict[int, float] = {}
    while len(seen) < 2 and time.monotonic() < committed + FRESH_WITHIN_S:
        for pid, client in clients.items():
            if pid not in seen and finds(client, pid, WORD):
                seen[pid] = time.monotonic() - committed
        time.sleep(0.05)
    out, err = ingest.communicate(timeout=120)
    assert ingest.returncode == 0, err
    assert sorted(seen) == sorted(clients), f"found within {FRESH_WITHIN_S} s only by {seen} of {sorted(clients)}"
    for client in clients.values():
        client.close()


def test_a_dead_worker_is_replaced_and_ctrl_c_stops_all_with_one_line(server):
    server.wait_for_line("paperradar serving", 300)
    clients = server.connections_by_pid(2)
    victim, survivor = sorted(clients)
    for client in clients.values():
        client.close()
    os.kill(victim, signal.SIGKILL)
    assert server.wait_for_line("warning: web worker", 30) == \
        f"warning: web worker {victim} stopped (killed by signal 9); starting another\n"
    # Meanwhile every new connection is answered at once: none waits on the dead one's socket.
    for _ in range(10):
        with httpx.Client(base_url=server.url, timeout=5) as client:
            assert client.get("/health").json()["pid"] != victim
    fresh = server.connections_by_pid(2, timeout=120)
    pids = set(fresh)
    assert survivor in pids and victim not in pids
    for client in fresh.values():
        client.close()

    os.killpg(server.proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: every process in the group
    assert server.proc.wait(60) == 0
    server._reader.join(10)
    after = server.lines[server.lines.index(next(x for x in server.lines if x.startswith("warning: web worker"))) + 1:]
    assert after == ["paperradar stopped (2 web workers)\n"], "".join(server.lines)
    assert "Traceback" not in "".join(server.lines)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


@pytest.mark.skipif(not OWN_SOCKETS, reason="workers bind sockets of their own only on Linux")
def test_the_parents_guard_lets_its_workers_bind_the_port_and_no_other_server():
    from paperradar.web.workers import bind, guard

    port = free_port()
    held = guard("127.0.0.1", port)
    try:
        with pytest.raises(OSError, match=f"port {port} on 127.0.0.1 is in use"):
            bind("127.0.0.1", port)  # another server's busy-port check, before any worker listens
        worker = bind("127.0.0.1", port, shared=True)
        worker.listen()
        worker.close()
    finally:
        held.close()
