"""One person in a campaign: what is still asked of them, and what they have done.

What they do is recorded wherever they do it: proving their address or setting a new
password leaves an audit event (registration, reset, account page or the campaign's own
pages alike), and a flush hook marks those steps on their running campaigns in the same
transaction, so nobody is asked again for something they already did.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from ...extensions import db
from ...models import AuditEvent, Campaign, CampaignMember, Identity
from ...models.campaign import RUNNING
from .. import audit, clock
from ..audit import Origin
from . import mailing, progress, targeting

SNOOZE = dt.timedelta(days=1)
# Audit event -> the member column it completes.
PROGRESS = {"email.verified": "email_verified_at", "email.changed": "email_verified_at",
            "identity.password_changed": "password_changed_at"}


def _pending(identity_id: int):
    now = clock.now()
    return (db.select(CampaignMember, Campaign).join(Campaign, Campaign.id == CampaignMember.campaign_id)
            .where(CampaignMember.identity_id == identity_id, CampaignMember.completed_at.is_(None),
                   Campaign.status == RUNNING, db.or_(Campaign.starts_at.is_(None), Campaign.starts_at <= now)))


def snoozed(member, campaign) -> bool:
    """'Remind me later' holds for a day, and never past the deadline."""
    now = clock.now()
    return member.snoozed_at is not None and member.snoozed_at > now - SNOOZE and not past_deadline(campaign)


def past_deadline(campaign) -> bool:
    return campaign.deadline_at is not None and campaign.deadline_at <= clock.now()


def asking(identity):
    """(member, campaign) whose actions this person must take at login now, or None.
    The nearest deadline first."""
    rows = db.session.execute(_pending(identity.id).order_by(
        Campaign.deadline_at.is_(None), Campaign.deadline_at, Campaign.id)).all()
    return next(((member, campaign) for member, campaign in rows if not snoozed(member, campaign)), None)


def may_snooze(member, campaign) -> bool:
    return not past_deadline(campaign) and (member.snoozed_at is None or member.snoozed_at <= clock.now() - SNOOZE)


def snooze(member, campaign, origin: Origin) -> bool:
    """'Remind me later': False after the deadline or when already used within a day.
    A conditional update, so two tabs or processes cannot both snooze."""
    now = clock.now()
    if past_deadline(campaign):
        return False
    done = db.session.execute(
        db.update(CampaignMember)
        .where(CampaignMember.id == member.id,
               db.or_(CampaignMember.snoozed_at.is_(None), CampaignMember.snoozed_at <= now - SNOOZE))
        .values(snoozed_at=now)).rowcount == 1
    if done:
        audit.record("campaign.snoozed", origin=origin, identity=member.identity_id, campaign=campaign.id)
    db.session.commit()
    db.session.refresh(member)
    return done


def by_link(member_id: int, signature: str):
    """(member, campaign, problem) for a mailed link; problem is None, 'invalid',
    'expired' (the deadline passed) or 'done' (everything asked is done)."""
    row = db.session.execute(
        db.select(CampaignMember, Campaign, Identity.email_normalized)
        .join(Campaign, Campaign.id == CampaignMember.campaign_id)
        .join(Identity, Identity.id == CampaignMember.identity_id)
        .where(CampaignMember.id == member_id)).one_or_none()
    if (row is None or not mailing.signature_matches(row[1].id, member_id, row[2], signature)
            or row[1].status != RUNNING):
        return None, None, "invalid"
    member, campaign, _address = row
    if member.completed_at is not None:
        return member, campaign, "done"
    if past_deadline(campaign):
        return member, campaign, "expired"
    return member, campaign, None


def note_link_opened(member, origin: Origin) -> None:
    if db.session.execute(
            db.update(CampaignMember).where(CampaignMember.id == member.id, CampaignMember.link_opened_at.is_(None))
            .values(link_opened_at=clock.now())).rowcount:
        audit.record("campaign.link_opened", origin=origin, identity=member.identity_id, campaign=member.campaign_id)


def missing(member, campaign) -> list[str]:
    return progress.missing(campaign, member)


def legacy_cut_off(system: str) -> bool:
    """Have the old credentials of `system` stopped working? True once a started campaign
    (not cancelled) targeting legacy-system:SYSTEM has passed its cutover time."""
    return _cut_over(Campaign.target == f"{targeting.LEGACY}:{system}")


def some_system_cut_off() -> bool:
    """Has any old system's cutover passed? Said to everyone whose password fails, so it
    tells nothing about the address typed."""
    return _cut_over(Campaign.target.startswith(f"{targeting.LEGACY}:"))


def _cut_over(target) -> bool:
    return db.session.execute(
        db.select(Campaign.id).where(target, Campaign.status == RUNNING, Campaign.started_at.is_not(None),
                                     Campaign.cutover_at <= clock.now())
        .limit(1)).first() is not None


def _record_progress(session, _context, _instances) -> None:
    steps = [(event.identity_id, PROGRESS[event.event]) for event in session.new
             if isinstance(event, AuditEvent) and event.event in PROGRESS and event.result == "success"
             and event.identity_id is not None]
    if not steps:
        return
    now = clock.now()
    with session.no_autoflush:
        for identity_id, column in steps:
            for member, campaign in session.execute(_pending(identity_id)).all():
                if getattr(member, column) is None:
                    setattr(member, column, now)
                if not progress.missing(campaign, member):
                    member.completed_at = now


sa.event.listen(sa.orm.Session, "before_flush", _record_progress)
