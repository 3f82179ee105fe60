"""Settings: one documented table, read from the environment (PAPERRADAR_*) or passed in.

Nothing deep inside the package reads the environment; `Settings` is built once at the edge
(CLI, web app factory, tests) and handed down.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .secret_key import load as load_secret_key


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERRADAR_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the database, indexes, secret and outbox live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in the data dir.")
    host: str = Field("127.0.0.1", description="Address the web server binds.")
    port: int = Field(8000, description="Port the web server binds.")
    workers: int = Field(0, ge=0, description="Web processes `serve` runs on its one port (each with its own index replicas, following the store's changes); 0: one per available core. 1 serves from a single process.")
    base_url: str | None = Field(None, description="Public URL used in emails and feeds; default http://HOST:PORT.")
    page_size: int = Field(20, description="Papers per page on listing pages.")
    embed_model: str = Field("all-MiniLM-L6-v2", description="Embedding model (all-MiniLM-L6-v2 or all-mpnet-base-v2). After a change, search keeps the vectors it has until `paperradar reembed` (or the worker) has embedded every paper with the new one, then switches.")
    embed_int8: bool = Field(False, description="Use the int8-quantized model: about 2x faster ingest, top-10 overlap 0.913 with fp32 on the demo corpus (a change is a change of model: `paperradar reembed`).")
    query_int8: bool = Field(True, description="Embed search queries with an int8-quantized model even when papers are fp32: 3x faster per query, cosine >= 0.98 to the fp32 query vector (docs/search.md). Needs no reindex.")
    models_dir: Path | None = Field(None, description="Where built model graphs are cached; default DATA_DIR/models.")
    search_threads: int = Field(1, ge=1, le=64, description="Threads per web process that search, find similar papers, derive the lists and render those pages. Their work holds Python's lock most of the time, so more threads on one core only share it: at 8 concurrent searches, 40 threads cost 50% more CPU per request than 1 (bench/cpu_per_request.py). Raise it when the database is on another machine and requests mostly wait for it.")
    follow_interval_s: float = Field(0.5, ge=0, description="Seconds between a running server's looks at the store's change feed: papers another process committed become searchable (keyword, meaning, similar) within about this long (docs/store.md); 0 turns following off.")
    index_lock_wait_s: float = Field(60.0, ge=0, description="Seconds a command waits for another process to finish writing a search index before going on without it (the papers are stored; the index catches up at the next sync).")
    smtp_url: str | None = Field(None, description="smtp://user:pass@host:port or smtps://...; unset writes .eml files to DATA_DIR/outbox.")
    mail_from: str = Field("paperradar <radar@localhost>", description="From header of digest emails.")
    oai_endpoint: str = Field("https://oaipmh.arxiv.org/oai", description="arXiv OAI-PMH base URL that `harvest arxiv` and `update` ask.")
    arxiv_api_endpoint: str = Field("https://export.arxiv.org/api/query", description="arXiv API (Atom) URL that `add` asks for ids.")
    harvest_sets: str = Field("cs", description="Space-separated arXiv categories or OAI sets `update` harvests (e.g. \"cs.LG cs.CV stat.ML\").")
    harvest_format: str = Field("arXiv", description="OAI metadataPrefix `update` harvests: arXiv (parsed authors) or arXivRaw (version history).")
    harvest_pace_s: float = Field(3.0, description="Seconds between the end of one arXiv response and the next request (arXiv asks for 3).")
    harvest_retries: int = Field(5, description="Retries per request after a failure (connection drop, 5xx, 503 Retry-After, malformed page).")
    harvest_backoff_s: float = Field(5.0, description="First retry delay after a failure without Retry-After; doubles each retry (capped at 300 s).")
    harvest_timeout_s: float = Field(120.0, description="Seconds one whole arXiv response may take, from connecting to its last byte, before it counts as failed (a server trickling bytes cannot hold a harvest longer).")
    update_first_days: int = Field(7, description="How many days back `update` starts a set it has never harvested.")
    api_batch: int = Field(100, description="arXiv ids per API request for `add`.")
    import_batch: int = Field(20000, description="Papers per transaction (and per checkpoint) when importing a snapshot; larger batches rewrite fewer index pages per paper.")
    worker_time: str = Field("02:00", description="UTC time (HH:MM) `worker` runs `update` each day; arXiv's metadata is out by about 01:00 UTC (8 pm US Eastern).")
    # community (docs/community.md, docs/trending.md)
    signup: str = Field("open", description="Who may create an account by asking for a sign-in link: open, invite (only addresses an admin added with `paperradar users add`) or domain:example.org.")
    login_link_minutes: float = Field(15.0, description="Minutes an emailed sign-in link stays valid (each link works once).")
    session_days: int = Field(30, description="Days a sign-in lasts on a browser before the member must sign in again.")
    submit_max_age_days: int = Field(14, description="Oldest paper (days since its arXiv v1) a member may submit to today's list.")
    submit_daily_limit: int = Field(10, description="Most papers one member may submit per day.")
    trending_gravity: float = Field(1.8, description="Trending: how fast age pulls a paper down, score = points / (age_hours + 2) ** gravity (Hacker News uses 1.8).")
    trending_star_weight: float = Field(1.0, description="Trending: points added per doubling of the paper's GitHub stars (0 ignores stars).")
    topics_per_topic: int = Field(60, description="Papers per fine topic the topic fit aims for (docs/topics.md); broad areas are about 1.5·√topics.")
    # public API (README: JSON API)
    cors_origins: list[str] = Field(["*"], description="Origins allowed to read /api/ from a browser (JSON list); [\"*\"] allows any.")
    api_rate_limit: int = Field(500, description="Requests to /api/ one client address may make per window (0: no limit); Hugging Face allows about 500 per 5 minutes.")
    api_rate_window_s: int = Field(300, description="The API rate limit's window in seconds.")
    # digest (docs/digest.md)
    previous_secret_keys: list[str] = Field([], description="Older secrets still accepted for signed links (key rotation); new links use the secret kept in the database.")
    digest_top_n: int = Field(10, description="Most papers in one digest.")
    digest_threshold: float = Field(0.3, description="Lowest score a paper needs to enter a digest.")
    smtp_rate: float = Field(0.0, description="Messages per second sent; 0 sends as fast as the server accepts.")
    smtp_connections: int = Field(4, description="SMTP connections sending in parallel (a crash can duplicate at most one message per connection).")
    smtp_timeout: float = Field(30.0, description="Seconds before an SMTP conversation is given up (temporary failure).")
    digest_max_attempts: int = Field(5, description="Temporary failures before a digest is marked failed.")
    digest_retry_base: float = Field(60.0, description="Seconds before the first retry; doubles per attempt, capped at 1 h.")
    digest_suppress_after: int = Field(3, description="Permanent (5xx) failures in a row that suppress an address.")
    digest_sending_lease: float = Field(900.0, description="Seconds after which a row left in `sending` by a vanished process is resent.")
    digest_store_patience: float = Field(120.0, description="Seconds the sender keeps retrying a database write that fails (a lock held by another process, a PostgreSQL restart) before it stops the run.")
    dkim_key_path: Path | None = Field(None, description="PEM private key; when set, digests are DKIM-signed.")
    dkim_selector: str = Field("paperradar", description="DKIM selector (DNS: SELECTOR._domainkey.DOMAIN).")
    dkim_domain: str | None = Field(None, description="DKIM signing domain; default: the From address's domain.")

    @field_validator("signup")
    @classmethod
    def _signup_policy(cls, value: str) -> str:
        value = value.strip().lower()
        if value in ("open", "invite") or (value.startswith("domain:") and "." in value[7:]):
            return value
        raise ValueError(f"signup must be open, invite or domain:example.org, not {value!r}")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'paperradar.db').resolve()}"

    @property
    def embedding_name(self) -> str:
        """The name vectors are stored and indexed under: fp32 and int8 vectors never mix."""
        return self.embed_model + ("-int8" if self.embed_int8 else "")

    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def secret_key(self, store) -> str:
        """The secret kept in `store` (shared by every process), made on first use or adopted from
        an older install's data dir file; there is no default secret. A missing secret the store
        knows of, or an empty, short or unreadable one, raises a one-line UserError saying what
        to do (secret_key.py)."""
        return load_secret_key(self.ensure_data_dir(), store, self.previous_secret_keys)
