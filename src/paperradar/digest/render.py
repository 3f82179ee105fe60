"""One digest email: a plain-text and an HTML part (multipart/alternative) with its headers.

Paper fields are untrusted text from upstream: the HTML template autoescapes them, every value
that reaches a header or a line of the message has its whitespace and control characters
collapsed first (`one_line`), and a header value with a line break is refused outright.
Bodies are quoted-printable, so no line of paper text can pose as a MIME boundary. The message
is assembled by hand rather than with `email.message`: that library folds a long
List-Unsubscribe URL into encoded words (which breaks it) and takes most of the render time.
"""

from __future__ import annotations

import binascii
import datetime as dt
import hashlib
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from ..models import Paper
from ..store import Subscriber
from .dkim import DkimSigner
from .links import Links
from .transport import Outgoing

# Control characters (C0, DEL, C1) and line/paragraph separators: they end or garble a line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Zero-width joiners are format characters too, but scripts (Persian, Devanagari) and emoji need them.
_JOINERS = "\u200c\u200d"


def one_line(text: str | None, limit: int | None = None) -> str:
    """Text safe for one line: control characters (CR, LF, NUL, BEL, ESC...) become spaces, and
    invisible format characters (U+202E RIGHT-TO-LEFT OVERRIDE, which makes "fdp.exe" read as
    "exe.pdf", zero-width spaces) and lone surrogates are dropped."""
    value = _CONTROL.sub(" ", text or "")
    if not value.isprintable():  # rare: only text with odd spaces or format characters gets here
        value = "".join(c for c in value if c in _JOINERS or unicodedata.category(c) not in ("Cf", "Cs"))
    value = " ".join(value.split())
    if limit and len(value) > limit:
        value = value[: limit - 1].rsplit(" ", 1)[0] + "…"
    return value


@dataclass
class DigestItem:
    paper: Paper
    reasons: list[str]


