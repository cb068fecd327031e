"""One import at a time. Two at once (an operator starting it again in another terminal,
a cron run overlapping a manual one) would each count as created the accounts the other
wrote, and race to create the same organisations: the second is refused at once instead,
before it reads a line.

PostgreSQL: a session advisory lock, held by a connection of its own for the whole run and
released also when the process dies. SQLite (one machine): a lock on a file beside the
database, which the operating system releases with the process.
"""
from __future__ import annotations

import fcntl
from contextlib import contextmanager

import sqlalchemy as sa

from ...errors import Conflict

# The advisory lock's key: nothing else in Tunnus takes one.
LOCK_KEY = int.from_bytes(b"legacyim", "big")


class ImportRunning(Conflict):
    id = "import_running"
    message = "another import is running; run this one again when it has finished"


@contextmanager
def alone(engine: sa.Engine):
    """Hold the import lock while the block runs; ImportRunning if another import holds it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.scalar(sa.select(sa.func.pg_try_advisory_lock(LOCK_KEY))):
                raise ImportRunning()
            try:
                yield
            finally:
                conn.scalar(sa.select(sa.func.pg_advisory_unlock(LOCK_KEY)))
    elif engine.url.database and engine.url.database != ":memory:":
        with open(f"{engine.url.database}.import-lock", "a") as lock_file:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ImportRunning() from None
            yield
    else:  # a database only this process sees
        yield
