"""How far a campaign has got, counted from the rows themselves at query time.

No tally is kept beside the members and the outbox, so nothing can drift: two app
processes updating people at once simply update different rows. Every count is one
aggregate (COUNT(column) counts the rows where it is set; SQLite and PostgreSQL alike).
"""
from __future__ import annotations

import csv
import io
import unicodedata

from ...extensions import db
from ...models import CampaignMember, Identity
from . import targeting

STATES = ("targeted", "mailed", "delivered", "bounced", "logged", "link_opened", "email_verified",
          "password_changed", "completed")
# State -> the member column recording when it happened to a person. The sender sets
# last_mailed_at when the mail server accepts a campaign mail, bounced_at when it refuses,
# logged_at when there is no mail server (IDP_SMTP_URL) and the mail was only logged.
COLUMNS = {"delivered": CampaignMember.last_mailed_at, "bounced": CampaignMember.bounced_at,
           "logged": CampaignMember.logged_at,
           "link_opened": CampaignMember.link_opened_at, "email_verified": CampaignMember.email_verified_at,
           "password_changed": CampaignMember.password_changed_at, "completed": CampaignMember.completed_at}
REQUIREMENT_COLUMNS = {"verify_email": CampaignMember.email_verified_at,
                       "change_password": CampaignMember.password_changed_at}


def funnel(campaign) -> dict[str, int]:
    """Counts per state, from one aggregate over the campaign's members. Mailed: the mail
    server took a mail for the person (delivered) or refused it (bounced); a mail only
    logged (logged) is neither."""
    left = db.case((db.or_(CampaignMember.last_mailed_at.is_not(None), CampaignMember.bounced_at.is_not(None)), 1))
    row = db.session.execute(
        db.select(db.func.count(), db.func.count(left), *(db.func.count(column) for column in COLUMNS.values()))
        .where(CampaignMember.campaign_id == campaign.id)).one()
    counts = dict(zip(["targeted", "mailed", *COLUMNS], row))
    if campaign.started_at is None and targeting.parse(campaign.target)[0] != targeting.EMAILS:
        counts["targeted"] = targeting.count(campaign.target)  # who it would reach if started now
    return {state: counts[state] for state in STATES}


def daily(campaign) -> list[dict]:
    """One entry per day (UTC) on which anything happened: {"day": "YYYY-MM-DD", state: count}.
    A person mailed again (a reminder) counts as delivered on the day of the latest mail."""
    day = db.func.date  # date(timestamp) is a function in SQLite and a cast in PostgreSQL
    parts = [db.select(db.literal(state), day(column), db.func.count())
             .where(CampaignMember.campaign_id == campaign.id, column.is_not(None)).group_by(day(column))
             for state, column in COLUMNS.items()]
    days: dict[str, dict] = {}
    for state, on, number in db.session.execute(db.union_all(*parts)):
        entry = days.setdefault(str(on), {"day": str(on), **{s: 0 for s in COLUMNS}})
        entry[state] = number
    return [days[key] for key in sorted(days)]


def _pending_query(campaign, search: str | None):
    query = (db.select(CampaignMember, Identity.email, Identity.name)
             .join(Identity, Identity.id == CampaignMember.identity_id)
             .where(CampaignMember.campaign_id == campaign.id, CampaignMember.completed_at.is_(None))
             .order_by(Identity.email_normalized))
    if search and search.strip():
        # Composed, as the addresses are (a search pasted from a decomposed export finds them too).
        typed = unicodedata.normalize("NFC", search.strip().lower())
        escaped = typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        # The address as shown too: the stored form's domain is IDNA-encoded (xn--...).
        query = query.where(db.or_(Identity.email_normalized.like(pattern, escape="\\"),
                                   db.func.lower(Identity.email).like(pattern, escape="\\"),
                                   db.func.lower(Identity.name).like(pattern, escape="\\")))
    return query


def missing(campaign, member) -> list[str]:
    """The requirements this member has still to do."""
    return [requirement for requirement, column in REQUIREMENT_COLUMNS.items()
            if requirement in campaign.requirements and getattr(member, column.key) is None]


def pending(campaign, search: str | None = None, limit: int | None = None):
    """The people still to act, by email: dicts with what is missing and whether mail bounced."""
    query = _pending_query(campaign, search)
    if limit is not None:
        query = query.limit(limit)
    for member, email, name in db.session.execute(query.execution_options(yield_per=2000)):
        yield {"email": email, "name": name, "missing": missing(campaign, member),
               "bounced": member.bounce_reason if member.bounced_at else None,
               "last_mailed_at": member.last_mailed_at, "logged_at": member.logged_at,
               "reminders_sent": member.reminders_sent,
               "link_opened_at": member.link_opened_at}


def pending_count(campaign, search: str | None = None) -> int:
    query = _pending_query(campaign, search).order_by(None).subquery()
    return db.session.execute(db.select(db.func.count()).select_from(query)).scalar_one()


CSV_COLUMNS = ("email", "name", "missing", "bounced", "last_mailed_at", "reminders_sent")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    """A name like "=HYPERLINK(...)" must not become a formula in the operator's spreadsheet.
    Excel in Finnish and Swedish splits a .csv at ";", not ",": a cell begins after each."""
    return ";".join("'" + part if part.lstrip(' "')[:1] in FORMULA_STARTS else part for part in value.split(";"))


def pending_csv(campaign, search: str | None = None):
    """The pending list as CSV text, a line at a time (a million rows never sit in memory)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in pending(campaign, search):
        writer.writerow([_cell(row["email"]), _cell(row["name"]), " ".join(row["missing"]),
                         _cell(row["bounced"] or ""),
                         row["last_mailed_at"].isoformat(timespec="seconds") if row["last_mailed_at"] else "",
                         row["reminders_sent"]])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
