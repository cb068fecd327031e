"""Registered clients by client_id, kept briefly in each process.

Every /token, /introspect and /revoke request authenticates its client, and a database
round trip costs more than the rest of a client_credentials request, while registrations
rarely change. The cache keeps copies that belong to no database session, for reading
only. A client change committed in this process empties every cache at once; other
processes (workers share only the database) follow within IDP_CLIENT_CACHE_SECONDS.
When an entry runs out, one request reads the client again while the others go on with
the entry they had, so a busy client does not send every thread to the database at once.
Unknown client_ids are not cached, so guessing cannot fill the cache.
"""
from __future__ import annotations

import threading
import time

import sqlalchemy as sa

from ..models import Client
from ..models.client import could_be_client_id

# Bumped by every committed client change in this process; entries of older generations are stale.
_generation = 0


class ClientCache:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._entries: dict[str, tuple[float, int, Client]] = {}
        self._reading = threading.Lock()

    def find(self, client_id: str) -> Client | None:
        """Authlib's query_client."""
        if not could_be_client_id(client_id):  # a NUL would not even reach PostgreSQL as a query
            return None
        entry = self._entries.get(client_id)
        if entry is not None and entry[1] == _generation:
            if entry[0] > time.monotonic():
                return entry[2]
            if not self._reading.acquire(blocking=False):
                return entry[2]  # another request is reading it again right now
            try:
                return self._read(client_id)
            finally:
                self._reading.release()
        return self._read(client_id)

    def fresh(self, client_id: str) -> Client | None:
        """The client if this process holds a current copy of it, without asking the database."""
        entry = self._entries.get(client_id)
        if entry is not None and entry[1] == _generation and entry[0] > time.monotonic():
            return entry[2]
        return None

    def _read(self, client_id: str) -> Client | None:
        generation = _generation
        row = Client.by_client_id(client_id)
        if row is None:
            self._entries.pop(client_id, None)
            return None
        copy = _detached_copy(row)
        if self.seconds > 0:
            self._entries[client_id] = (time.monotonic() + self.seconds, generation, copy)
        return copy


def _detached_copy(row: Client) -> Client:
    # A transient twin: never attached to a session, so sharing it between requests and
    # threads cannot drag it into one, and no commit can expire its attributes.
    return Client(**{attr.key: getattr(row, attr.key) for attr in sa.inspect(Client).column_attrs})


def _client_changed(_mapper, _connection, target) -> None:
    global _generation
    _generation += 1
    session = sa.orm.object_session(target)
    if session is not None:
        session.info["clients_changed"] = True


def _after_commit(session) -> None:
    # Again at commit: a lookup between the flush and the commit may have cached the old row.
    global _generation
    if session.info.pop("clients_changed", False):
        _generation += 1


for _event in ("after_insert", "after_update", "after_delete"):
    sa.event.listen(Client, _event, _client_changed)
sa.event.listen(sa.orm.Session, "after_commit", _after_commit)
sa.event.listen(sa.orm.Session, "after_rollback", lambda session: session.info.pop("clients_changed", None))
