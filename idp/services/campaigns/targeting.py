"""Who a campaign asks: the TARGET string, and the set-based SQL that makes them members.

legacy-system:NAME  identities linked to an imported account of that old system
org:ID              members of the organisation
unverified-email    identities whose address was never proven
all                 everyone
emails:FILE         the listed addresses (one a line); resolved when the campaign is
                    created, so the list itself lives on as the members
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...errors import ValidationFailed
from ...extensions import db
from ...models import CampaignMember, Identity, LegacyAccount, Membership, Organisation, row_id
from ...models.identity import normalise_email
from .. import identities

LEGACY, ORG, UNVERIFIED, ALL, EMAILS = "legacy-system", "org", "unverified-email", "all", "emails"
MAX_TARGET = 300  # Campaign.target
# Addresses resolved per statement when a list is materialised: bounded IN lists.
CHUNK = 500


def parse(target: str) -> tuple[str, str]:
    """(kind, argument) of a TARGET string; ValidationFailed when it is not one."""
    kind, sep, argument = (target or "").strip().partition(":")
    if kind in (UNVERIFIED, ALL) and not sep:
        return kind, ""
    if kind == ORG and argument.isascii() and argument.isdigit():
        return kind, argument
    if kind in (LEGACY, EMAILS) and argument.strip():
        return kind, argument.strip()
    raise ValidationFailed(_l("Unknown target %(target)s. Use legacy-system:NAME, org:ID, unverified-email, all "
                              "or emails:FILE.", target=target))


def normalise(target: str) -> str:
    """The TARGET as stored: kind and argument without the spaces typed around them, so
    `legacy-system: kirjasto` is the legacy-system:kirjasto the cutover looks for. A list's
    path longer than the column keeps its end, which names the file: it is only shown."""
    kind, argument = parse(target)
    stored = f"{kind}:{argument}" if argument else kind
    if kind == EMAILS and len(stored) > MAX_TARGET:
        stored = f"{kind}:\u2026{argument[len(stored) - MAX_TARGET + 1:]}"
    return stored


def check_known(kind: str, argument: str) -> None:
    """ValidationFailed for an old system nothing was imported from or an organisation that
    is not there: such a campaign would ask nobody, and its cutover, which names the
    system exactly, would never come."""
    if kind == LEGACY:
        systems = db.session.execute(db.select(LegacyAccount.system).distinct().order_by(LegacyAccount.system)
                                     ).scalars().all()
        if argument not in systems:
            raise ValidationFailed(_l("No accounts were imported from an old system named %(name)s. Imported "
                                      "systems: %(systems)s.", name=argument, systems=", ".join(systems) or "-"))
    number = row_id.parse(argument) if kind == ORG else None
    if kind == ORG and (number is None or db.session.get(Organisation, number) is None):
        raise ValidationFailed(_l("There is no organisation %(id)s.", id=argument))


def _identity_ids(kind: str, argument: str):
    """SELECT of the ids of everyone the target means now (not for emails: those are stored)."""
    ids = db.select(Identity.id)
    if kind == LEGACY:
        return ids.where(Identity.id.in_(
            db.select(LegacyAccount.identity_id).where(LegacyAccount.system == argument,
                                                       LegacyAccount.identity_id.is_not(None))))
    if kind == ORG:
        return ids.where(Identity.id.in_(
            db.select(Membership.identity_id).where(Membership.organisation_id == int(argument))))
    if kind == UNVERIFIED:
        return ids.where(Identity.email_verified.is_(False))
    return ids


def count(target: str) -> int:
    """How many the target means right now (a draft's preview)."""
    kind, argument = parse(target)
    if kind == EMAILS:
        return 0
    query = _identity_ids(kind, argument).subquery()
    return db.session.execute(db.select(db.func.count()).select_from(query)).scalar_one()


def materialise(campaign) -> int:
    """INSERT … SELECT the members in one statement; returns how many there are."""
    kind, argument = parse(campaign.target)
    if kind == EMAILS:  # stored when the list was read
        return db.session.execute(db.select(db.func.count()).where(CampaignMember.campaign_id == campaign.id)
                                  ).scalar_one()
    ids = _identity_ids(kind, argument).subquery()
    insert = db.insert(CampaignMember.__table__).from_select(
        ["campaign_id", "identity_id", "reminders_sent"], db.select(db.literal(campaign.id), ids.c.id, db.literal(0)))
    return db.session.execute(insert, execution_options={"preserve_rowcount": True}).rowcount


def add_listed(campaign, lines) -> dict:
    """Store the identities of the listed addresses as members of a draft.

    Returns {"listed", "added", "unknown": [addresses], "invalid": [lines]}.
    """
    wanted: dict[str, str] = {}
    invalid = []
    for line in lines:
        address = line.strip()
        if not address or address.startswith("#"):
            continue
        if not identities.valid_email(address):
            invalid.append(address)
            continue
        wanted.setdefault(normalise_email(address), address)
    found: set[str] = set()
    normalised = list(wanted)
    for start in range(0, len(normalised), CHUNK):
        chunk = normalised[start:start + CHUNK]
        rows = db.session.execute(
            db.select(Identity.id, Identity.email_normalized).where(Identity.email_normalized.in_(chunk))).all()
        found.update(email for _, email in rows)
        if rows:
            db.session.execute(db.insert(CampaignMember), [
                {"campaign_id": campaign.id, "identity_id": identity_id, "reminders_sent": 0}
                for identity_id, _ in rows])
    unknown = [wanted[email] for email in normalised if email not in found]
    return {"listed": len(wanted), "added": len(found), "unknown": unknown, "invalid": invalid}
