"""pgvector: on PostgreSQL, embeddings also as a `vector` column (searched in the database) with
each paper's filter key; SQLite is unchanged (its vectors are searched from files)

Revision ID: 0009
Revises: 0008
"""
import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 2000


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    from paperradar.search.keys import paper_key
    from paperradar.store.pgvector import vector_text

    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS vector")
    except sa.exc.DBAPIError as e:
        raise RuntimeError(
            "the PostgreSQL extension `vector` (pgvector) is needed and could not be created "
            f"({str(e.orig).strip().splitlines()[0]}): install pgvector on the server and run "
            "`CREATE EXTENSION vector;` in this database as a superuser, then start again") from None
    # `vec` has no fixed dimension: each model's HNSW index casts it to the model's (pgvector.py).
    bind.exec_driver_sql("ALTER TABLE embeddings ADD COLUMN key bigint, ADD COLUMN vec vector")
    # Vectors stored before: their pgvector copy and key, a batch at a time.
    last = ("", "")
    while True:
        rows = bind.execute(sa.text(
            "SELECT paper_id, model, vector FROM embeddings WHERE (paper_id, model) > (:p, :m) "
            "ORDER BY paper_id, model LIMIT :n"), {"p": last[0], "m": last[1], "n": BATCH}).all()
        if not rows:
            break
        bind.execute(sa.text("UPDATE embeddings SET key = :key, vec = CAST(:vec AS vector) "
                             "WHERE paper_id = :p AND model = :m"),
                     [{"key": paper_key(pid), "vec": vector_text(np.frombuffer(blob, np.float32)), "p": pid, "m": model}
                      for pid, model, blob in rows])
        last = (rows[-1][0], rows[-1][1])
    op.create_index("ix_embeddings_model_key", "embeddings", ["model", "key"])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.drop_index("ix_embeddings_model_key", "embeddings")
    op.drop_column("embeddings", "vec")
    op.drop_column("embeddings", "key")
