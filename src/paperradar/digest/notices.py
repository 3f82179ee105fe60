"""Transactional emails: "confirm your address", "already subscribed" and the sign-in link.

They go straight to the transport (no outbox): if one is lost the person simply asks again.
"""

from __future__ import annotations

import datetime as dt
import secrets

from email.utils import format_datetime

from ..store import Subscriber
from .render import DigestRenderer, assemble, encode_header
from .transport import Outgoing


class Notices:
    def __init__(self, renderer: DigestRenderer):
        self.renderer = renderer
        self.links = renderer.links
        self.env = renderer.env

    def _message(self, to: str, subject: str, template: str, ctx: dict) -> Outgoing:
        message_id = f"<{template}-{secrets.token_hex(12)}@{self.renderer.host}>"
        headers = [
            ("From", self.renderer.from_header),
            ("To", to),
            ("Subject", encode_header(subject)),
            ("Date", format_datetime(dt.datetime.now(dt.timezone.utc))),
            ("Message-ID", message_id),
            ("Auto-Submitted", "auto-generated"),
        ]
        ctx = {"email": to, **ctx}
        text = self.env.get_template(f"{template}.txt").render(ctx)
        html = self.env.get_template(f"{template}.html").render(ctx)
        data = assemble(headers, text, html, "=_" + secrets.token_hex(16))
        if self.renderer.dkim is not None:
            data = self.renderer.dkim.sign(data)
        return Outgoing(self.renderer.envelope_from, to, message_id, data)

    def confirmation(self, sub: Subscriber) -> Outgoing:
        return self._message(sub.email, "Confirm your paperradar digest", "confirm",
                             {"confirm_url": self.links.confirm(sub.id, sub.email), "frequency": sub.frequency})

    def already_subscribed(self, sub: Subscriber) -> Outgoing:
        return self._message(sub.email, "You are already subscribed to paperradar", "notice",
                             {"manage_url": self.links.manage(sub.id, sub.email), "frequency": sub.frequency})

    def sign_in(self, email: str, url: str, minutes: float) -> Outgoing:
        return self._message(email, "Your paperradar sign-in link", "sign_in", {"url": url, "minutes": int(minutes)})
