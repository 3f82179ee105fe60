"""Signed, expiring tokens for the links in emails (confirm, manage, unsubscribe, feedback).

Each purpose has its own salt, so a token minted for one purpose is worthless for another
(a feedback link cannot unsubscribe anyone). Key rotation: `secrets` is a list, newest first;
tokens are signed with the first and accepted when any of them verifies, so old links keep
working until the old secret is dropped from the list.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.timed import TimestampSigner

DAY = 24 * 3600

# How long a link stays valid, per purpose. Unsubscribe links must keep working in old emails
# (RFC 8058 mail is read months later); confirmation links are short-lived on purpose.
MAX_AGE: dict[str, int] = {
    "confirm": 3 * DAY,
    "manage": 180 * DAY,
    "unsubscribe": 400 * DAY,
    "feedback": 90 * DAY,
    "login": 15 * 60,  # the sign-in link; `login_link_minutes` overrides it
}


class BadToken(ValueError):
    """The token is forged, damaged, for another purpose, or signed with an unknown key."""


class ExpiredToken(BadToken):
    """The token was genuine but is older than its purpose's max age."""


class TokenSigner:
    """Signs and verifies JSON payloads per purpose.

    `clock` returns seconds since the epoch; tests pass a fixed one to mint old tokens.
    """

    def __init__(
        self,
        secrets: Sequence[str],
        *,
        max_age: dict[str, int] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        secrets = [s for s in secrets if s]
        if not secrets:
            raise ValueError("TokenSigner needs at least one secret key")
        self.max_age = {**MAX_AGE, **(max_age or {})}
        # itsdangerous signs with the LAST key of the list and accepts any: reverse ours.
        self._keys = list(reversed(secrets))
        clocked = type("ClockedSigner", (TimestampSigner,), {"get_timestamp": lambda _self: int(clock())})
        self._serializers = {
            purpose: URLSafeTimedSerializer(self._keys, salt=f"paperradar.{purpose}", signer=clocked)
            for purpose in self.max_age
        }
        self._clock = clock

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        try:
            return self._serializers[purpose]
        except KeyError:
            raise ValueError(f"unknown token purpose {purpose!r}") from None

    def sign(self, purpose: str, payload: Any, *, at: float | None = None) -> str:
        """A token for `payload`, dated now, or `at` (seconds since the epoch) when given: the
        same payload dated the same moment always gives the same token, so an email built
        again (a resend) carries the same links, byte for byte."""
        serializer = self._serializer(purpose)
        if at is None:
            return serializer.dumps(payload)
        signer = serializer.make_signer()
        signer.get_timestamp = lambda: int(at)  # this one signer instance only: thread-safe
        return signer.sign(serializer.dump_payload(payload)).decode("ascii")

    def verify(self, purpose: str, token: str) -> Any:
        """The payload, or BadToken / ExpiredToken with a one-line reason."""
        serializer = self._serializer(purpose)
        try:
            return serializer.loads(token, max_age=self.max_age[purpose])
        except SignatureExpired:
            raise ExpiredToken(f"{purpose} link has expired") from None
        except BadSignature:
            raise BadToken(f"{purpose} link is not valid") from None


def signer_from_settings(settings, store) -> TokenSigner:
    """The current data-dir secret first, then any previous ones still accepted."""
    return TokenSigner([settings.secret_key(store), *settings.previous_secret_keys],
                       max_age={"login": int(settings.login_link_minutes * 60)})
