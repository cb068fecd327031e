"""Organisations named by imported rows: created by business id, joined with the row's role.

Runs after the accounts are written, once per import, on the rows whose link was not yet
applied (new rows, and rows now naming another organisation or person; see
LegacyAccount.org_linked_at). So a re-import changes nothing: a member an admin removed
stays removed, and an existing membership keeps its role (the first admin an
organisation got is kept and nobody is demoted). An import killed before this step
leaves its links unapplied, and the next run applies them. An organisation its rows name
only members of is left without an admin: the report names it (`without_admin`) with the
command that makes one.
"""
from __future__ import annotations

from ...extensions import db
from ...models import Identity, LegacyAccount, Membership, Organisation
from ...models.organisation import ADMIN, MEMBER
from .. import audit, business_id, clock


def join(system: str) -> int:
    """Memberships created from this system's rows not yet applied."""
    pending = (LegacyAccount.system == system, LegacyAccount.identity_id.is_not(None),
               LegacyAccount.org_business_id.is_not(None), LegacyAccount.org_linked_at.is_(None))
    rows = db.session.execute(
        db.select(LegacyAccount.identity_id, LegacyAccount.org_business_id, LegacyAccount.org_role, Identity.email)
        .join(Identity, Identity.id == LegacyAccount.identity_id)
        .where(*pending).distinct().order_by(LegacyAccount.org_business_id, LegacyAccount.identity_id)
    ).all()
    created = 0
    organisations: dict[str, Organisation] = {}
    for identity_id, raw_business_id, role, email in rows:
        normalised = business_id.normalise(raw_business_id)
        if normalised is None:  # stored before rows.check refused such a row
            continue
        organisation = organisations.get(normalised) or db.session.execute(
            db.select(Organisation).filter_by(business_id=normalised)).scalar_one_or_none()
        if organisation is None:
            # The old systems knew the business id only; an admin can rename it later.
            organisation = Organisation(name=normalised, business_id=normalised)
            db.session.add(organisation)
            db.session.flush()
            audit.record("org.created", organisation=organisation, business_id=normalised, source=f"legacy:{system}")
        organisations[normalised] = organisation
        # The person's row held (Identity.hold) before the membership and its record name
        # them: an account deleted at this moment waits for this step, or is gone, and skipped.
        if not Identity.hold(identity_id):
            continue
        exists = db.session.execute(db.select(Membership.id).filter_by(
            identity_id=identity_id, organisation_id=organisation.id)).first()
        if exists is None:
            # rows.check took only admin, member or none; rows stored before it may say "Admin".
            role = ADMIN if (role or "").lower() == ADMIN else MEMBER
            db.session.add(Membership(identity_id=identity_id, organisation_id=organisation.id, role=role))
            # Named as an operator's adding names them: the admins' activity list reads the
            # member, and shows the one who made the change (nobody here) after it.
            audit.record("org.member_added", organisation=organisation, member=email, role=role,
                         source=f"legacy:{system}")
            created += 1
    db.session.execute(db.update(LegacyAccount).where(*pending).values(org_linked_at=clock.now()))
    db.session.commit()
    return created


def without_admin(system: str) -> list[Organisation]:
    """The organisations this system's rows name that have members but no admin: made by
    rows saying "member" only, or left so since. Told at every import until an operator
    names an admin (`tunnus orgs set-role`), as no admin can do it there."""
    named = {business_id.normalise(value) for value in db.session.execute(
        db.select(LegacyAccount.org_business_id).where(LegacyAccount.system == system,
                                                       LegacyAccount.org_business_id.is_not(None)).distinct()
    ).scalars()} - {None}
    if not named:
        return []
    has_admin = db.select(Membership.id).where(Membership.organisation_id == Organisation.id,
                                               Membership.role == ADMIN).exists()
    has_member = db.select(Membership.id).where(Membership.organisation_id == Organisation.id).exists()
    return list(db.session.execute(
        db.select(Organisation).where(Organisation.business_id.in_(sorted(named)), has_member, ~has_admin)
        .order_by(Organisation.business_id)
    ).scalars())