def mail_host(mail_from: str) -> str:
    """The domain of the From address; Message-IDs are minted under it."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


class DigestRenderer:
    def __init__(self, links: Links, *, mail_from: str, dkim: DkimSigner | None = None):
        self.links = links
        self.mail_from = mail_from
        self.envelope_from = parseaddr(mail_from)[1]
        if not self.envelope_from or any(c in mail_from for c in "\r\n"):
            raise ValueError(f"mail_from is not an address: {mail_from!r}")
        self.host = mail_host(mail_from)
        name, _ = parseaddr(mail_from)
        self._from_header = formataddr((one_line(name), self.envelope_from), charset="utf-8")
        self.dkim = dkim
        self.env = Environment(
            loader=PackageLoader("paperradar.digest", "templates"),
            autoescape=select_autoescape(["html"], default_for_string=True),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )
        self._html = self.env.get_template("digest.html")
        self._text = self.env.get_template("digest.txt")
        self._paper_html = self.env.get_template("_paper.html")
        self._paper_text = self.env.get_template("_paper.txt")
        self._parts: dict[tuple, dict] = {}

    def _paper_part(self, p: Paper) -> dict:
        """What a paper looks like in any digest: the same for every subscriber, so made once."""
        key = (p.id, p.title, p.abstract, tuple(p.authors), tuple(p.categories), p.published)
        part = self._parts.get(key)
        if part is None:
            if len(self._parts) > 20_000:  # a long-lived process: stay bounded
                self._parts.clear()
            meta = [one_line(c) for c in p.categories[:3]] + ([p.published.isoformat()] if p.published else [])
            abstract = one_line(p.abstract, 420)
            fields = {
                "title": one_line(p.title) or "(untitled)",
                "url": self.links.paper(p),
                "authors": ", ".join(one_line(a) for a in p.authors[:6]) + (" et al." if len(p.authors) > 6 else ""),
                "meta": " · ".join(meta),
                "abstract": abstract,
                "abstract_lines": textwrap.wrap(abstract, 72, break_on_hyphens=False),
            }
            # Markup: the fragment was autoescaped when rendered; escaping it again would garble it.
            part = self._parts[key] = {
                "title": fields["title"],
                "html": Markup(self._paper_html.render(p=fields)),
                "text": self._paper_text.render(p=fields),
            }
        return part

    @property
    def from_header(self) -> str:
        return self._from_header

    def _context(self, sub: Subscriber, digest_date: dt.date, items: list[DigestItem],
                 links: Links | None = None) -> dict:
        links = links or self.links
        n = len(items)
        heading = f"{n} new paper{'s' if n != 1 else ''} for you" if n else "No new papers for you"
        top = one_line(items[0].paper.title, 90) if items else ""
        subject = one_line(f"{heading}: {top}" if top else f"{heading} today", 150)
        rows = []
        for it in items:
            more, less = links.feedback(sub.id, sub.email, it.paper.id)
            rows.append({**self._paper_part(it.paper), "reasons": [one_line(r, 200) for r in it.reasons],
                         "more": more, "less": less})
        return {
            "subject": subject,
            "heading": heading,
            "preheader": ", ".join(r["title"] for r in rows[:3])[:150],
            "date_label": f"{digest_date:%A, %d %B %Y}",
            "items": rows,
            "email": sub.email,
            "frequency": sub.frequency,
            "site_url": self.links.base,
            "manage_url": links.manage(sub.id, sub.email),
            "unsubscribe_url": links.unsubscribe(sub.id, sub.email),
        }

    def html(self, sub: Subscriber, digest_date: dt.date, items: list[DigestItem]) -> str:
        return self._html.render(self._context(sub, digest_date, items))

    def render(self, sub: Subscriber, digest_date: dt.date, items: list[DigestItem], *,
               message_id: str, date: dt.datetime) -> Outgoing:
        """The full message; the same inputs give the same bytes (resends are identical): the
        links' tokens are dated `date` too, not the moment of rendering."""
        when = date.replace(tzinfo=dt.timezone.utc) if date.tzinfo is None else date
        ctx = self._context(sub, digest_date, items, self.links.dated(when))
        boundary = "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:32]
        headers = [
            ("From", self._from_header),
            ("To", sub.email),
            ("Subject", encode_header(ctx["subject"])),
            ("Date", format_datetime(when)),
            ("Message-ID", message_id),
            ("List-Id", f"paperradar digest <digest.{self.host}>"),
            ("List-Unsubscribe", f"<{ctx['unsubscribe_url']}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ]
        data = assemble(headers, self._text.render(ctx), self._html.render(ctx), boundary)
        if self.dkim is not None:
            data = self.dkim.sign(data)
        return Outgoing(self.envelope_from, sub.email, message_id, data)


def assemble(headers: list[tuple[str, str]], text: str, html: str, boundary: str) -> bytes:
    """A multipart/alternative message from its top headers (without the MIME ones) and parts."""
    lines = [_header_line(name, value) for name, value in headers]
    lines.append(_header_line("MIME-Version", "1.0"))
    # "=_" never occurs in a quoted-printable body, so the boundary cannot collide.
    lines.append(_header_line("Content-Type", f'multipart/alternative; boundary="{boundary}"'))
    lines.append(b"\r\n")
    for subtype, body in (("plain", text), ("html", html)):
        lines.append(f"--{boundary}\r\n".encode())
        lines.append(f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode())
        lines.append(b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
        lines.append(_quoted_printable(body))
        lines.append(b"\r\n")
    lines.append(f"--{boundary}--\r\n".encode())
    return b"".join(lines)


def encode_header(value: str) -> str:
    """ASCII stays as it is (no folding needed under 998 characters); anything else becomes
    RFC 2047 encoded words, folded."""
    if value.isascii():
        return value
    return Header(value, "utf-8", header_name="Subject").encode(linesep="\r\n")


def _header_line(name: str, value: str) -> bytes:
    # The last line of defence against header injection: every value was made one line before.
    if "\n" in value.replace("\r\n ", "") or "\r" in value.replace("\r\n ", ""):
        raise ValueError(f"line break in the {name} header")
    return f"{name}: {value}\r\n".encode("ascii")


def _quoted_printable(text: str) -> bytes:
    """RFC 2045 quoted-printable, lines of at most 76 characters, CRLF line ends."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    encoded = binascii.b2a_qp("\n".join(lines).encode("utf-8"), istext=True)
    return encoded.replace(b"\n", b"\r\n")
