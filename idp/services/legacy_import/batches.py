"""The thread that writes the batches while the next ones are being read and checked."""
from __future__ import annotations

import queue
import threading
from contextlib import nullcontext

import sqlalchemy as sa

from .. import clock
from . import writer


class BatchWriter(threading.Thread):
    """Writes batches in order on its own connection, one transaction each.

    A dry run is a single transaction, rolled back at the end: later batches see the
    earlier ones, so its counts are those of a real run. (Not savepoints: SQLite's
    driver commits when the first one is released.)
    """

    _STOP = object()

    def __init__(self, engine: sa.Engine, system: str, dry_run: bool, erasure_keys: list[bytes] = ()):
        super().__init__(name="legacy-import-writer", daemon=True)
        self.engine, self.system, self.dry_run = engine, system, dry_run
        self.erasure_keys = list(erasure_keys)
        self.todo: queue.Queue = queue.Queue(maxsize=2)  # bounds memory: reading waits for writing
        self.done: queue.Queue = queue.Queue()
        self.error: BaseException | None = None
        self.cancelled = False

    def run(self) -> None:
        try:
            with self.engine.connect() as conn:
                whole = conn.begin() if self.dry_run else None
                # Table statistics are refreshed after the first batch, then each time
                # the rows written have grown fourfold.
                written, analyse_at = 0, 1
                while (batch := self.todo.get()) is not self._STOP and not self.cancelled:
                    with nullcontext() if whole is not None else conn.begin():
                        self.done.put(writer.write(conn, self.system, batch, clock.now(), self.erasure_keys))
                    written += len(batch)
                    if written >= analyse_at:
                        with nullcontext() if whole is not None else conn.begin():
                            writer.refresh_statistics(conn)
                        analyse_at = 4 * written
                if whole is not None:
                    whole.rollback()
        except BaseException as error:  # handed to the reading thread, which raises it
            self.error = error

    def put(self, batch) -> None:
        while True:
            self._raise()
            try:
                self.todo.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """No more batches: wait until every one is written."""
        self.put(self._STOP)
        self.join()
        self._raise()

    def stop(self) -> None:
        """After an error while reading: drop the waiting batches and let the writer end."""
        if not self.is_alive():
            return
        self.cancelled = True
        while True:
            try:
                self.todo.get_nowait()
            except queue.Empty:
                break
        self.todo.put(self._STOP)
        self.join()

    def outcomes(self, wait: bool):
        while not self.done.empty() or (wait and self.is_alive()):
            try:
                yield self.done.get(timeout=0.2)
            except queue.Empty:
                continue

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
