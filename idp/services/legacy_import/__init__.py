"""Importing the accounts of an old system: `run(path, system)`.

One pass over the export file, a batch at a time: each row is checked on its own, then
against the earlier lines (staging.py), then written (writer.py) in a transaction of its
own, merging accounts into one identity per normalised email. Reading and checking the
next batch goes on while the database writes the previous one, in a second thread.
Rows of people who had their account deleted are skipped (erasures.py).
Memory holds a couple of batches whatever the size of the file. Importing the same file
again changes nothing; an import killed half way is completed by running it again. One
import runs at a time (exclusive.py).
"""
from __future__ import annotations

import os
import re
import sys
import time
from contextlib import nullcontext
from typing import Callable

from ...errors import ValidationFailed
from ...extensions import db
from .. import audit, clock, erasures
from . import exclusive, organisations, rows
from .batches import BatchWriter
from .report import Report
from .staging import Staging

__all__ = ["run", "Report", "FORMATS", "BATCH_SIZE"]

FORMATS = ("jsonl", "csv")
BATCH_SIZE = 5000
SYSTEM_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# progress(bytes read, file size, rows read)
Progress = Callable[[int, int, int], None]


def run(path: str, system: str, *, fmt: str | None = None, dry_run: bool = False,
        batch_size: int = BATCH_SIZE, progress: Progress | None = None) -> Report:
    if not SYSTEM_NAME.fullmatch(system or ""):
        raise ValidationFailed("the system name must be 1-64 characters a-z, 0-9, '.', '_' or '-'")
    fmt = fmt or ("csv" if path.lower().endswith(".csv") else "jsonl")
    if fmt not in FORMATS:
        raise ValidationFailed("the format must be one of %(formats)s", formats=", ".join(FORMATS))
    progress = progress or (lambda position, size, count: None)
    # A dry run writes nothing: it may run beside an import.
    with nullcontext() if dry_run else exclusive.alone(db.engine):
        return _run(path, system, fmt, dry_run, batch_size, progress)


def _run(path: str, system: str, fmt: str, dry_run: bool, batch_size: int, progress: Progress) -> Report:
    # A file name may be any bytes; the report and the audit event are UTF-8 text.
    shown = os.fsencode(path).decode("utf-8", "replace")
    report = Report(system, shown, fmt, dry_run)
    started, started_at = time.monotonic(), clock.now().isoformat(timespec="seconds") + "Z"
    staging = Staging()
    batches = BatchWriter(db.engine, system, dry_run, erasures.derived_keys())
    # The reading thread is busy computing; the writer mostly waits for the database and
    # then needs the interpreter back at once, not after the default 5 ms slice.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    batches.start()
    try:
        _read(path, system, fmt, batch_size, staging, batches, report, progress)
        batches.close()
        _collect(batches, staging, report, wait=True)
        report.keep_entries(staging.issues())
    finally:
        batches.stop()
        staging.close()
        sys.setswitchinterval(switch_interval)
    if not dry_run:
        report.memberships_created = organisations.join(system)
        report.organisations_without_admin = [
            {"id": org.id, "business_id": org.business_id, "name": org.name}
            for org in organisations.without_admin(system)]
    report.finish(started_at, time.monotonic() - started)
    if not dry_run:
        audit.record("legacy.imported", system=system, file=shown, **report.counts)
        db.session.commit()
    return report


def _read(path, system, fmt, batch_size, staging: Staging, batches: BatchWriter, report: Report,
          progress: Progress) -> None:
    size, batch, position = os.path.getsize(path), [], 0
    for line, fields, position in rows.read(path, fmt):
        report.counts["rows"] += 1
        row, problem = rows.check(system, line, fields)
        if problem is not None:
            staging.note(report.add(problem), problem)
        if row is not None:
            batch.append(row)
        if len(batch) >= batch_size:
            _submit(batch, staging, batches, report)
            batch = []
            progress(position, size, report.counts["rows"])
    if not report.counts["rows"]:
        # An export that went wrong, more likely than an old system without accounts: said
        # so, not reported as an import that found everything in order.
        raise ValidationFailed("the file holds no accounts (no rows%(after)s)",
                               after=" after the header" if fmt == "csv" else "")
    _submit(batch, staging, batches, report)
    progress(size, size, report.counts["rows"])


def _submit(batch, staging: Staging, batches: BatchWriter, report: Report) -> None:
    kept, problems = staging.judge(batch)
    for problem in problems:
        staging.note(report.add(problem), problem)
    if kept:
        batches.put(kept)
    _collect(batches, staging, report, wait=False)


def _collect(batches: BatchWriter, staging: Staging, report: Report, wait: bool) -> None:
    for outcome in batches.outcomes(wait):
        report.counts.update(outcome.counts)
        for problem in (*outcome.rejected, *outcome.skipped):
            staging.note(report.add(problem), problem)
