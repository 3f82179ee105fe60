"""Who may sign in, and the emailed sign-in links.

Sign-up policy (setting `signup`): `open` (anyone), `invite` (only addresses an admin added)
or `domain:example.org` (addresses of that domain, plus invited ones). A link is a signed token
naming the account and its current `login_nonce`: it expires after `login_link_minutes` and
works once, because signing in replaces the nonce.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from ..errors import UserError
from ..store import Account
from ..tokens import BadToken, TokenSigner

HANDLE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$")
RESERVED = {"admin", "api", "paperradar", "root", "system", "anonymous"}


def admits(policy: str, email: str, account: Account | None) -> bool:
    """Whether `email` may sign in (and so have an account) under the policy."""
    if account is not None:
        return account.status == "active"
    if policy == "open":
        return True
    if policy.startswith("domain:"):
        return email.rsplit("@", 1)[-1] == policy[7:].lower()
    return False  # invite: only existing accounts


def check_handle(handle: str) -> str:
    handle = (handle or "").strip()
    if not HANDLE.match(handle):
        raise UserError("a handle is 2-32 letters, digits, - or _, starting with a letter or digit")
    if handle.lower() in RESERVED:
        raise UserError(f"the handle {handle!r} is reserved; choose another")
    return handle


class LoginLinks:
    def __init__(self, signer: TokenSigner, public_url: str):
        self.signer = signer
        self.base = public_url.rstrip("/")

    def url(self, account: Account) -> str:
        token = self.signer.sign("login", {"a": account.id, "n": account.login_nonce})
        return f"{self.base}/login/verify?{urlencode({'t': token})}"

    def read(self, token: str) -> tuple[int, str]:
        """(account id, nonce) of a genuine, unexpired link; BadToken/ExpiredToken otherwise."""
        payload = self.signer.verify("login", token or "")
        try:
            return int(payload["a"]), str(payload["n"])
        except (KeyError, TypeError, ValueError):
            raise BadToken("login link is not valid") from None
