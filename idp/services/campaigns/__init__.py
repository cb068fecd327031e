"""Password change campaigns: ask a set of people to prove their email address and set a
new password, mail them, remind them, and cut old credentials off at a set time.

A campaign is a draft until started. Starting stores its members and writes each one
mail in one transaction (targeting.py, mailing.py); login asks members what is still
pending (members.py, and the login step in flows/campaign.py); progress is counted from
the rows at query time (progress.py). Nothing is ever deleted: a cancelled campaign
keeps its members and mail (the mail without its body) for history. The diagram is
docs/flows/campaign.md.
"""
from __future__ import annotations

import datetime as dt
import time

from flask_babel import lazy_gettext as _l

from ...errors import Conflict, NotFound, ValidationFailed
from ...extensions import db
from ...models import Campaign, CampaignMember, OutboxMail, row_id
from ...models.campaign import CANCELLED, DRAFT, RUNNING
from ...models.outbox import FAILED, NO_BODY, PENDING, SENDING
from .. import audit, clock, names
from ..audit import SYSTEM, Origin
from . import mailing, progress, targeting
from .members import (asking, by_link, legacy_cut_off, may_snooze, missing, note_link_opened, past_deadline,
                      snooze, some_system_cut_off)

__all__ = ["REQUIREMENTS", "create", "start", "cancel", "remind_due", "get", "listing",
           "asking", "by_link", "legacy_cut_off", "may_snooze", "missing", "note_link_opened", "past_deadline",
           "snooze", "some_system_cut_off", "progress", "targeting", "mailing"]

REQUIREMENTS = ("verify_email", "change_password")


def get(campaign_id) -> Campaign:
    number = row_id.parse(campaign_id)
    campaign = db.session.get(Campaign, number) if number is not None else None
    if campaign is None:
        raise NotFound()
    return campaign


def listing() -> list[Campaign]:
    return list(db.session.execute(db.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc()))
                .scalars())


def create(name: str, target: str, requirements: list[str], *, starts_at: dt.datetime | None = None,
           deadline_at: dt.datetime | None = None, cutover_at: dt.datetime | None = None,
           reminder_days: list[int] = (), rate_per_minute: int | None = None, email_lines=None,
           origin: Origin = SYSTEM) -> tuple[Campaign, dict]:
    """A draft campaign, and what its target found ({"targeted"}, plus "unknown" and
    "invalid" addresses for an emails:FILE target, whose lines are `email_lines`)."""
    target = targeting.normalise(target)
    kind, argument = targeting.parse(target)
    targeting.check_known(kind, argument)
    name = names.one_line(name)
    if not name or len(name) > 200:
        raise ValidationFailed(_l("Give the campaign a name of at most 200 characters."))
    if not requirements or set(requirements) - set(REQUIREMENTS):
        raise ValidationFailed(_l("Require verify_email, change_password or both."))
    if deadline_at and starts_at and deadline_at <= starts_at:
        raise ValidationFailed(_l("The deadline must be after the start."))
    if deadline_at and deadline_at <= clock.now():
        raise ValidationFailed(_l("The deadline has passed: give one in the future."))
    if cutover_at and kind != targeting.LEGACY:
        raise ValidationFailed(_l("A cutover applies only to a legacy-system target."))
    if cutover_at and starts_at and cutover_at < starts_at:
        # Old passwords would stop before the first mail tells anyone to move.
        raise ValidationFailed(_l("The cutover must not come before the start."))
    if cutover_at and deadline_at and cutover_at < deadline_at:
        # The mail gives people until the deadline; old passwords must work that long.
        raise ValidationFailed(_l("The cutover must not come before the deadline."))
    if any(day < 1 for day in reminder_days) or (rate_per_minute is not None and rate_per_minute < 1):
        raise ValidationFailed(_l("Reminder days and the rate must be positive numbers."))
    campaign = Campaign(name=name, target=target, requirements=[r for r in REQUIREMENTS if r in requirements],
                        starts_at=starts_at, deadline_at=deadline_at, cutover_at=cutover_at,
                        reminder_days=sorted(set(reminder_days)), rate_per_minute=rate_per_minute, status=DRAFT)
    db.session.add(campaign)
    db.session.flush()
    if kind == targeting.EMAILS:
        found = targeting.add_listed(campaign, email_lines or [])
        found = {"targeted": found["added"], "unknown": found["unknown"], "invalid": found["invalid"]}
        if not found["targeted"]:
            # The list is the campaign's people for good: with nobody in it, it could not ask
            # anyone, ever (a file of the wrong system's addresses, or the wrong file).
            db.session.rollback()
            raise ValidationFailed(_l("Nobody listed in the file has an account (%(unknown)d unknown and %(invalid)d "
                                      "invalid addresses): no campaign was created.",
                                      unknown=len(found["unknown"]), invalid=len(found["invalid"])))
    else:
        found = {"targeted": targeting.count(campaign.target)}
    audit.record("campaign.created", origin=origin, campaign=campaign.id, target=campaign.target,
                 **{key: value if isinstance(value, int) else len(value) for key, value in found.items()})
    db.session.commit()
    return campaign, found


