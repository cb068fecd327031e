"""Adding a row another request may add at the same moment (a double click served by two
worker processes, two tabs), or giving a row a value another may take at the same moment:
the unique constraint decides which is kept, and the request that lost goes on as if it
had come a moment later."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

from ..extensions import db

Row = TypeVar("Row")


def add_or_existing(row: Row, existing: Callable[[], Row | None]) -> Row:
    """Add `row`; if a unique constraint refuses it because another transaction added the
    same, return that one (`existing()`, read once it committed). Only a savepoint is
    undone, so the rest of the caller's transaction stands. `row is not` the answer tells
    the caller that the other request already did (and recorded) the change."""
    _in_transaction()
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        found = existing()
        if found is None:  # another constraint than the one raced for: a real error
            raise
        return found
    return row


def changed_unless_taken(change: Callable[[], None], taken: Callable[[], object | None]) -> bool:
    """Make `change` to a row (giving it a value a unique constraint keeps to one row); if
    another transaction gave that value to its row meanwhile, undo it and return False
    (`taken()` finds that row, read once it committed). As for add_or_existing, only a
    savepoint is undone."""
    _in_transaction()
    try:
        with db.session.begin_nested():
            change()
    except IntegrityError:
        if taken() is None:  # another constraint than the one raced for: a real error
            raise
        return False
    return True


def _in_transaction() -> None:
    """pysqlite begins a transaction only for a write, not for a SAVEPOINT: a savepoint that
    came first would itself be the transaction, and releasing it would commit the row alone,
    whatever the caller then does. Begin it first (PostgreSQL always has one by now)."""
    if db.session.get_bind().dialect.name == "sqlite":
        connection = db.session.connection().connection.dbapi_connection
        if not connection.in_transaction:
            connection.execute("BEGIN")
