"""What an import did: counts, and every rejected, warned about or skipped row with its line number.

The rows refused and warned about can be as many as the file has, so they wait in a
temporary file and are streamed into the JSON report, never held in a list.
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter
from typing import TextIO

COUNTS = ("rows", "identities_created", "accounts_created", "accounts_updated", "accounts_merged",
          "accounts_without_email", "unchanged", "duplicates", "rejected", "warnings", "skipped")
# Not refusals: the row is imported (invalid_email) or already was, on an earlier line.
WARNINGS = ("invalid_email", "duplicate_row")
# Nothing wrong with the row, but it is not imported: its person had their account deleted.
SKIPS = {"deleted_on_request": "deleted at the person's request"}
# (kind of entry, the report's list of them)
KINDS = (("rejected", "rejected"), ("warning", "warnings"), ("skipped", "skipped"))


class Report:
    def __init__(self, system: str, path: str, fmt: str, dry_run: bool):
        self.header = {"system": system, "file": path, "format": fmt, "dry_run": dry_run}
        self.counts: Counter = Counter({name: 0 for name in COUNTS})
        # Known only after a real run: a dry run writes no accounts to join from.
        self.memberships_created: int | None = None
        # Organisations the system's rows name that have no admin (after a real run).
        self.organisations_without_admin: list[dict] | None = None
        self.rejected_by_reason: Counter = Counter()
        self.warnings_by_reason: Counter = Counter()
        self.skipped_by_reason: Counter = Counter()
        self._entries = tempfile.TemporaryFile("w+", encoding="utf-8")

    def add(self, problem) -> str:
        """Count a rejection, warning or skipped row; which of the three it is."""
        kind = "warning" if problem.reason in WARNINGS else "skipped" if problem.reason in SKIPS else "rejected"
        count = {"warning": "warnings"}.get(kind, kind)
        self.counts[count] += 1
        getattr(self, f"{count}_by_reason")[problem.reason] += 1
        if problem.reason == "duplicate_row":
            self.counts["duplicates"] += 1
        return kind

    def keep_entries(self, issues) -> None:
        """Take the (line, legacy_id, kind, reason, detail) rows, in line order."""
        for line, legacy_id, kind, reason, detail in issues:
            entry = {"line": line, "legacy_id": legacy_id, "reason": reason, "detail": detail}
            self._entries.write(json.dumps([kind, entry], ensure_ascii=False) + "\n")

    def finish(self, started_at: str, seconds: float) -> None:
        self.header.update(started_at=started_at, seconds=round(seconds, 3))

    def summary(self) -> dict:
        """Everything but the lists of rows."""
        return {**self.header, "counts": dict(self.counts), "rejected_by_reason": dict(self.rejected_by_reason),
                "warnings_by_reason": dict(self.warnings_by_reason),
                "skipped_by_reason": dict(self.skipped_by_reason),
                "organisation_memberships_created": self.memberships_created,
                "organisations_without_admin": self.organisations_without_admin}

    def as_dict(self) -> dict:
        result = self.summary()
        result.update({key: list(self._iter(kind)) for kind, key in KINDS})
        return result

    def write_json(self, out: TextIO) -> None:
        """The whole report as one JSON object, written piece by piece."""
        head = json.dumps(self.summary(), indent=2, ensure_ascii=False)
        out.write(head[:-2])  # reopen the object to append the two lists
        for kind, key in KINDS:
            out.write(f',\n  "{key}": [')
            written = 0
            for written, entry in enumerate(self._iter(kind), start=1):
                out.write((",\n    " if written > 1 else "\n    ") + json.dumps(entry, ensure_ascii=False))
            out.write("\n  ]" if written else "]")
        out.write("\n}\n")

    def text(self) -> str:
        """A few lines for the operator's terminal."""
        c = self.counts
        lines = [
            f"{'Dry run, nothing saved: ' if self.header['dry_run'] else ''}"
            f"{c['rows']} rows from {self.header['file']} for system {self.header['system']}"
            f" in {self.header.get('seconds', 0):.1f} s",
            f"  identities created:      {c['identities_created']}",
            f"  accounts created/updated: {c['accounts_created']}/{c['accounts_updated']}"
            f" (merged {c['accounts_merged']}, without email {c['accounts_without_email']})",
            f"  unchanged:               {c['unchanged']}",
            f"  organisation members:    {self.memberships_created if self.memberships_created is not None else '-'}",
            f"  rejected:                {c['rejected']}"
            + "".join(f"\n    {reason}: {n}" for reason, n in sorted(self.rejected_by_reason.items())),
            f"  warnings:                {c['warnings']}"
            + "".join(f"\n    {reason}: {n}" for reason, n in sorted(self.warnings_by_reason.items())),
            f"  skipped:                 {c['skipped']}"
            + "".join(f"\n    {SKIPS[reason]}: {n}" for reason, n in sorted(self.skipped_by_reason.items())),
        ]
        for org in self.organisations_without_admin or ():
            lines.append(f"  organisation {org['business_id']} ({org['name']}, id {org['id']}) has no admin:"
                         f" tunnus orgs set-role --org {org['business_id']} --email E --role admin")
        return "\n".join(lines)

    def _iter(self, kind: str):
        self._entries.flush()
        self._entries.seek(0)
        for line in self._entries:
            entry_kind, entry = json.loads(line)
            if entry_kind == kind:
                yield entry
