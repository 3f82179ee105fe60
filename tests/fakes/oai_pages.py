"""Synthetic OAI-PMH ListRecords pages in arXiv's `arXiv` format, for lists too long to hand-write.

Used where a test or benchmark needs many pages or many records (a killed-and-resumed harvest,
pacing, the per-page overhead benchmark); the hand-written pages in fixtures/oai cover the
formats' details.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

_HEAD = ('<?xml version="1.0" encoding="UTF-8"?>\n<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">\n'
         "<responseDate>{date}</responseDate>\n<request verb=\"ListRecords\">fake</request>\n<ListRecords>\n")
_RECORD = ('<record><header><identifier>oai:arXiv.org:{id}</identifier><datestamp>2024-01-05</datestamp>'
           "<setSpec>cs</setSpec></header><metadata>"
           '<arXiv xmlns="http://arxiv.org/OAI/arXiv/"><id>{id}</id><created>2024-01-0{day}</created>'
           "<authors><author><keyname>Author{n}</keyname><forenames>A.</forenames></author>"
           "<author><keyname>M\\\"uller</keyname><forenames>B.</forenames></author></authors>"
           "<title>{title}</title><categories>cs.LG stat.ML</categories><abstract>{abstract}</abstract>"
           "</arXiv></metadata></record>\n")


def record_id(n: int) -> str:
    return f"2401.{n:05d}"


def arxiv_page(first: int, count: int, token: str | None, cursor: int, total: int,
               date: str = "2024-01-10T03:00:00Z", abstract_words: int = 150) -> bytes:
    """One page holding records first .. first+count-1 (ids 2401.NNNNN)."""
    parts = [_HEAD.format(date=date)]
    filler = " ".join(f"word{i % 97}" for i in range(abstract_words))
    for n in range(first, first + count):
        parts.append(_RECORD.format(id=record_id(n), n=n, day=1 + n % 9,
                                    title=escape(f"Synthetic paper number {n} on learning"),
                                    abstract=escape(f"Paper {n}: {filler}")))
    attrs = f'cursor="{cursor}" completeListSize="{total}"'
    parts.append(f"<resumptionToken {attrs}>{token}</resumptionToken>\n" if token
                 else f"<resumptionToken {attrs}/>\n")
    parts.append("</ListRecords>\n</OAI-PMH>\n")
    return "".join(parts).encode()


def arxiv_list(records: int, per_page: int, name: str = "synthetic") -> list[bytes]:
    """A whole list split into pages, tokens `NAME|CURSOR`."""
    pages = []
    for cursor in range(0, records, per_page):
        count = min(per_page, records - cursor)
        token = f"{name}|{cursor + count}" if cursor + count < records else None
        pages.append(arxiv_page(cursor + 1, count, token, cursor, records))
    return pages
