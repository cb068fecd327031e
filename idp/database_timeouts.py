"""Bounded waits for PostgreSQL, so that a database that does not answer (overloaded,
stuck behind a lock, its processes stopped, the network gone quiet) costs a request a few
seconds and a 503, as one that refuses connections does, instead of holding it for as
long as the database is away.

- IDP_DATABASE_CONNECT_TIMEOUT: libpq's connect_timeout, for a new connection.
- IDP_DATABASE_POOL_TIMEOUT: the wait for a free connection of the process's pool.
- IDP_DATABASE_STATEMENT_TIMEOUT: PostgreSQL's statement_timeout, which cancels a slow
  statement and keeps the connection; and, ANSWER_MARGIN seconds later, a limit in this
  process on every wait for the server (queries, commits, the pool's ping), which the
  server cannot enforce when it is not running at all: the connection is then closed,
  and the pool opens a new one once the database answers again.

`tunnus` commands run without the statement limits (an import or a prune may take long);
the connect and pool timeouts apply everywhere.
"""
from __future__ import annotations

import math
import threading
from contextlib import contextmanager

import sqlalchemy as sa

ANSWER_MARGIN = 2.0

_override = threading.local()


def engine_options(values: dict) -> dict:
    # hide_parameters: a logged database error never shows the values it was writing.
    options = {"pool_pre_ping": True, "hide_parameters": True, "pool_timeout": values["IDP_DATABASE_POOL_TIMEOUT"]}
    if _postgresql(values["IDP_DATABASE_URL"]):
        connect_args = {"connect_timeout": values["IDP_DATABASE_CONNECT_TIMEOUT"]}
        if values["IDP_DATABASE_STATEMENT_TIMEOUT"]:
            connect_args["options"] = f"-c statement_timeout={int(values['IDP_DATABASE_STATEMENT_TIMEOUT'] * 1000)}"
        options["connect_args"] = connect_args
    return options


def init_app(app, engine) -> None:
    statement = app.config["IDP_DATABASE_STATEMENT_TIMEOUT"]
    if not _postgresql(app.config["SQLALCHEMY_DATABASE_URI"]) or not statement:
        return
    connection_class = _bounded_connection_class()

    @sa.event.listens_for(engine, "do_connect")
    def connect(_dialect, _record, cargs, cparams):
        shorter = getattr(_override, "seconds", None)
        if shorter:  # libpq takes whole seconds, at least 2
            cparams = {**cparams, "connect_timeout": min(cparams.get("connect_timeout") or 2, max(2, math.ceil(shorter)))}
        connection = connection_class.connect(*cargs, **cparams)
        connection.answer_within = statement + ANSWER_MARGIN
        return connection


@contextmanager
def answer_within(seconds: float):
    """A shorter limit on each wait for the server in this thread (/readyz: a load
    balancer waits a couple of seconds, not a request's worth)."""
    before = getattr(_override, "seconds", None)
    _override.seconds = seconds
    try:
        yield
    finally:
        _override.seconds = before


def _postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def _bounded_connection_class():
    import psycopg

    class BoundedConnection(psycopg.Connection):
        answer_within: float | None = None

        def wait(self, gen, interval=0.1, timeout=None):
            # Every exchange with the server (execute, fetch, commit, rollback) waits here.
            limit = getattr(_override, "seconds", None) or self.answer_within
            if timeout is not None or not limit:
                return super().wait(gen, interval, timeout)
            try:
                return super().wait(gen, interval, limit)
            except psycopg.errors.OperationalError as error:
                if type(error).__name__ != "_WaitTimeout":
                    raise
                # Mid-exchange: the connection cannot be used again. Closed, SQLAlchemy
                # drops it from the pool.
                self.pgconn.finish()
                raise psycopg.OperationalError(f"the database did not answer within {limit:g} s") from None

    return BoundedConnection
