"""Papers and their sightings: idempotent, deduplicating batch upsert and reads.

A paper coming in is matched to a stored one by id, arXiv id, DOI, then normalized title, in
that order. Matching papers are merged; a row is only rewritten (and its `seq` bumped, which
tells the indexes to catch up) when something actually changed.

The change feed: `seq` is a position that readers follow (`changed_since(seq)`, `max_seq`);
an index remembers the last seq it applied and asks for what came after. That is only safe if
seqs become visible in order: a reader that sees seq N must already see every seq below N, or
it moves past a commit that lands later and never looks back (two PostgreSQL ingests assigned
`max(seq)+1` in parallel: they shared values, committed out of order, and the keyword index
missed 50 papers for good). So every transaction that assigns seqs first takes the feed lock
(`feed_lock`) and holds it to its commit: on SQLite that is the write lock every writer holds
from BEGIN (`db.writing`), on PostgreSQL a transaction-level advisory lock. Writers of the
feed therefore run one after another, each reads `max(seq)` after the previous one committed,
and positions are gap-free and commit in order. The lock is taken before the lookup of stored
papers, so two ingests of one paper cannot both find it missing and both insert it (PostgreSQL's
`UniqueViolation papers_pkey`): the second sees the first's row and merges, as on SQLite.
A sequence with a visibility horizon would let writers overlap, but ingests are short batches
and one writer at a time is what SQLite does anyway; docs/store.md.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Iterable, Iterator

from sqlalchemy import Connection, Date, DateTime, Table, bindparam, func, insert, or_, select, update

from ..models import Paper, Sighting
from ..normalize import title_key
from .db import advisory_lock
from .schema import papers, sightings

FEED_LOCK = 0x70617065_72000002  # advisory lock key: assigning change-feed positions (seq)

_CHUNK = 500


@dataclass
class UpsertResult:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    new_sightings: int = 0
    ids: list[str] = field(default_factory=list)  # stored id of each incoming paper, in order
    new_ids: list[str] = field(default_factory=list)  # ids of the papers this batch added


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)


# json.dumps(x, **options) without dumps()'s per-call setup; the output is the same.
_json_sorted = json.JSONEncoder(sort_keys=True).encode


def _json_strings(items: list[str], encode=json.encoder.encode_basestring_ascii) -> str:
    """json.dumps of a list of strings, character for character, at a third of the cost (one
    of the few things the snapshot importer does per author)."""
    try:
        return "[" + ", ".join(map(encode, items)) + "]"
    except TypeError:  # not all strings: let json say what it makes of them
        return json.dumps(items, ensure_ascii=encode is json.encoder.encode_basestring_ascii)


@dataclass(slots=True)
class PaperRow:
    """A paper already turned into its `papers` row (`paper_row`), with its sightings.

    What a snapshot parser prepares in its own process, so the importing process stores a new
    paper as it comes instead of rebuilding its row (JSON fields, title key, content hash: a
    third of the importer's CPU). `upsert` takes these or Papers; a Paper is only rebuilt from
    the row when a stored paper matches it and the two must be merged.
    """

    row: dict
    sightings: list[Sighting]
    paper: Paper | None = None

    def as_paper(self) -> Paper:
        if self.paper is None:
            self.paper = _row_paper(self.row, list(self.sightings))
        return self.paper


def paper_row(p: Paper) -> dict:
    """The `papers` columns that describe a paper (the store adds seq and timestamps)."""
    return {
        "id": p.id,
        "arxiv_id": p.arxiv_id,
        "version": p.version,
        "title": p.title,
        "title_key": title_key(p.title),
        "abstract": p.abstract,
        "authors": _json_strings(p.authors, json.encoder.encode_basestring),
        "categories": _json_strings(p.categories),
        "primary_category": p.primary_category,
        "published": p.published,
        "updated": p.updated,
        "doi": p.doi,
        "journal_ref": p.journal_ref,
        "comments": p.comments,
        "license": p.license,
        "links": _json_sorted(p.links) if p.links else "{}",
        "withdrawn": p.withdrawn,
        "content_hash": p.content_hash(),
    }


def to_paper(row, sights: list[Sighting] | None = None) -> Paper:
    return _row_paper(row._mapping, sights)


def _row_paper(m, sights: list[Sighting] | None = None) -> Paper:
    return Paper(
        id=m["id"],
        arxiv_id=m["arxiv_id"],
        version=m["version"],
        title=m["title"],
        abstract=m["abstract"],
        authors=json.loads(m["authors"]),
        categories=json.loads(m["categories"]),
        primary_category=m["primary_category"],
        published=m["published"],
        updated=m["updated"],
        doi=m["doi"],
        journal_ref=m["journal_ref"],
        comments=m["comments"],
        license=m["license"],
        links=json.loads(m["links"]),
        withdrawn=bool(m["withdrawn"]),
        sightings=sights or [],
        first_seen_at=m.get("first_seen_at"),
    )


def _merge(old: Paper, new: Paper) -> Paper:
    """The stored paper updated with what a newer or richer record brings.

    Text fields follow the record with the higher version (a listing page has none, so it never
    overwrites arXiv metadata); empty fields never erase known ones. A text that is the stored
    one cut short (a truncated page or file) never replaces it, unless the record is a later
    version: arXiv's formats cannot arrive cut without being malformed, and a v2 may well drop
    the last sentence of its abstract.
    """
    newer = _is_newer(old, new)
    later = newer and _is_later(old, new)

    def pick(a, b):
        if newer:
            return b or a
        return a or b

    def pick_text(a, b):
        if newer and b and b != a and (later or not _cut_short(b, a)):
            return b
        return a or b

    return old.replace(
        arxiv_id=old.arxiv_id or new.arxiv_id,
        version=max(old.version or 0, new.version or 0) or None,
        title=pick_text(old.title, new.title),
        abstract=pick_text(old.abstract, new.abstract),
        authors=pick(old.authors, new.authors),
        categories=pick(old.categories, new.categories),
        primary_category=pick(old.primary_category, new.primary_category),
        published=min(filter(None, [old.published, new.published]), default=None),
        updated=max(filter(None, [old.updated, new.updated]), default=None),
        doi=old.doi or new.doi,
        journal_ref=pick_text(old.journal_ref, new.journal_ref),
        comments=pick_text(old.comments, new.comments),
        license=pick(old.license, new.license),
        links={**old.links, **new.links} if newer else {**new.links, **old.links},
        withdrawn=new.withdrawn if newer else old.withdrawn,
    )


def _cut_short(new: str, old: str | None) -> bool:
    """Whether `new` is a strict prefix of `old`, whitespace runs counting as one space."""
    if not old:
        return False
    if len(new) < len(old) and old.startswith(new):
        return True
    new, old = " ".join(new.split()), " ".join(old.split())
    return len(new) < len(old) and old.startswith(new)


def _is_newer(old: Paper, new: Paper) -> bool:
    """Whether `new` describes the same or a later version than `old`.

    Versions decide when both records carry one. arXiv's OAI `arXiv` format has no version
    number, only the latest version's date, so without both versions the `updated` dates decide;
    a record that knows neither (a listing page, a Hugging Face daily list) never outranks one
    that knows either. A record whose text may be cut short (`Paper.partial`) never does: it
    only fills what is empty.
    """
    if new.partial:
        return False
    if new.version and old.version:
        return new.version >= old.version
    if new.updated and old.updated:
        return new.updated >= old.updated
    new_dated, old_dated = bool(new.version or new.updated), bool(old.version or old.updated)
    return new_dated or not old_dated


def _is_later(old: Paper, new: Paper) -> bool:
    """Whether `new` is a strictly later version than `old`, by version number or else by date."""
    if new.version and old.version:
        return new.version > old.version
    return bool(new.updated and old.updated and new.updated > old.updated)


def _lookup(conn: Connection, batch: list[PaperRow]) -> dict[tuple[str, str], Paper | PaperRow]:
    """Stored papers that any incoming paper could match, keyed by (kind, value).

    First the ids of matching rows (all four keys at once, a slice of the batch per query),
    then those rows; in a bulk import most papers are new and the second step has little to
    read. Where two stored papers share a key, the older one wins.
    """
    ids: set[str] = set()
    for i in range(0, len(batch), _CHUNK // 2):
        part = [item.row for item in batch[i : i + _CHUNK // 2]]
        wanted = {kind: sorted({r[kind] for r in part if r[kind]}) for kind in _MATCH_KINDS}
        ids.update(_matching_ids(conn, wanted))
    rows = []
    ordered = sorted(ids)
    for i in range(0, len(ordered), _CHUNK):
        rows.extend(conn.execute(select(papers).where(papers.c.id.in_(ordered[i : i + _CHUNK]))))
    found: dict[tuple[str, str], Paper | PaperRow] = {}
    for row in sorted(rows, key=lambda r: r.seq):
        p = to_paper(row)
        for key in _keys(row._mapping):
            found.setdefault(key, p)
    return found


def _matching_ids(conn: Connection, wanted: dict[str, list[str]]) -> list[str]:
    """Ids of stored papers whose column `kind` holds one of `wanted[kind]`, for any kind."""
    wanted = {kind: values for kind, values in wanted.items() if values}
    if not wanted:
        return []
    if conn.dialect.name != "sqlite":
        where = or_(*(papers.c[kind].in_(values) for kind, values in wanted.items()))
        return list(conn.execute(select(papers.c.id).where(where)).scalars())
    # SQLAlchemy's expanding IN costs more than SQLite's index probes here, so on SQLite the
    # statement is spelled out: identifiers come from the table definition, values are
    # parameters, as ever.
    clauses = [f"{papers.c[kind].name} IN ({', '.join('?' * len(values))})" for kind, values in wanted.items()]
    sql = f"SELECT {papers.c.id.name} FROM {papers.name} WHERE {' OR '.join(clauses)}"
    params = tuple(v for values in wanted.values() for v in values)
    return [r[0] for r in conn.exec_driver_sql(sql, params)]


_MATCH_KINDS = ("id", "arxiv_id", "doi", "title_key")  # in the order they decide a match


def _keys(row: dict) -> list[tuple[str, str]]:
    return [(kind, row[kind]) for kind in _MATCH_KINDS if row[kind]]


def _match(index: dict, row: dict) -> Paper | PaperRow | None:
    for kind in _MATCH_KINDS:
        value = row[kind]
        if value and (kind, value) in index:
            return index[kind, value]
    return None


def upsert(conn: Connection, incoming: Iterable[Paper | PaperRow]) -> UpsertResult:
    """Insert or merge normalized papers; re-running the same input changes nothing."""
    batch = [x if isinstance(x, PaperRow) else PaperRow(paper_row(x), x.sightings, x) for x in incoming]
    result = UpsertResult()
    if not batch:
        return result
    feed_lock(conn)
    index = _lookup(conn, batch)
    seq = max_seq(conn)
    stamp = now()
    # id -> (the paper as it will be stored, is_new, the stored paper before this batch)
    pending: dict[str, tuple[PaperRow, bool, Paper | None]] = {}
    sights: list[dict] = []
    for item in batch:
        old = _match(index, item.row)
        if old is None:  # most of a bulk import: the prepared row is stored as it is
            merged, original = item, None
        else:
            old_paper = old.as_paper() if isinstance(old, PaperRow) else old
            p = _merge(old_paper, item.as_paper())
            merged = PaperRow(paper_row(p), p.sightings, p)
            if old_paper.id in pending:  # a duplicate inside this batch: counted once, as the first
                original = pending[old_paper.id][2]
                result.unchanged += 1
            else:
                original = old_paper
        pid = merged.row["id"]
        pending[pid] = (merged, original is None, original)
        for key in _keys(merged.row):
            index[key] = merged
        result.ids.append(pid)
        for s in item.sightings:
            sights.append({"paper_id": pid, "source": s.source, "ref": s.ref,
                           "position": s.position, "listed": s.listed, "seen_at": stamp})

    inserts, updates = [], []
    for merged, is_new, original in pending.values():
        row = merged.row
        if is_new:
            seq += 1
            inserts.append({**row, "first_seen_at": stamp, "changed_at": stamp, "seq": seq})
            result.added += 1
            result.new_ids.append(row["id"])
        elif row != paper_row(original):
            seq += 1
            updates.append({**row, "changed_at": stamp, "seq": seq})
            result.updated += 1
        else:
            result.unchanged += 1
    if inserts:
        bulk_insert(conn, papers, inserts)
    for row in updates:
        conn.execute(update(papers).where(papers.c.id == row["id"]).values(**row))
    result.new_sightings = _add_sightings(conn, sights, set(result.new_ids))
    return result


def bulk_insert(conn: Connection, table: Table, rows: list[dict]) -> None:
    """`conn.execute(insert(table), rows)`, minus SQLAlchemy's per-row overhead on SQLite.

    On SQLite the statement Core compiles is handed to the driver's executemany with each value
    converted by the column type's own bind processor, so what is stored is identical; it
    roughly halves the cost of a snapshot import. Other databases take the plain Core path.
    """
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(rows[0]))
    names = compiled.positiontup
    getter = itemgetter(*names)
    procs = []
    for i, name in enumerate(names):
        column_type = table.c[name].type
        proc = column_type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
        if proc is not None:
            # A date's string is worked out once per distinct value: a batch's rows share one
            # timestamp and a few hundred publication days.
            procs.append((i, _memoized(proc) if isinstance(column_type, (Date, DateTime)) else proc))
    params = [getter(row) for row in rows] if len(names) > 1 else [(row[names[0]],) for row in rows]
    if procs:
        for n, values in enumerate(params):
            values = list(values)
            for i, proc in procs:
                values[i] = proc(values[i])
            params[n] = tuple(values)
    conn.exec_driver_sql(compiled.string, params)


def _memoized(proc):
    done: dict = {}

    def process(value):
        try:
            return done[value]
        except KeyError:
            out = done[value] = proc(value)
            return out

    return process


def _add_sightings(conn: Connection, rows: list[dict], new_papers: set[str] = frozenset()) -> int:
    """Insert the sightings not stored yet; papers added by this batch have none to look up."""
    if not rows:
        return 0
    unique = {(r["paper_id"], r["source"], r["ref"], r["position"]): r for r in rows}
    have = set()
    ids = sorted({r["paper_id"] for r in unique.values()} - new_papers)
    for i in range(0, len(ids), _CHUNK):
        q = select(sightings.c.paper_id, sightings.c.source, sightings.c.ref, sightings.c.position)
        have.update(tuple(r) for r in conn.execute(q.where(sightings.c.paper_id.in_(ids[i : i + _CHUNK]))))
    fresh = [r for k, r in unique.items() if k not in have]
    if fresh:
        bulk_insert(conn, sightings, fresh)
    return len(fresh)


def get(conn: Connection, paper_id: str) -> Paper | None:
    row = conn.execute(select(papers).where(papers.c.id == paper_id)).first()
    if row is None:
        row = conn.execute(select(papers).where(papers.c.arxiv_id == paper_id)).first()
    if row is None:
        return None
    q = select(sightings).where(sightings.c.paper_id == row.id).order_by(sightings.c.seen_at, sightings.c.ref, sightings.c.position)
    sights = [Sighting(r.source, r.ref, r.position, r.listed) for r in conn.execute(q)]
    return to_paper(row, sights)


# Built once: every page of results runs it, and building it each time cost a third of the call.
_BY_IDS = select(papers).where(papers.c.id.in_(bindparam("ids", expanding=True)))


def get_many(conn: Connection, ids: list[str]) -> dict[str, Paper]:
    out: dict[str, Paper] = {}
    for i in range(0, len(ids), _CHUNK):
        for row in conn.execute(_BY_IDS, {"ids": ids[i : i + _CHUNK]}).all():
            out[row.id] = to_paper(row)
    return out


def latest(conn: Connection, limit: int, offset: int = 0) -> list[Paper]:
    """Newest first: by first-seen time, then publication date, then id for a stable order."""
    q = (select(papers).where(papers.c.withdrawn.is_(False))
         .order_by(papers.c.first_seen_at.desc(), papers.c.published.desc(), papers.c.seq.asc())
         .limit(limit).offset(offset))
    return [to_paper(r) for r in conn.execute(q)]


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(papers)).scalar() or 0


def changed_since(conn: Connection, seq: int, batch: int = 2000) -> Iterator[tuple[int, Paper]]:
    """Every paper changed after `seq`, in seq order, with its seq: what an index must catch up on."""
    while True:
        q = select(papers).where(papers.c.seq > seq).order_by(papers.c.seq).limit(batch)
        rows = conn.execute(q).all()
        if not rows:
            return
        for r in rows:
            yield r.seq, to_paper(r)
        seq = rows[-1].seq


def max_seq(conn: Connection) -> int:
    return conn.execute(select(func.max(papers.c.seq))).scalar() or 0


def feed_lock(conn: Connection) -> None:
    """Wait for the right to assign seqs, held until this transaction ends (module docstring).
    Call it before reading anything the writes depend on, including `max(seq)`."""
    advisory_lock(conn, FEED_LOCK)


def mark_withdrawn(conn: Connection, arxiv_ids: Iterable[str]) -> int:
    """Flag the stored papers with these arXiv ids as withdrawn; returns how many changed."""
    wanted = sorted(set(arxiv_ids))
    stamp, changed = now(), 0
    feed_lock(conn)
    seq = max_seq(conn)
    for i in range(0, len(wanted), _CHUNK):
        q = (select(papers.c.id).where(papers.c.arxiv_id.in_(wanted[i : i + _CHUNK]))
             .where(papers.c.withdrawn.is_(False)).order_by(papers.c.id))
        for paper_id in conn.execute(q).scalars().all():
            seq += 1
            conn.execute(update(papers).where(papers.c.id == paper_id)
                         .values(withdrawn=True, changed_at=stamp, seq=seq))
            changed += 1
    return changed


def first_seen_between(conn: Connection, after: dt.datetime, until: dt.datetime,
                       published_since: dt.date | None = None) -> list[Paper]:
    """Papers that entered the store in (after, until]: what a digest calls new.

    A new version of a stored paper keeps its first_seen_at, so it is not new again. With
    `published_since`, papers whose first version is older (a backfill of old papers) are left
    out; papers without a publication date are kept.
    """
    q = select(papers).where(papers.c.first_seen_at > after, papers.c.first_seen_at <= until,
                             papers.c.withdrawn.is_(False))
    if published_since is not None:
        q = q.where(or_(papers.c.published.is_(None), papers.c.published >= published_since))
    return [to_paper(r) for r in conn.execute(q.order_by(papers.c.first_seen_at, papers.c.seq))]


def all_titles(conn: Connection) -> list[Paper]:
    """Every paper's id and title only (cheap), for mapping judged titles to ids."""
    return [Paper(id=r.id, title=r.title) for r in conn.execute(select(papers.c.id, papers.c.title))]
