"""OAI-PMH ListRecords, page by page, for a caller that checkpoints after every page.

`list_pages` sends the first request with the window (set, from, until, metadataPrefix) or a
resumptionToken from a checkpoint, then follows resumptionTokens until the list is complete.
`noRecordsMatch` is an empty, complete list. `badResumptionToken` (arXiv's tokens expire at the
next UTC midnight) restarts the list from the window's `from`: records already stored are
upserted again, which changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from ..sources.arxiv_oai import FORMATS, OaiError, OaiPage, parse_list_records
from .polite import FetchError, PoliteClient

# A repository that rejects a fresh list's token this many times in a row is broken, not expiring.
MAX_RESTARTS = 3


@dataclass(frozen=True)
class Window:
    """What to harvest: an OAI set (None: everything), a date range and a metadata format."""

    set_spec: str | None = None
    from_date: str | None = None  # YYYY-MM-DD, inclusive
    until_date: str | None = None  # YYYY-MM-DD, inclusive
    fmt: str = "arXiv"

    def params(self) -> dict:
        params = {"verb": "ListRecords", "metadataPrefix": self.fmt}
        if self.set_spec:
            params["set"] = self.set_spec
        if self.from_date:
            params["from"] = self.from_date
        if self.until_date:
            params["until"] = self.until_date
        return params


@dataclass
class Page:
    """One page as the caller sees it: what it holds and the token to resume after it."""

    oai: OaiPage
    restarted: bool = False  # this page starts the list over after an expired token


def list_pages(client: PoliteClient, endpoint: str, window: Window, token: str | None = None,
               ref: str | None = None) -> Iterator[Page]:
    """Yield every page of the list; the last one has `oai.token` None."""
    if window.fmt not in FORMATS:
        raise ValueError(f"unsupported metadata format {window.fmt!r}; use one of {', '.join(FORMATS)}")
    ref = ref or window.set_spec or "all"
    params = {"verb": "ListRecords", "resumptionToken": token} if token else window.params()
    restarts, restarted = 0, False
    while True:
        try:
            page = client.fetch(endpoint, params, lambda body: parse_list_records(body, endpoint, ref))
        except OaiError as exc:
            if exc.code == "noRecordsMatch":
                yield Page(OaiPage(response_date=exc.response_date), restarted)
                return
            if exc.code == "badResumptionToken" and "resumptionToken" in params:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise FetchError(endpoint, f"resumptionToken rejected {restarts} times in a row: {exc.message}") from None
                params, restarted = window.params(), True
                continue
            raise FetchError(endpoint, str(exc)) from None
        yield Page(page, restarted)
        restarts, restarted = 0, False
        if not page.token:
            return
        params = {"verb": "ListRecords", "resumptionToken": page.token}
