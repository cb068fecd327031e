"""A benchmark's scratch PostgreSQL database, made empty: created on the server if missing,
its schema public dropped and recreated. Refuses the test suite's database `test`.
Imported from the repository root (bench/token.py would shadow the standard library's
`token` for a script run from bench/).
"""
from __future__ import annotations

import sys

import sqlalchemy as sa


def recreate(url: str) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name != "postgresql":
        sys.exit("a benchmark's scratch database must be PostgreSQL")
    if engine.url.database in (None, "test", "postgres"):
        sys.exit(f"refusing to empty the database {engine.url.database!r}: name a scratch one")
    # A fresh server has no scratch database yet: make it from the maintenance one.
    server = sa.create_engine(engine.url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        if conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                       {"name": engine.url.database}) is None:
            conn.execute(sa.text(f'CREATE DATABASE "{engine.url.database}"'))
    server.dispose()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()

