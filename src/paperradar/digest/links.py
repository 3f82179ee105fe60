"""The signed URLs that go into emails; the web routes verify what these mint.

Every payload names the subscriber by id and address, so a link stops working if the address
is removed, even if SQLite later reuses the id. A digest's links are dated when the digest was
planned (`dated`), not when it is built, so a resent digest is the same message byte for byte.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from ..tokens import TokenSigner


class Links:
    def __init__(self, signer: TokenSigner, public_url: str, *, at: float | None = None):
        self.signer = signer
        self.base = public_url.rstrip("/")
        self.at = at  # seconds since the epoch the tokens are dated; None: the signer's clock

    def dated(self, when: dt.datetime) -> "Links":
        """The same links with their tokens dated `when` (naive means UTC) instead of now."""
        when = when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when
        return Links(self.signer, self.base, at=when.timestamp())

    def _url(self, path: str, purpose: str, payload: dict) -> str:
        return f"{self.base}{path}?{urlencode({'t': self.signer.sign(purpose, payload, at=self.at)})}"

    def confirm(self, subscriber_id: int, email: str) -> str:
        return self._url("/confirm", "confirm", {"s": subscriber_id, "e": email})

    def manage(self, subscriber_id: int, email: str) -> str:
        return self._url("/preferences", "manage", {"s": subscriber_id, "e": email})

    def unsubscribe(self, subscriber_id: int, email: str) -> str:
        """Also the RFC 8058 one-click URL: a POST there unsubscribes, a GET shows a button."""
        return self._url("/unsubscribe", "unsubscribe", {"s": subscriber_id, "e": email})

    def feedback(self, subscriber_id: int, email: str, paper_id: str) -> tuple[str, str]:
        """("more like this" URL, "less like this" URL). One token signs subscriber and paper;
        the direction is a plain parameter, confirmed by the POST on the page it opens."""
        url = self._url("/feedback", "feedback", {"s": subscriber_id, "e": email, "p": paper_id})
        return f"{url}&v=1", f"{url}&v=-1"

    def paper(self, paper) -> str:
        """The paper's abstract page if it is a plain http(s) URL, else our own page for it.

        Upstream links are data: a `javascript:` URL must never become an href."""
        url = paper.abs_url or ""
        if url.startswith(("https://", "http://")) and not any(c in url for c in "\r\n\"'<> "):
            return url
        return f"{self.base}/papers/{quote(paper.id, safe='/')}"
