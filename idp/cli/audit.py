"""`tunnus audit search`: what happened to one person's account, from the audit records."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import click
from flask import current_app

from ..extensions import db
from ..models import Identity
from ..models.identity import normalise_email
from ..services import audit, clock
from . import text_arguments
from .output import emit, json_option
from .periods import duration

group = text_arguments.Group("audit", help="Audit records of security events.")


def _moment(_ctx, param, value: str | None) -> dt.datetime | None:
    """`7d`, `24h`, `30m` ago, or ISO 8601 (a date or a time; without a zone it is local
    time, IDP_TIMEZONE). Naive UTC, as stored."""
    if value is None:
        return None
    ago = duration(value, param)
    if ago is not None:
        return clock.now() - ago
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: use 7d, 24h, 30m or ISO 8601 such as 2026-03-01 or "
                                 "2026-03-01T08:00 (local time) or 2026-03-01T06:00Z", param=param)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone())
    try:
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01 in a zone east of UTC falls before the first day there is
        raise click.BadParameter(f"{value!r}: not a date that can be counted in UTC", param=param) from None


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["IDP_TIMEZONE"])


def _row(entry) -> dict:
    return {"at": entry.at.replace(tzinfo=dt.timezone.utc).isoformat(), "event": entry.event,
            "result": entry.result, "client_id": entry.client_id, "organisation_id": entry.organisation_id,
            "ip": entry.ip, "user_agent": entry.user_agent, "request_id": entry.request_id,
            "details": entry.details or {}}


def _table(rows: list[dict]) -> str:
    if not rows:
        return "no events"
    lines = [f"{'time':<19}  {'event':<28} {'result':<8} {'ip':<15} {'client':<16} details"]
    for row in rows:
        local = dt.datetime.fromisoformat(row["at"]).astimezone(_zone()).strftime("%Y-%m-%d %H:%M:%S")
        details = json.dumps(row["details"], ensure_ascii=False, default=str) if row["details"] else ""
        lines.append(f"{local:<19}  {row['event']:<28} {row['result']:<8} {row['ip'] or '-':<15} "
                     f"{row['client_id'] or '-':<16} {details}")
    counted = f"{len(rows)} event" + ("" if len(rows) == 1 else "s")
    return "\n".join(lines) + f"\n({counted}, times in {current_app.config['IDP_TIMEZONE']})"


@group.command("search")
@click.option("--email", required=True, help="The person's email (compared normalised, as at login).")
@click.option("--since", required=True, callback=_moment, help="7d, 24h, 30m ago, or an ISO 8601 date/time.")
@click.option("--until", callback=_moment, help="End of the period (same forms); default: now.")
@click.option("--event", default=None, help="Only this event, e.g. login.password, or a prefix such as session.*")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="At most this many events: the latest ones, printed oldest first.")
@json_option
def search(email, since, until, event, limit, as_json):
    """List the audit events of the person with this email."""
    if until is not None and until <= since:
        local = {name: moment.replace(tzinfo=dt.timezone.utc).astimezone(_zone()).isoformat(timespec="minutes")
                 for name, moment in (("since", since), ("until", until))}
        raise click.UsageError(f"the period is reversed: --until ({local['until']}) is not after "
                               f"--since ({local['since']})")
    identity = Identity.by_email(email)
    if identity is None:
        deleted = audit.deletion_of(normalise_email(email))
        raise click.ClickException(f"No identity with the email address {email}." + (
            f" Its account was deleted at {deleted.at.isoformat(timespec='seconds')}Z (sub {deleted.details['sub']})."
            if deleted else ""))
    # Someone who had their account deleted and registered again: the earlier account's
    # events are no longer linked to anyone; its deletion is the operator's lead to them.
    deleted = audit.deletion_of(identity.email_normalized)
    earlier = deleted if deleted is not None and deleted.at <= identity.created_at else None
    rows = [_row(entry) for entry in audit.history(identity, since=since, until=until, event=event, limit=limit,
                                                   including=earlier)]
    # Reading a person's history is access to their personal data: that leaves a record too.
    audit.record("audit.searched", identity=identity, since=since.isoformat(), only=event, found=len(rows))
    db.session.commit()
    note = "" if earlier is None else (f"\nAn earlier account with this address was deleted at "
                                       f"{earlier.at.isoformat(timespec='seconds')}Z (sub {earlier.details['sub']}).")
    emit(rows, as_json, _table(rows) + note)