def _locked(campaign_id) -> Campaign:
    return db.session.execute(
        db.select(Campaign).where(Campaign.id == get(campaign_id).id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one()


def start(campaign_id, origin: Origin = SYSTEM) -> dict:
    """Store the members and write everyone's mail, all in one transaction."""
    campaign = _locked(campaign_id)
    if campaign.status != DRAFT:
        db.session.rollback()
        raise Conflict(_l("Only a draft campaign can be started."))
    if past_deadline(campaign):  # its links would not open and its mail would ask the impossible
        db.session.rollback()
        raise Conflict(_l("The campaign's deadline has passed. Create a new campaign with a later deadline."))
    now = clock.now()
    campaign.status, campaign.started_at = RUNNING, now
    began = time.perf_counter()
    members = targeting.materialise(campaign)
    stored = time.perf_counter()
    mailed = mailing.write(mailing.INVITE, campaign, db.true(), send_at=max(now, campaign.starts_at or now))
    written = time.perf_counter()
    audit.record("campaign.started", origin=origin, campaign=campaign.id, members=members, mailed=mailed)
    db.session.commit()
    # The seconds are for the operator starting a big campaign: where the time went.
    return {"members": members, "mailed": mailed, "members_seconds": round(stored - began, 2),
            "mail_seconds": round(written - stored, 2), "commit_seconds": round(time.perf_counter() - written, 2)}


def cancel(campaign_id, origin: Origin = SYSTEM) -> dict:
    """Stop asking and mailing; unsent mail is marked failed. Members and mail stay for history."""
    campaign = _locked(campaign_id)
    if campaign.status == CANCELLED:
        db.session.rollback()
        raise Conflict(_l("The campaign is already cancelled."))
    campaign.status, campaign.cancelled_at = CANCELLED, clock.now()
    withdrawn = db.session.execute(
        # SENDING too: one whose sender died would wait forever (only running campaigns are
        # sent); one still being sent is recorded as sent after all, as it went.
        db.update(OutboxMail).where(OutboxMail.campaign_id == campaign.id, OutboxMail.status.in_((PENDING, SENDING)))
        .values(status=FAILED, last_error="campaign cancelled", **NO_BODY)).rowcount
    audit.record("campaign.cancelled", origin=origin, campaign=campaign.id, unsent_mail_withdrawn=withdrawn)
    db.session.commit()
    return {"withdrawn": withdrawn}


def reminders_due(campaign) -> int:
    """How many of the campaign's reminder days have come (counted from its start)."""
    if campaign.status != RUNNING or campaign.started_at is None or past_deadline(campaign):
        return 0
    began = max(campaign.started_at, campaign.starts_at or campaign.started_at)
    # Counted back from now: a start near the year 9999 plus the days is beyond datetime.
    return sum(1 for day in campaign.reminder_days if clock.now() - began >= dt.timedelta(days=day))


def remind_due(origin: Origin = SYSTEM) -> dict[int, int]:
    """Mail a reminder to everyone still pending (not bounced) whose next reminder day has
    come; a late run sends one reminder, not one per missed day. {campaign id: mailed}."""
    sent = {}
    for campaign_id in db.session.execute(db.select(Campaign.id).where(Campaign.status == RUNNING)).scalars().all():
        campaign = _locked(campaign_id)  # two reminder runs at once must not mail twice
        due = reminders_due(campaign)
        still = db.and_(CampaignMember.completed_at.is_(None), CampaignMember.bounced_at.is_(None),
                        CampaignMember.reminders_sent < due)
        mailed = mailing.write(mailing.REMINDER, campaign, still, send_at=clock.now()) if due else 0
        if mailed:
            db.session.execute(db.update(CampaignMember).where(CampaignMember.campaign_id == campaign.id, still)
                               .values(reminders_sent=due))
            audit.record("campaign.reminded", origin=origin, campaign=campaign.id, mailed=mailed, reminder=due)
            sent[campaign.id] = mailed
        db.session.commit()
    return sent
