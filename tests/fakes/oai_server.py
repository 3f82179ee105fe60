"""A fake arXiv on 127.0.0.1 for tests: the OAI-PMH endpoint (`/oai`) and the Atom API (`/api/query`).

It is a real HTTP/1.1 server (keep-alive, one thread per connection) serving fixture pages
written from the OAI-PMH 2.0 spec and arXiv's documented formats. Tests script it:

    with FakeArxiv() as fake:
        fake.serve_list(["arXiv_cs_1.xml", "arXiv_cs_2.xml", "arXiv_cs_3.xml"], fmt="arXiv", set_spec="cs")
        fake.script(("503", "2"), "drop", "ok", "expired")   # what the next four requests get
        ... harvest from fake.oai_url ...
        fake.hits  # every request: params, arrival and end times, the client's port

Scripted answers, one per request in order (then every request is answered normally):
"ok", ("503", RETRY_AFTER or None), "500", "drop" (close the connection without answering),
"malformed" (a truncated XML body with status 200), "expired" (badResumptionToken),
"hang" (hold the request until `release()`), ("delay", SECONDS), ("trickle", SECONDS) (the
whole answer, status line and headers included, one byte every SECONDS: a server that never lets
a per-read timeout fire; it gives up after TRICKLE_MAX_S or when the client hangs up).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from lxml import etree

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TRICKLE_MAX_S = 10.0
_TOKEN = re.compile(rb"<resumptionToken[^>]*?(?:/>|>([^<]*)</resumptionToken>)")
_ATOM = "{http://www.w3.org/2005/Atom}"
_FEED_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
              b'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
              b"<title>ArXiv Query</title><id>http://arxiv.org/api/fake</id>"
              b"<updated>2024-02-11T00:00:00-05:00</updated>\n")


@dataclass
class Hit:
    path: str
    params: dict[str, str]
    started: float  # time.monotonic() when the request line arrived
    client_port: int
    action: object = "ok"
    finished: float | None = None  # when the answer was flushed (None: dropped or hung)


@dataclass
class _List:
    pages: list[bytes]
    tokens: dict[str, int] = field(default_factory=dict)  # token in page i -> index of page i+1


def fixture(name: str | Path) -> bytes:
    path = Path(name)
    return (path if path.is_absolute() else FIXTURES / "oai" / path).read_bytes()


class FakeArxiv:
    def __init__(self):
        self.lists: dict[tuple[str, str | None], _List] = {}
        self.tokens: dict[str, tuple[tuple[str, str | None], int]] = {}
        self.hits: list[Hit] = []
        self.api_bad_ids: set[str] = set()
        self.api_entries = _load_entries(FIXTURES / "arxiv_api" / "entries.xml")
        self._script: deque = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.fake = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.oai_url = self.url + "/oai"
        self.api_url = self.url + "/api/query"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeArxiv":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    # scripting
    def serve_list(self, pages: list, fmt: str = "arXiv", set_spec: str | None = None) -> None:
        """The pages a ListRecords for (fmt, set) walks through, page i's token leading to page i+1."""
        bodies = [p if isinstance(p, bytes) else fixture(p) for p in pages]
        key = (fmt, set_spec)
        with self._lock:
            self.lists[key] = _List(bodies)
            self.tokens = {t: where for t, where in self.tokens.items() if where[0] != key}
            for i, body in enumerate(bodies[:-1]):
                m = _TOKEN.search(body)
                token = (m.group(1) or b"").decode().strip() if m else ""
                assert token, f"page {i} of {key} has no resumptionToken but is not the last"
                self.tokens[token] = (key, i + 1)

    def script(self, *actions) -> None:
        with self._lock:
            self._script.extend(actions)

    def release(self) -> None:
        """Let requests held by "hang" finish (with an error, as their client is usually gone)."""
        self._release.set()

    def oai_hits(self) -> list[Hit]:
        return [h for h in self.hits if h.path == "/oai"]

    def gaps(self, hits: list[Hit] | None = None) -> list[float]:
        """Seconds between the arrivals of consecutive requests (the server's own clock)."""
        hits = hits if hits is not None else self.oai_hits()
        return [b.started - a.started for a, b in zip(hits, hits[1:])]

    def wait_for_hits(self, n: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.hits) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {len(self.hits)} of {n} requests arrived")
            time.sleep(0.01)

    # answering
    def _next_action(self):
        with self._lock:
            return self._script.popleft() if self._script else "ok"

    def answer_oai(self, params: dict[str, str]) -> bytes:
        if params.get("verb") != "ListRecords":
            return _oai_error("badVerb", "only ListRecords is faked")
        token = params.get("resumptionToken")
        with self._lock:
            if token is not None:
                if token not in self.tokens:
                    return fixture("error_badResumptionToken.xml")
                key, index = self.tokens[token]
            else:
                key, index = (params.get("metadataPrefix", ""), params.get("set")), 0
            found = self.lists.get(key)
        if found is None:
            return fixture("error_noRecordsMatch.xml")
        return found.pages[index] if index < len(found.pages) else fixture("error_badResumptionToken.xml")

    def answer_api(self, params: dict[str, str]) -> bytes:
        ids = [i for i in params.get("id_list", "").split(",") if i]
        for arxiv_id in ids:  # like arXiv: one bad id turns the whole answer into its error
            if arxiv_id in self.api_bad_ids:
                body = (FIXTURES / "arxiv_api" / "error.xml").read_bytes()
                return body.replace(b"{ID}", arxiv_id.encode())
        entries = [self.api_entries[i] for i in ids if i in self.api_entries]
        total = f"<opensearch:totalResults>{len(entries)}</opensearch:totalResults>\n".encode()
        return _FEED_HEAD + total + b"\n".join(entries) + b"\n</feed>\n"


