"""Mail transports behind one small interface: `send(message)` or a typed failure.

    SMTPTransport   smtp:// (STARTTLS when offered, or as the URL says) and smtps:// (TLS
                    from the first byte), AUTH from the URL's user and password; one connection
                    reused across messages.
    FolderTransport writes each message as an .eml file (the embedded default: no server).

Failures are `TempFailure` (4xx, timeouts, dropped connections: try again later) or
`PermFailure` (5xx: this address will not take it). `TempFailure.after_data` says the
connection died after the message body went out, so the server may have taken it;
`TempFailure.server_down` says the failure was the connection's, not the recipient's (refused,
timed out, TLS, AUTH, our sender refused, 421 "closing channel"). A URL that cannot work is a
`ConfigError` from the constructor, before any connection.
"""

from __future__ import annotations

import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

from ..errors import UserError


@dataclass(frozen=True)
class Outgoing:
    sender: str  # envelope MAIL FROM
    recipient: str  # envelope RCPT TO
    message_id: str
    data: bytes  # the whole message, CRLF line endings


class DeliveryFailure(Exception):
    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


class TempFailure(DeliveryFailure):
    """Try again later. `server_down`: no conversation was possible at all (refused, TLS or
    AUTH failure), so the next messages would fail the same way."""

    def __init__(self, message: str, code: int | None = None, *, after_data: bool = False,
                 server_down: bool = False):
        super().__init__(message, code)
        self.after_data = after_data
        self.server_down = server_down


class PermFailure(DeliveryFailure):
    pass


class Transport(Protocol):
    def send(self, message: Outgoing) -> None: ...

    def close(self) -> None: ...


class ConfigError(UserError, ValueError):
    """The SMTP URL cannot be used."""


def _text(text: bytes | str) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return " ".join(text.split())[:400]


def _failure(code: int, text: bytes | str, where: str) -> DeliveryFailure:
    message = f"{where}: {code} {_text(text)}"
    if code == 421:  # "service not available, closing channel": the server's state, not the address's
        return TempFailure(message, code, server_down=True)
    return PermFailure(message, code) if 500 <= code < 600 else TempFailure(message, code)


URL_OPTIONS = {"starttls": ("auto", "always", "never"), "verify": ("1", "0", "true", "false", "yes", "no")}


class SMTPTransport:
    """Sends over SMTP; the connection stays open between messages and is reopened when lost."""

    def __init__(self, url: str, *, timeout: float = 30.0, local_hostname: str | None = None):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ConfigError(f"SMTP URL must start with smtp:// or smtps://, got {parts.scheme or url!r}")
        if not parts.hostname:
            raise ConfigError("SMTP URL has no host")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"SMTP URL has a bad port: {parts.netloc.rpartition('@')[2]!r}") from None
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        # A misspelt option would otherwise be ignored silently (and starttls=bogus meant a hang).
        for key, value in query.items():
            if key not in URL_OPTIONS:
                raise ConfigError(f"SMTP URL option {key!r} is unknown; the options are {', '.join(URL_OPTIONS)}")
            if value.lower() not in URL_OPTIONS[key]:
                *first, last = URL_OPTIONS[key]
                raise ConfigError(f"SMTP URL option {key} must be {', '.join(first)} or {last}, got {value!r}")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = port or (465 if self.implicit_tls else 25)
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = query.get("starttls", "auto").lower()  # auto: when offered; always; never
        self.context = ssl.create_default_context()
        if query.get("verify", "1").lower() in ("0", "false", "no"):  # self-signed lab servers
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._conn: smtplib.SMTP | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SMTPTransport({'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port})"

    def _open(self) -> smtplib.SMTP:
        where = f"connecting to {self.host}:{self.port}"
        try:
            if self.implicit_tls:
                conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout,
                                        local_hostname=self.local_hostname, context=self.context)
            else:
                conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout, local_hostname=self.local_hostname)
            conn.ehlo()
            if not self.implicit_tls and self.starttls != "never":
                if conn.has_extn("starttls"):
                    conn.starttls(context=self.context)
                    conn.ehlo()
                elif self.starttls == "always":
                    conn.close()
                    raise TempFailure(f"{where}: server does not offer STARTTLS (starttls=always)", server_down=True)
            if self.user:
                conn.login(self.user, self.password or "")
            return conn
        # Nothing here is the recipient's fault: never a PermFailure that would count against them.
        except smtplib.SMTPAuthenticationError as e:
            raise TempFailure(f"{where}: authentication failed ({e.smtp_code}); check the SMTP URL's user and password",
                              e.smtp_code, server_down=True) from None
        except smtplib.SMTPResponseException as e:
            raise TempFailure(f"{where}: {e.smtp_code} {_text(e.smtp_error)}", e.smtp_code, server_down=True) from None
        except (OSError, smtplib.SMTPException) as e:
            raise TempFailure(f"{where}: {type(e).__name__}: {e}", server_down=True) from None

    def send(self, message: Outgoing) -> None:
        fresh = self._conn is None
        try:
            self._send(message)
        except TempFailure as e:
            # A reused connection the server closed while idle fails before DATA (dropped, or a
            # 421 "timeout" answer): reopen once.
            idle_closed = e.code is None and not e.server_down or e.code == 421
            if fresh or e.after_data or not idle_closed:
                raise
            self._send(message)

    def _send(self, message: Outgoing) -> None:
        if self._conn is None:
            self._conn = self._open()
        conn, phase = self._conn, "MAIL FROM"
        try:
            code, text = conn.mail(message.sender)
            if code != 250:  # our sender address refused: a configuration problem, not the recipient's
                raise TempFailure(f"MAIL FROM <{message.sender}>: {code} {_text(text)}", code, server_down=True)
            phase = "RCPT TO"
            code, text = conn.rcpt(message.recipient)
            if code not in (250, 251):
                raise _failure(code, text, f"RCPT TO <{message.recipient}>")
            phase = "DATA"
            code, text = conn.data(message.data)
            if code != 250:
                raise _failure(code, text, f"DATA for {message.message_id}")
        except DeliveryFailure:
            self._reset()
            raise
        except smtplib.SMTPResponseException as e:  # e.g. 354 missing, or 421 closing
            self._drop()
            raise _failure(e.smtp_code, e.smtp_error, phase) from None
        except (OSError, smtplib.SMTPException) as e:
            self._drop()
            after = phase == "DATA"
            what = "connection lost after DATA: delivery unknown" if after else f"connection lost at {phase}"
            raise TempFailure(f"{what} ({type(e).__name__}: {e})", after_data=after) from None

    def _reset(self) -> None:
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except OSError:
                pass
        self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self._drop()


class FolderTransport:
    """Writes `<folder>/<message-id>.eml`; a resend of the same Message-ID replaces the file."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    def send(self, message: Outgoing) -> None:
        name = re.sub(r"[^A-Za-z0-9._@-]", "_", message.message_id.strip("<>")) + ".eml"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp = self.folder / f".{name}.{os.getpid()}.tmp"
            tmp.write_bytes(message.data)
            os.replace(tmp, self.folder / name)  # atomic: a reader never sees half a message
        except OSError as e:
            raise TempFailure(f"writing {self.folder / name}: {e}") from None

    def close(self) -> None:
        pass


def transport_from_settings(settings) -> Transport:
    if settings.smtp_url:
        return SMTPTransport(settings.smtp_url, timeout=settings.smtp_timeout)
    return FolderTransport(settings.data_dir / "outbox")
