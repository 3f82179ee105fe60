"""A real SMTP server on 127.0.0.1 (aiosmtpd) whose answers a test scripts per recipient.

    with FakeSMTP() as smtp:
        smtp.script("bob@example.com", "451", "250")   # first attempt deferred, then accepted
        smtp.script("eve@example.com", "550")          # rejected at RCPT TO
        smtp.script("dan@example.com", "drop")         # takes the body, then hangs up unanswered
        ... send to smtp.url ...
        smtp.received("bob@example.com")               # the messages it accepted, parsed

Replies, consumed one per delivery attempt for that recipient (then 250 for ever):
    "250"        accept
    "451", "550" refuse at RCPT TO (temporary / permanent)
    "451-data", "550-data"  refuse after the body
    "drop"       keep the message (as a real server that queued it would), then close the
                 connection without answering: the client cannot know it was delivered
    "drop-lost"  close the connection after the body without keeping the message
Hooks `on_rcpt(recipient)` / `on_data(recipient)` run in the server thread before it answers
(the SIGKILL test kills the sender from there).

Whole-server behaviour, as real servers and outages show it:
    FakeSMTP(max_connections=2)  a connection beyond 2 open at once is greeted with
                                 "421 too many connections" and closed (per-client limits)
    FakeSMTP(stall=True)         accepts connections and never says a word (a hung server)
    smtp.connections             how many connections it accepted, the refused ones included
A server that is down is a port nobody listens on (`free_port()`), or one after `__exit__`.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Callable

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


@dataclass
class Received:
    mail_from: str
    recipient: str
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)

    @property
    def message_id(self) -> str:
        return self.message["Message-ID"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self, server: "FakeSMTP"):
        self.server = server

    async def handle_RCPT(self, smtp, session, envelope, address, rcpt_options):
        srv = self.server
        if srv.on_rcpt:
            srv.on_rcpt(address)
        reply = srv._next(address, peek=True)
        if reply in ("451", "550"):
            srv._next(address)
            srv.refused.append((address, reply))
            return f"{reply} {'4.2.0 mailbox busy, try later' if reply == '451' else '5.1.1 no such user'}"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp, session, envelope):
        srv = self.server
        rcpt = envelope.rcpt_tos[0]
        srv.tls.append(smtp.transport.get_extra_info("ssl_object") is not None)
        if srv.on_data:
            srv.on_data(rcpt)
        reply = srv._next(rcpt)
        if reply in ("451-data", "550-data"):
            srv.refused.append((rcpt, reply))
            return f"{reply[:3]} {'4.3.0 try again later' if reply.startswith('4') else '5.7.1 rejected'}"
        if reply in ("drop", "drop-lost"):
            if reply == "drop":
                srv._record(envelope)
            smtp.transport.abort()  # no reply at all: the client is left not knowing
            return "250 never seen"
        srv._record(envelope)
        return "250 OK queued"


class _Session(SMTP):
    """aiosmtpd's SMTP session, counting connections so the server can limit or stall them."""

    def __init__(self, handler, *, fake: "FakeSMTP", **kwargs):
        super().__init__(handler, **kwargs)
        self.fake = fake
        self.over_limit = False
        self.counted = False

    def connection_made(self, transport) -> None:
        if not self.counted:  # called again after STARTTLS on the same connection
            self.counted = True
            with self.fake._lock:
                self.fake.connections += 1
                self.fake._open += 1
                limit = self.fake.max_connections
                self.over_limit = limit is not None and self.fake._open > limit
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        with self.fake._lock:
            self.fake._open -= 1
        super().connection_lost(error)

    async def _handle_client(self) -> None:
        if self.over_limit:
            await self.push("421 4.7.0 too many connections from your host, try again later")
            self.transport.close()
            return
        if self.fake.stall:
            await asyncio.sleep(3600)  # until the client gives up (its timeout) or the server stops
            return
        await super()._handle_client()


class _Controller(Controller):
    def __init__(self, fake: "FakeSMTP", *args, **kwargs):
        self.fake = fake
        super().__init__(*args, **kwargs)

    def factory(self):
        return _Session(self.handler, fake=self.fake, **self.SMTP_kwargs)


class FakeSMTP:
    def __init__(self, *, implicit_tls: ssl.SSLContext | None = None, starttls: ssl.SSLContext | None = None,
                 users: dict[str, str] | None = None, port: int | None = None,
                 max_connections: int | None = None, stall: bool = False):
        self.port = port or free_port()
        self.max_connections = max_connections
        self.stall = stall
        self.connections = 0
        self._open = 0
        self.messages: list[Received] = []
        self.refused: list[tuple[str, str]] = []
        self.logins: list[str] = []
        self.tls: list[bool] = []  # per message: did it come over TLS
        self.on_rcpt: Callable[[str], None] | None = None
        self.on_data: Callable[[str], None] | None = None
        self._scripts: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        kwargs = {}
        if starttls:
            kwargs["tls_context"] = starttls
        if users is not None:
            def authenticate(server, session, envelope, mechanism, auth_data):
                ok = isinstance(auth_data, LoginPassword) and users.get(auth_data.login.decode()) == auth_data.password.decode()
                if ok:
                    self.logins.append(auth_data.login.decode())
                return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535
            # PLAIN only: smtplib's AUTH LOGIN with an initial response trips aiosmtpd 1.4 into a hang
            kwargs.update(authenticator=authenticate, auth_required=True, auth_require_tls=bool(starttls),
                          auth_exclude_mechanism=["LOGIN"])
        self.controller = _Controller(self, _Handler(self), hostname="127.0.0.1", port=self.port,
                                      ssl_context=implicit_tls, **kwargs)

    @property
    def url(self) -> str:
        return f"{'smtps' if self.controller.ssl_context else 'smtp'}://127.0.0.1:{self.port}"

    def script(self, recipient: str, *replies: str) -> None:
        with self._lock:
            self._scripts.setdefault(recipient.lower(), []).extend(replies)

    def _next(self, recipient: str, peek: bool = False) -> str:
        with self._lock:
            queue = self._scripts.get(recipient.lower())
            if not queue:
                return "250"
            return queue[0] if peek else queue.pop(0)

    def _record(self, envelope) -> None:
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.messages.append(Received(envelope.mail_from, rcpt, bytes(envelope.original_content)))

    def received(self, recipient: str | None = None) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if recipient is None or m.recipient.lower() == recipient.lower()]

    def by_recipient(self) -> dict[str, list[Received]]:
        out: dict[str, list[Received]] = {}
        for m in self.received():
            out.setdefault(m.recipient, []).append(m)
        return out

    def __enter__(self) -> "FakeSMTP":
        stall, self.stall = self.stall, False  # the controller's own start-up probe needs a greeting
        self.controller.start()
        deadline = time.monotonic() + 5
        while self._open and time.monotonic() < deadline:  # the probe hangs up on its own
            time.sleep(0.01)
        with self._lock:
            self.connections = 0  # count the clients' connections only
        self.stall = stall
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