def _load_entries(path: Path) -> dict[str, bytes]:
    root = etree.fromstring(path.read_bytes())
    entries = {}
    for entry in root.iterfind(f"{_ATOM}entry"):
        url = entry.findtext(f"{_ATOM}id").strip()
        arxiv_id = re.sub(r"v\d+$", "", url.split("/abs/", 1)[1])
        entries[arxiv_id] = etree.tostring(entry)
    return entries


def _oai_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
            f"<responseDate>2024-01-11T00:00:00Z</responseDate><request>fake</request>"
            f'<error code="{code}">{message}</error></OAI-PMH>').encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so tests can see that one connection is reused

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        fake: FakeArxiv = self.server.fake
        url = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        hit = Hit(url.path, params, time.monotonic(), self.client_address[1])
        fake.hits.append(hit)
        action = hit.action = fake._next_action()
        kind = action[0] if isinstance(action, tuple) else action
        if kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "hang":
            fake._release.wait()
            self.close_connection = True
            return
        if kind == "delay":
            time.sleep(action[1])
        if kind == "503":
            retry_after = action[1] if isinstance(action, tuple) else None
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            return self._send(503, b"<html>Retry later</html>", hit, headers, "text/html")
        if kind == "500":
            return self._send(500, b"internal error", hit, {}, "text/plain")
        if url.path == "/oai":
            body = fake.answer_oai(params)
        elif url.path == "/api/query":
            body = fake.answer_api(params)
        else:
            return self._send(404, b"not found", hit, {}, "text/plain")
        if kind == "expired":
            body = fixture("error_badResumptionToken.xml")
        if kind == "malformed":
            body = body[: max(40, len(body) // 2)]
        if kind == "trickle":
            return self._trickle(body, action[1])
        self._send(200, body, hit, {}, "text/xml; charset=utf-8")

    def _trickle(self, body: bytes, interval: float) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n"
        self.close_connection = True
        give_up = time.monotonic() + TRICKLE_MAX_S
        try:
            for byte in head.encode() + body:
                if time.monotonic() > give_up:
                    break
                self.wfile.write(bytes([byte]))
                time.sleep(interval)
        except OSError:  # the client hung up, as it should
            pass

    def _send(self, status: int, body: bytes, hit: Hit, headers: dict, ctype: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        hit.finished = time.monotonic()
