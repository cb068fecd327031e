"""`tunnus campaigns create|start|status|pending|cancel|remind|list`."""
from __future__ import annotations

import datetime as dt
import re
import sys
import time
from zoneinfo import ZoneInfo

import click
from flask import current_app

from ..errors import IdpError, NotFound
from ..services import campaigns
from ..services.campaigns import progress, targeting
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("campaigns", help="Password change campaigns.")
NOT_SENT = "  not sent: no SMTP configured (IDP_SMTP_URL), only written to the log"


def _when(_ctx, _param, value: str | None) -> dt.datetime | None:
    """ISO 8601; without a zone it is local time (IDP_TIMEZONE). Stored as naive UTC."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-03-31T16:00 or 2026-03-31T14:00Z")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(current_app.config["IDP_TIMEZONE"]))
    try:
        return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:  # 0001-01-01 in Helsinki is before the year 1 in UTC
        raise click.BadParameter("use a time between the years 1 and 9999") from None


def _days(_ctx, _param, value: str) -> list[int]:
    days = [day.strip() for day in value.split(",") if day.strip()]
    if not all(re.fullmatch(r"[0-9]{1,4}", day) for day in days):
        raise click.BadParameter("comma-separated days, e.g. 7,14")
    return [int(day) for day in days]


def _rate(_ctx, _param, value: str | None) -> int | None:
    match = re.fullmatch(r"\s*([0-9]{1,7})\s*(/\s*min)?\s*", value or "")
    if value and not match:
        raise click.BadParameter("N/min up to 9999999/min, e.g. 600/min")
    return int(match.group(1)) if value else None


def _fail(error: IdpError, campaign_id=None):
    if isinstance(error, NotFound) and campaign_id is not None:
        raise click.ClickException(f"No campaign {campaign_id}")  # not the web's "page ... does not exist"
    raise click.ClickException(str(error))


@group.command("create")
@click.option("--name", required=True,
              help="The campaign's name: operators list it, and its mail begins with it (in every language), so "
                   "write it as the people asked will recognise it, e.g. 'Kirjasto siirtyy Tunnukseen'.")
@click.option("--target", required=True, help="legacy-system:NAME, org:ID, unverified-email, all or emails:FILE")
@click.option("--require", default="verify_email,change_password", show_default=True,
              help="What each person must do, comma-separated: verify_email, change_password.")
@click.option("--starts", callback=_when, help="When mail goes out and login starts asking (ISO 8601).")
@click.option("--deadline", callback=_when, help="After it the link stops working and login insists.")
@click.option("--cutover", callback=_when, help="After it old legacy user names and passwords stop working.")
@click.option("--reminder-days", default="", callback=_days, help="Days after the start to remind, e.g. 7,14.")
@click.option("--rate", callback=_rate, help="Most campaign mails sent per minute, e.g. 600/min.")
@json_option
def create(name, target, require, starts, deadline, cutover, reminder_days, rate, as_json):
    """Create a campaign (a draft until started); prints how many people it targets."""
    lines = None
    try:
        kind, argument = targeting.parse(target)
        if kind == targeting.EMAILS:
            with open(argument, encoding="utf-8") as listed:
                lines = listed.read().splitlines()
        campaign, found = campaigns.create(
            name, target, [r.strip() for r in require.split(",") if r.strip()], starts_at=starts,
            deadline_at=deadline, cutover_at=cutover, reminder_days=reminder_days, rate_per_minute=rate,
            email_lines=lines)
    except OSError as error:
        raise click.ClickException(f"cannot read {error.filename}: {error.strerror}")
    except UnicodeDecodeError:
        raise click.ClickException(f"{argument} is not UTF-8 text") from None
    except IdpError as error:
        _fail(error)
    result = {"id": campaign.id, "name": campaign.name, "status": campaign.status, **found}
    text = f"campaign {campaign.id} created (draft); targeted now: {found['targeted']}"
    for label in ("unknown", "invalid"):
        if found.get(label):
            text += f"\n{len(found[label])} {label} address(es), not included:\n  " + "\n  ".join(found[label])
    emit(result, as_json, text)


@group.command("start")
@click.argument("campaign_id")
@json_option
def start(campaign_id, as_json):
    """Start a campaign: make its members and put its mail in the outbox."""
    began = time.perf_counter()
    try:
        result = campaigns.start(campaign_id)
    except IdpError as error:
        _fail(error, campaign_id)
    result["seconds"] = round(time.perf_counter() - began, 2)
    emit(result, as_json, f"started: {result['members']} members ({result['members_seconds']} s), "
                          f"{result['mailed']} mails in the outbox ({result['mail_seconds']} s); "
                          f"{result['seconds']} s in all")


@group.command("status")
@click.argument("campaign_id")
@click.option("--daily", is_flag=True, help="Also the counts per day.")
@json_option
def status(campaign_id, daily, as_json):
    """How far a campaign is: people targeted, mailed, bounced, done."""
    try:
        campaign = campaigns.get(campaign_id)
    except IdpError as error:
        _fail(error, campaign_id)
    data = {"id": campaign.id, "name": campaign.name, "target": campaign.target, "status": campaign.status,
            "starts_at": campaign.starts_at, "deadline_at": campaign.deadline_at, "cutover_at": campaign.cutover_at,
            "counts": progress.funnel(campaign)}
    if daily:
        data["daily"] = progress.daily(campaign)
    lines = [f"{campaign.id} {campaign.name} [{campaign.status}] {campaign.target}"]
    lines += [f"  {state:<17}{count}" + (NOT_SENT if state == "logged" and count else "")
              for state, count in data["counts"].items()]
    for entry in data.get("daily", []):
        lines.append("  " + entry["day"] + "  " + " ".join(f"{k}={v}" for k, v in entry.items() if k != "day"))
    emit(data, as_json, "\n".join(lines))


@group.command("pending")
@click.argument("campaign_id")
@click.option("--csv", "as_csv", is_flag=True, help="CSV: email, name, missing, bounced, last mailed, reminders.")
@click.option("--search", default=None, help="Only addresses or names containing this.")
@json_option
def pending(campaign_id, as_csv, search, as_json):
    """The people still to act, with what is missing."""
    try:
        campaign = campaigns.get(campaign_id)
    except IdpError as error:
        _fail(error, campaign_id)
    if as_csv:
        for chunk in progress.pending_csv(campaign, search):
            sys.stdout.write(chunk)
        return
    rows = progress.pending(campaign, search)
    if as_json:
        emit(list(rows), True)
        return
    for row in rows:
        click.echo(f"{row['email']}\t{' '.join(row['missing'])}" + (f"\tbounced: {row['bounced']}" if row["bounced"] else ""))


@group.command("cancel")
@click.argument("campaign_id")
@json_option
def cancel(campaign_id, as_json):
    """Cancel a campaign and withdraw its unsent mail."""
    try:
        result = campaigns.cancel(campaign_id)
    except IdpError as error:
        _fail(error, campaign_id)
    emit(result, as_json, f"cancelled; {result['withdrawn']} unsent mails withdrawn")


@group.command("remind")
@json_option
def remind(as_json):
    """Mail the reminders that are due (run it daily, e.g. from cron)."""
    sent = campaigns.remind_due()
    emit({str(k): v for k, v in sent.items()}, as_json,
         "\n".join(f"campaign {k}: {v} reminders" for k, v in sent.items()) or "no reminders due")


@group.command("list")
@json_option
def list_(as_json):
    """List the campaigns with their status and deadline."""
    rows = [{"id": c.id, "name": c.name, "target": c.target, "status": c.status, "deadline_at": c.deadline_at}
            for c in campaigns.listing()]
    emit(rows, as_json, "\n".join(f"{r['id']}\t{r['status']}\t{r['name']}\t{r['target']}" for r in rows))
