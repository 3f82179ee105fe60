"""DKIM signing of outgoing digests (dkimpy), so receivers can trust From and the unsubscribe
headers. The signature covers List-Unsubscribe and List-Unsubscribe-Post: RFC 8058 requires
it for one-click unsubscribe to be honoured.
"""

from __future__ import annotations

from email.utils import parseaddr
from pathlib import Path

import dkim

from ..errors import UserError

SIGNED_HEADERS = (
    "From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type",
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id",
)


class DkimError(UserError, ValueError):
    """The key cannot be read or used."""


class DkimSigner:
    def __init__(self, private_key_pem: bytes, *, selector: str, domain: str):
        self.key = private_key_pem
        self.selector = selector.encode("ascii")
        self.domain = domain.encode("ascii")
        try:  # fail at start-up, not on the first message
            dkim.sign(b"From: a@" + self.domain + b"\r\n\r\nx\r\n", self.selector, self.domain, self.key)
        except dkim.DKIMException as e:
            raise DkimError(f"DKIM key for {domain} is unusable: {e}") from None

    def sign(self, message: bytes) -> bytes:
        """The message with a DKIM-Signature header in front (relaxed/relaxed)."""
        signature = dkim.sign(message, self.selector, self.domain, self.key,
                              canonicalize=(b"relaxed", b"relaxed"),
                              include_headers=[h.lower().encode("ascii") for h in SIGNED_HEADERS])
        return signature + message

    @classmethod
    def from_settings(cls, settings) -> "DkimSigner | None":
        if not settings.dkim_key_path:
            return None
        path = Path(settings.dkim_key_path)
        try:
            key = path.read_bytes()
        except OSError as e:
            raise DkimError(f"cannot read DKIM key {path}: {e.strerror}") from None
        domain = settings.dkim_domain or parseaddr(settings.mail_from)[1].rpartition("@")[2]
        if not domain:
            raise DkimError("no DKIM domain: set PAPERRADAR_DKIM_DOMAIN or a From address with a domain")
        return cls(key, selector=settings.dkim_selector, domain=domain)
