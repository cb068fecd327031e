"""What the import has seen of the file so far, in a scratch SQLite file, not in memory.

A row is refused or skipped because of an earlier line only: a repeated legacy id
(skipped if the line is identical, refused if not) or a login name an earlier line gave
another legacy id. So the file is judged in one pass, a batch at a time, against an
index of the earlier lines kept on disk; the decisions depend only on the file, and an
interrupted import decides the same way when it runs again. The report's rejections and
warnings wait here too, so they come out in line order whatever step found them.
"""
from __future__ import annotations

import os
import sqlite3
import tempfile
from typing import Iterable, Iterator

from .rows import Problem, Row

DETAILS = {
    "duplicate_row": "repeats an earlier line exactly",
    "duplicate_legacy_id": "an earlier line has this legacy_id with different data",
    "login_name_taken": "an earlier line has this login name for another legacy_id",
}
# Stays under SQLite's limit of bound parameters per statement.
_CHUNK = 10_000


class Staging:
    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="tunnus-legacy-")
        self.db = sqlite3.connect(os.path.join(self._dir.name, "seen.sqlite3"))
        # Scratch data: losing it in a crash only means reading the file again.
        self.db.executescript("""
            PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
            CREATE TABLE ids (legacy_id TEXT PRIMARY KEY, digest TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE logins (login_norm TEXT PRIMARY KEY, legacy_id TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE issues (line INTEGER, legacy_id TEXT, kind TEXT, reason TEXT, detail TEXT);
        """)

    def judge(self, batch: list[Row]) -> tuple[list[Row], list[Problem]]:
        """The rows no earlier line outranks, and the problems of the others."""
        first = dict(self._lookup("SELECT legacy_id, digest FROM ids WHERE legacy_id IN",
                                  {row.legacy_id for row in batch}))
        holders = dict(self._lookup("SELECT login_norm, legacy_id FROM logins WHERE login_norm IN",
                                    {row.login_norm for row in batch}))
        kept, problems, new_ids, new_logins = [], [], [], []
        for row in batch:
            digest = first.get(row.legacy_id)
            if digest is not None:
                reason = "duplicate_row" if digest == row.digest else "duplicate_legacy_id"
                problems.append(Problem(row.line, row.legacy_id, reason, DETAILS[reason]))
                continue
            first[row.legacy_id] = row.digest
            new_ids.append((row.legacy_id, row.digest))
            if row.login_norm in holders:
                problems.append(Problem(row.line, row.legacy_id, "login_name_taken", DETAILS["login_name_taken"]))
                continue
            holders[row.login_norm] = row.legacy_id
            new_logins.append((row.login_norm, row.legacy_id))
            kept.append(row)
        self.db.executemany("INSERT INTO ids VALUES (?, ?)", new_ids)
        self.db.executemany("INSERT INTO logins VALUES (?, ?)", new_logins)
        return kept, problems

    def note(self, kind: str, problem: Problem) -> None:
        """Keep a rejection or warning for the report."""
        self.db.execute("INSERT INTO issues VALUES (?, ?, ?, ?, ?)", (problem.line, problem.legacy_id, kind,
                                                                      problem.reason, problem.detail))

    def issues(self) -> Iterator[tuple]:
        """(line, legacy_id, kind, reason, detail) in line order."""
        return self.db.execute("SELECT line, legacy_id, kind, reason, detail FROM issues ORDER BY line, rowid")

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()

    def _lookup(self, query: str, keys: Iterable[str]) -> Iterator[tuple]:
        keys = list(keys)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start:start + _CHUNK]
            yield from self.db.execute(f"{query} ({', '.join('?' * len(chunk))})", chunk)
