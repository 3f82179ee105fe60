"""Settings: one documented table, read from the environment (PAPERRADAR_*) or passed in.

Nothing deep inside the package reads the environment; `Settings` is built once at the edge
(CLI, web app factory, tests) and handed down.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAPERRADAR_", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where the database, indexes, secret and outbox live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file in the data dir.")
    host: str = Field("127.0.0.1", description="Address the web server binds.")
    port: int = Field(8000, description="Port the web server binds.")
    base_url: str | None = Field(None, description="Public URL used in emails and feeds; default http://HOST:PORT.")
    page_size: int = Field(20, description="Papers per page on listing pages.")
    embed_model: str = Field("all-MiniLM-L6-v2", description="Embedding model name (changing it needs `paperradar reindex`).")
    models_dir: Path | None = Field(None, description="Where built model graphs are cached; default DATA_DIR/models.")
    smtp_url: str | None = Field(None, description="smtp://user:pass@host:port or smtps://...; unset writes .eml files to DATA_DIR/outbox.")
    mail_from: str = Field("paperradar <radar@localhost>", description="From header of digest emails.")

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'paperradar.db').resolve()}"

    @property
    def model_cache(self) -> Path:
        return self.models_dir or self.data_dir / "models"

    @property
    def public_url(self) -> str:
        return (self.base_url or f"http://{self.host}:{self.port}").rstrip("/")

    def ensure_data_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def secret_key(self) -> str:
        """The data dir's secret, generated on first use; there is no default secret."""
        path = self.ensure_data_dir() / "secret_key"
        if not path.exists():
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process won the race; use its secret
                pass
            else:
                with os.fdopen(fd, "w") as f:
                    f.write(secrets.token_urlsafe(48))
        return path.read_text().strip()
