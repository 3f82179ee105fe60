"""Engine creation, write transactions and migrations: SQLite (WAL) by default, PostgreSQL by URL.

Concurrency between processes is settled here and in the entity modules, in SQL: on SQLite a
writer holds the database's write lock from BEGIN (`writing`); on PostgreSQL transaction-level
advisory locks (`advisory_lock`) serialise what must happen one at a time across processes
(migrations, assigning change-feed positions: papers.py), and upserts settle the rest.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, event

MIGRATIONS = Path(__file__).parent / "migrations"
READ_CACHE_KIB = 64 * 1024
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for another's lock before "database is locked"
# Execution option that `writing()` sets: this transaction will write, so on SQLite it begins
# with BEGIN IMMEDIATE (the write lock) instead of a deferred BEGIN.
WRITES = "paperradar_writes"
# Connections kept per process: the web app runs its sync endpoints on a threadpool of 40
# (anyio's default), plus the background index follower and the query-embedding threads. A
# smaller pool made requests past it open (and on SQLite, re-PRAGMA) a connection each time.
POOL_SIZE = 40
POOL_OVERFLOW = 10
# Keys of PostgreSQL advisory locks (one 64-bit namespace per database; any constant will do
# as long as nothing else in the database uses it).
MIGRATE_LOCK = 0x70617065_72000001  # "paper" + 1: schema upgrades, one process at a time


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # The driver's own transaction handling BEGINs only before the first INSERT/UPDATE,
            # so a transaction's reads (papers.upsert's lookups and max(seq)) ran before the
            # write lock, and a concurrent writer could insert the same paper in between. We
            # turn it off and BEGIN ourselves (`_sqlite_begin`; SQLAlchemy's pysqlite recipe).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            # Takes effect only when the file is created (an existing database keeps its size).
            # 16 KiB pages instead of 4 suit ~1.5 KB paper rows: a million-paper snapshot import
            # took 107/115/128 us of CPU per paper against 122/124 us with 4 KiB pages
            # (bench/import.py; the machine's noise is of the same order), and fetching 20
            # random papers of a million was no slower (1.07 against 1.02 ms).
            cur.execute("PRAGMA page_size=16384")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            # 64 MiB of page cache (default 2 MiB): with the default, fetching 20 random papers
            # of a million re-read the id index's inner pages each time, 3.7 ms against 1.0 ms.
            cur.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Connection):
            # A writer takes the write lock at BEGIN, waiting up to the busy timeout for another
            # writer to commit, so everything it reads is still true when it writes. Reads keep a
            # deferred BEGIN (one consistent snapshot, never the write lock): in WAL mode they
            # neither wait for writers nor make them wait.
            writes = conn.get_execution_options().get(WRITES)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def advisory_lock(conn: Connection, key: int) -> None:
    """On PostgreSQL, wait for the transaction-level advisory lock `key`, held until this
    transaction commits or rolls back; nothing on SQLite, where a writer already holds the
    whole database's write lock (`writing`)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One transaction that will write: committed at the end, rolled back on an exception.

    On SQLite it holds the database's write lock from its first statement (BEGIN IMMEDIATE), so
    concurrent writers (threads or processes) run one after another; PostgreSQL is unchanged.
    """
    with engine.connect() as conn:
        conn.execution_options(**{WRITES: True})
        with conn.begin():
            yield conn


@dataclass(frozen=True)
class Schema:
    current: frozenset[str]  # the database's revision(s); empty for an empty database
    heads: frozenset[str]  # what this version of paperradar needs
    known: frozenset[str]  # every revision this version knows

    @property
    def up_to_date(self) -> bool:
        return self.current == self.heads


def _alembic() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def schema(engine: Engine) -> Schema:
    """Where the database's schema stands against this version's migrations (reads only)."""
    scripts = ScriptDirectory.from_config(_alembic())
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_heads()
    return Schema(frozenset(current), frozenset(scripts.get_heads()),
                  frozenset(rev.revision for rev in scripts.walk_revisions()))


def migrate(engine: Engine) -> frozenset[str] | None:
    """Bring the schema to the newest revision; the revision(s) it upgraded from, or None when it
    was already there.

    An up-to-date schema is only read (no write lock: a command started during a long import
    does not wait for it, and a read-only database still opens). An upgrade runs under the write
    lock (SQLite) or an advisory lock (PostgreSQL, whose DDL is transactional: the whole upgrade
    commits at once), so a second process migrating at the same time waits, looks again and
    finds nothing to do (without the lock both created `alembic_version` and one failed)."""
    cfg = _alembic()
    if schema(engine).up_to_date:
        return None
    with writing(engine) as conn:
        advisory_lock(conn, MIGRATE_LOCK)
        before = frozenset(MigrationContext.configure(conn).get_current_heads())
        if before == frozenset(ScriptDirectory.from_config(cfg).get_heads()):
            return None  # another process upgraded it while we waited
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
    return before


def dialect_insert(conn: Connection, table: Table):
    """`INSERT` of the connection's dialect, which has `on_conflict_do_nothing/update`: SQLite and
    PostgreSQL both settle a race on a unique key inside the statement, so callers insert
    first and let the constraint decide instead of looking up first (a check-then-insert
    loses to a concurrent writer)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
