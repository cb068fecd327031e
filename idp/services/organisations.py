"""Organisations: members, admins and the service rights admins grant.

Rules: an organisation always keeps an admin; every change is audited with the
organisation named, so its admins see it as activity; an invitation (what an admin
makes, and what an operator's add_member makes for an address without an identity)
waits and takes effect when that address signs in verified, within IDP_INVITATION_TTL
(an admin may withdraw it before; it goes when its maker stops being an admin there, and
all go when the last member leaves).
"""
from __future__ import annotations

import datetime as dt
import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..errors import Conflict, NotFound, ValidationFailed
from ..extensions import db
from ..models import Client, Identity, Invitation, LoginSession, Membership, Organisation, ServiceRight, Token, row_id
from ..models.identity import composed_email, normalise_email
from ..models.organisation import ACTIVE, ADMIN, MEMBER, SUSPENDED
from . import audit, business_id, clock, collation, mail, names
from .audit import SYSTEM, Origin
from .identities import valid_email
from .unique_rows import add_or_existing

ROLES = (ADMIN, MEMBER)
# Client.org_mode of the services people use acting for an organisation.
FOR_ORGANISATIONS = ("business", "both")


class LastAdmin(Conflict):
    id = "last_admin"
    message = _l("An organisation must always have an admin. Make someone else an admin first.")


def create(name: str, business: str | None, *, origin: Origin = SYSTEM) -> Organisation:
    name = names.one_line(name)
    if not name or len(name) > 200:
        raise ValidationFailed(_l("Give the organisation a name (at most 200 characters)."))
    normalised = None
    if business:
        normalised = business_id.normalise(business)
        if normalised is None:
            raise ValidationFailed(_l("The business ID is not valid: check the format 1234567-1 and the last digit."))
        if db.session.execute(db.select(Organisation.id).filter_by(business_id=normalised)).first():
            raise Conflict(_l("An organisation with this business ID already exists."))
    organisation = Organisation(name=name, business_id=normalised)
    db.session.add(organisation)
    db.session.flush()
    audit.record("org.created", origin=origin, organisation=organisation, name=name, business_id=normalised)
    return organisation


def get(organisation_id) -> Organisation:
    number = row_id.parse(organisation_id)
    found = db.session.get(Organisation, number) if number is not None else None
    if found is None:
        raise NotFound()
    return found


def by_business_id(value: str) -> Organisation | None:
    normalised = business_id.normalise(value)
    if normalised is None:  # not one: filter_by(business_id=None) would find those without one
        return None
    return db.session.execute(db.select(Organisation).filter_by(business_id=normalised)).scalar_one_or_none()


def membership(organisation, identity) -> Membership | None:
    if identity is None:
        return None
    return db.session.execute(
        db.select(Membership).filter_by(organisation_id=organisation.id, identity_id=identity.id)
    ).scalar_one_or_none()


def membership_to_end(organisation, identity) -> Membership | None:
    """The person's membership as committed now, to leave it: the organisation is locked
    first (until the commit), as an admin's change locks it. Read before the lock, the
    membership of someone an admin made an admin meanwhile still said "member", and leaving
    skipped the check that an admin stays (_guard_last_admin); an admin's change to it at
    that moment failed on the row gone."""
    _lock(organisation)
    return db.session.execute(db.select(Membership).filter_by(
        organisation_id=organisation.id, identity_id=identity.id).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def is_admin(organisation, identity, *, for_change: bool = False) -> bool:
    """for_change: the person is about to change the organisation as its admin. The
    organisation's row is locked first (until the commit), as demoting or removing an
    admin locks it (_guard_last_admin): an admin demoted by another at the same moment is
    then seen demoted, never let through on a check made just before."""
    if for_change:
        _lock(organisation)
    # The role as committed now, not as an object loaded earlier in the session remembers it.
    role = db.session.execute(db.select(Membership.role).filter_by(
        organisation_id=organisation.id, identity_id=identity.id)).scalar_one_or_none()
    return role == ADMIN


def members(organisation) -> list[Membership]:
    return list(db.session.execute(
        db.select(Membership).filter_by(organisation_id=organisation.id).join(Identity).order_by(Identity.email)
    ).scalars())


def admins(organisation) -> list[Identity]:
    return [m.identity for m in members(organisation) if m.role == ADMIN]


def pending_invitations(organisation) -> list[Invitation]:
    """Invitations still waiting to be accepted, expired ones left out."""
    return list(db.session.execute(
        db.select(Invitation).where(Invitation.organisation_id == organisation.id, *_pending())
        .order_by(Invitation.email)
    ).scalars())


def expires_at(invitation: Invitation) -> dt.datetime:
    return invitation.created_at + dt.timedelta(seconds=current_app.config["IDP_INVITATION_TTL"])


def _pending():
    """Not accepted, and not older than IDP_INVITATION_TTL: an invitation left lying (its
    inviter may since have lost the right to make it) must not take effect years later."""
    oldest = clock.now() - dt.timedelta(seconds=current_app.config["IDP_INVITATION_TTL"])
    return Invitation.accepted_at.is_(None), Invitation.created_at > oldest


def add_member(organisation, email: str, role: str = MEMBER, *, actor=None, origin: Origin = SYSTEM,
               clients: list[Client] = (), display_name: str | None = None) -> Membership | Invitation:
    """Add the person with this email, or invite the address if nobody has it yet (for
    operators and imports; an organisation's admins `invite`).
    `display_name`: how the organisation names them (Membership.display_name)."""
    identity = _not_yet_member(organisation, email, role)
    display_name = _display_name(display_name)
    _check_display_name(organisation, display_name, None, email=email)
    if identity is None:
        return _invite(organisation, email, role, actor=actor, origin=origin, clients=clients,
                       display_name=display_name)
    joined = Membership(identity_id=identity.id, organisation_id=organisation.id, role=role,
                        display_name=display_name)
    db.session.add(joined)
    db.session.flush()
    audit.record("org.member_added", origin=origin, identity=actor, organisation=organisation,
                 member=identity.email, role=role)
    for client in clients:
        grant(organisation, joined, client, actor=actor, origin=origin)
    return joined


def invite(organisation, email: str, role: str = MEMBER, *, actor=None, origin: Origin = SYSTEM,
           clients: list[Client] = (), locale: str | None = None) -> Invitation:
    """Invite the address whether or not someone has it; it joins when it next signs in
    verified. So an admin inviting by address learns neither whether it has an account
    nor whose it is. `locale`: the language of the admin's page."""
    _not_yet_member(organisation, email, role)
    return _invite(organisation, email, role, actor=actor, origin=origin, clients=clients, display_name=None,
                   locale=locale)


def _not_yet_member(organisation, email: str, role: str) -> Identity | None:
    """The identity with this address, if any, after checking the role and the address."""
    if role not in ROLES:
        raise ValidationFailed(_l("Unknown role."))
    if not valid_email(email):
        raise ValidationFailed(_l("Enter a valid email address, such as name@example.com."))
    identity = Identity.by_email(email)
    if membership(organisation, identity) is not None:
        raise Conflict(_l("%(email)s is already a member.", email=identity.email))
    return identity


def _invite(organisation, email, role, *, actor, origin, clients, display_name, locale=None) -> Invitation:
    normalised = normalise_email(email)

    def waiting() -> Invitation | None:
        return db.session.execute(
            db.select(Invitation).filter_by(organisation_id=organisation.id, email_normalized=normalised)
        ).scalar_one_or_none()

    # A double click's other request may add it first; then this one renews that one.
    invitation = waiting() or add_or_existing(
        Invitation(organisation_id=organisation.id, email=composed_email(email), email_normalized=normalised, role=role),
        waiting)
    invitation.role = role
    invitation.display_name = display_name or invitation.display_name
    invitation.client_ids = sorted({*(invitation.client_ids or ()), *(c.id for c in clients)})
    invitation.invited_by_id = getattr(actor, "id", None)
    invitation.created_at, invitation.accepted_at = clock.now(), None  # a new invitation: a new time to accept it
    audit.record("org.member_invited", origin=origin, identity=actor, organisation=organisation,
                 member=normalised, role=role)
    # In the language of the address's own account where it has one; else the admin's page's
    # (before, an admin with no language stored sent Finnish from a Swedish page), else the
    # inviter's is the best guess. The admin's page looks the same either way.
    locale = getattr(Identity.by_email(email), "locale", None) or locale or getattr(actor, "locale", None)
    mail.enqueue("org_invitation", invitation.email, locale, organisation=organisation, inviter=actor,
                 expires_at=expires_at(invitation))
    return invitation


def withdraw_invitation(organisation, invitation: Invitation, *, actor=None, origin: Origin = SYSTEM) -> None:
    """The invitation no longer takes effect; the address can be invited again."""
    db.session.delete(invitation)
    audit.record("org.invitation_withdrawn", origin=origin, identity=actor, organisation=organisation,
                 member=invitation.email_normalized, role=invitation.role)


def invitations_waiting_for(identity) -> list[Invitation]:
    """Invitations to the person's address still waiting. Until the address is proven
    theirs, they are not the person's to accept, nor to see."""
    if not identity.email_verified:
        return []
    return list(db.session.execute(
        db.select(Invitation).where(Invitation.email_normalized == identity.email_normalized, *_pending())
        .order_by(Invitation.created_at, Invitation.id)
    ).scalars())


def accept_invitations(identity, *, origin: Origin) -> list[Membership]:
    """Turn invitations to this (verified) address into memberships. The caller commits,
    and holds no lock on the person yet (sessions.start commits the session first)."""
    accepted = []
    waiting = sorted(invitations_waiting_for(identity), key=lambda i: i.organisation_id)
    # The organisations, then the person's row (the rows below name them), as an admin's
    # change takes them (docs/resilience.md): a removal of this member at this moment would
    # otherwise wait for the person this waits with, while holding the organisation this
    # waits for. In the organisations' order: two people's sign-ins lock theirs in the same order.
    for organisation_id in sorted({invitation.organisation_id for invitation in waiting}):
        _lock(db.session.get(Organisation, organisation_id))
    if waiting and not Identity.hold(identity.id):  # deleted meanwhile
        return accepted
    for invitation in waiting:
        organisation = db.session.get(Organisation, invitation.organisation_id)
        # An admin may be withdrawing or renewing it at this moment, or this person's sign-in
        # in another tab accepting it: read again under the organisation's lock, which every
        # admin change takes first, it is taken as it then stands, or not at all when gone.
        invitation = _pending_now(invitation)
        if invitation is None:
            continue
        joined = membership(organisation, identity) or add_or_existing(
            Membership(identity_id=identity.id, organisation_id=organisation.id, role=invitation.role),
            lambda: membership(organisation, identity))
        if not joined.display_name and not _named_already(organisation, invitation.display_name, joined,
                                                          invitation.email_normalized):
            # A name another member was given meanwhile stays theirs; an admin names this one.
            joined.display_name = invitation.display_name
        for client_id in invitation.client_ids:
            client = db.session.get(Client, client_id)
            if client is not None:
                _add_right(joined, client, invitation.invited_by_id)
        # Taken up: the membership and the record below are its history. Kept, it held the
        # address, the name given and the rights for good, and an admin's new invitation to
        # the address once removed renewed it, that name and those rights with it.
        db.session.delete(invitation)
        audit.record("org.invitation_accepted", origin=origin, identity=identity, organisation=organisation,
                     role=invitation.role)
        accepted.append(joined)
    return accepted


def join_waiting(identity, *, origin: Origin) -> None:
    """Invitations that came while the person was signed in take effect when they next open
    a service, their account or their organisations: waiting for their next sign-in, a
    30-day session would let them run out unseen."""
    if not invitations_waiting_for(identity):  # as mostly: nothing to lock, nothing to write
        return
    accept_invitations(identity, origin=origin)
    db.session.commit()  # the organisations' locks end with it, whatever was accepted


def _pending_now(invitation: Invitation) -> Invitation | None:
    """The invitation as now committed (an admin may have renewed it), if still waiting."""
    return db.session.execute(
        db.select(Invitation).where(Invitation.id == invitation.id, *_pending())
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def remove_member(organisation, member: Membership, *, actor=None, origin: Origin = SYSTEM) -> None:
    _guard_last_admin(organisation, member, leaving=getattr(actor, "id", None) == member.identity_id)
    email = member.identity.email
    _revoke_tokens(member.identity_id, organisation.id, client_id=None)
    # Off its kiosks' list, a resident signed in at one is signed out there; before, the
    # kiosk signed them in again without a PIN for as long as the session was used.
    _end_kiosk_sessions(organisation, origin, "member_removed", member.identity_id)
    db.session.delete(member)
    audit.record("org.member_removed", origin=origin, identity=actor, organisation=organisation, member=email)
    _withdraw_invitations(organisation, member.identity_id, actor=actor, origin=origin)


def set_role(organisation, member: Membership, role: str, *, actor=None, origin: Origin = SYSTEM) -> None:
    if role not in ROLES:
        raise ValidationFailed(_l("Unknown role."))
    if role == member.role:
        return
    if role == MEMBER:
        _guard_last_admin(organisation, member)
        # Their tokens say `roles: ["admin"]` (org claim): a service must not go on trusting it.
        _revoke_tokens(member.identity_id, organisation.id, client_id=None)
    member.role = role
    audit.record("org.role_changed", origin=origin, identity=actor, organisation=organisation,
                 member=member.identity.email, role=role)
    if role == MEMBER:
        _withdraw_invitations(organisation, member.identity_id, actor=actor, origin=origin)


def withdraw_before_deletion(identity, *, origin: Origin) -> None:
    """The account is being deleted, its memberships with it: the invitations it made go as
    when it is removed, and all where it was the only member. Only where it is an admin,
    which lock_administered locked already (it made none elsewhere: those went when it
    stopped being an admin there)."""
    for member in memberships_of(identity):
        if member.role == ADMIN:
            _withdraw_invitations(member.organisation, identity.id, actor=identity, origin=origin)


def _withdraw_invitations(organisation, made_by: int, *, actor, origin: Origin) -> None:
    """An invitation is made with its maker's admin right, and goes with it: waiting on,
    one made by an admin then removed (or one about to be) let its address in, their own
    other address as an admin too. An operator's (nobody's) stays, unless `made_by` is the
    last member: whoever joined the organisation they closed would find nobody to manage it."""
    others = db.session.execute(db.select(Membership.id).where(
        Membership.organisation_id == organisation.id, Membership.identity_id != made_by).limit(1)).first()
    whose = Invitation.invited_by_id == made_by if others else db.true()
    waiting = db.session.execute(db.select(Invitation).where(
        Invitation.organisation_id == organisation.id, whose, *_pending()).order_by(Invitation.id)).scalars().all()
    for invitation in waiting:
        withdraw_invitation(organisation, invitation, actor=actor, origin=origin)


DISPLAY_NAME_LENGTH = 100  # Membership.display_name


def set_display_name(organisation, member: Membership, name: str | None, *, actor=None,
                     origin: Origin = SYSTEM) -> None:
    """How the organisation names the member, e.g. "A 12": its kiosks list the member by it
    (residents without one are not listed). Empty clears it."""
    name = _display_name(name)
    if name == member.display_name:
        return
    _check_display_name(organisation, name, member, email=member.identity.email)
    member.display_name = name
    audit.record("org.display_name_changed", origin=origin, identity=actor, organisation=organisation,
                 member=member.identity.email, display_name=name)
    if name is None:
        _end_kiosk_sessions(organisation, origin, "taken_off_the_list", member.identity_id)


def _display_name(name: str | None) -> str | None:
    return names.one_line(name) or None


def _check_display_name(organisation, name: str | None, member: Membership | None, *, email: str) -> None:
    """Short enough, and no other member's, nor waiting for another address with its
    invitation: of two residents listed as "A 12", the one who tapped the wrong name would
    use up (and lock) the other's PIN attempts."""
    if name is None:
        return
    if len(name) > DISPLAY_NAME_LENGTH:
        raise ValidationFailed(_l("Use at most %(count)d characters.", count=DISPLAY_NAME_LENGTH))
    if _named_already(organisation, name, member, normalise_email(email)):
        raise Conflict(_l("Another member is listed as %(name)s already.", name=name))


def _named_already(organisation, name: str | None, member: Membership | None, email_normalized: str) -> bool:
    """Whether another member, or an invitation to another address still waiting, has this
    name (case, spaces and compatibility forms aside: "A １２" in full-width digits reads as
    "A 12" on a screen, and before was another name)."""
    if name is None:
        return False
    same = _as_read(name)
    invited = db.session.execute(
        db.select(Invitation.display_name).where(
            Invitation.organisation_id == organisation.id, Invitation.email_normalized != email_normalized,
            Invitation.display_name.is_not(None), *_pending())).scalars()
    names = [other.display_name for other in members(organisation) if other is not member and other.display_name]
    return any(_as_read(other) == same for other in [*names, *invited])


def _as_read(name: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def has_kiosks(organisation) -> bool:
    return db.session.execute(db.select(Client.id).filter_by(kiosk_organisation_id=organisation.id).limit(1)
                              ).first() is not None


def grant(organisation, member: Membership, client: Client, *, actor=None, origin: Origin = SYSTEM) -> ServiceRight:
    if client.org_mode not in FOR_ORGANISATIONS:
        # A consumer service takes people as themselves: a right there would do nothing,
        # and the admin page, which lists only the others, could never show or revoke it.
        raise ValidationFailed(_l("%(service)s is used by people for themselves, not for an organisation.",
                                  service=client.name))
    right, added = _add_right(member, client, getattr(actor, "id", None))
    if not added:  # granted already, maybe by a double click's other request (which recorded it)
        return right
    audit.record("org.right_granted", origin=origin, identity=actor, organisation=organisation,
                 client_id=client.client_id, member=member.identity.email, service=client.name)
    return right


def revoke(organisation, member: Membership, client: Client, *, actor=None, origin: Origin = SYSTEM) -> bool:
    """Whether the member had the right (and now has not); without it nothing changes."""
    # The person's row before their right's, as their leaving (or deleting the account)
    # holds the person and then deletes their rights with the membership: the right is read
    # once such a request committed, and is gone then.
    Identity.lock(member.identity_id)
    existing = _right(member, client)
    if existing is None:
        return False
    db.session.delete(existing)
    _revoke_tokens(member.identity_id, organisation.id, client_id=client.id)
    audit.record("org.right_revoked", origin=origin, identity=actor, organisation=organisation,
                 client_id=client.client_id, member=member.identity.email, service=client.name)
    return True


def services():
    """The services organisations grant rights to, by name (the admin page's columns)."""
    return collation.by_name(db.session.execute(
        db.select(Client).where(Client.org_mode.in_(FOR_ORGANISATIONS))).scalars())


def suspend(organisation, *, origin: Origin = SYSTEM) -> bool:
    """Nobody acts for it any more until resumed (a contract ended, a company wound up):
    the tokens issued for acting in it end now, and none are issued, nor kiosk sign-ins
    made, while it is suspended. Members, rights and invitations stay as they are, for
    resume. False when it was suspended already."""
    _lock(organisation)
    if organisation.status == SUSPENDED:
        return False
    organisation.status = SUSPENDED
    for member in members(organisation):  # by address: two suspensions lock people in one order
        _revoke_tokens(member.identity_id, organisation.id, None)
    audit.record("org.suspended", origin=origin, organisation=organisation)
    _end_kiosk_sessions(organisation, origin, "organisation_suspended")
    return True


def _end_kiosk_sessions(organisation, origin: Origin, reason: str, identity_id: int | None = None) -> None:
    """Residents signed in at its kiosks act as themselves, not for it, but the kiosks are
    the organisation's: their sessions end with it, or with the resident's place on its
    list (identity_id), tokens and relying services told."""
    from . import sessions  # sessions accepts invitations through this module

    kiosks = db.select(Client.id).where(Client.kiosk_organisation_id == organisation.id)
    whose = LoginSession.identity_id == identity_id if identity_id is not None else db.true()
    for session in db.session.execute(db.select(LoginSession).where(
            LoginSession.kiosk_client_id.in_(kiosks), LoginSession.ended_at.is_(None), whose)).scalars().all():
        sessions.end(session, origin=origin, reason=reason)


def resume(organisation, *, origin: Origin = SYSTEM) -> bool:
    """Its members act for it again, with the rights they had. False when it was not suspended."""
    _lock(organisation)
    if organisation.status != SUSPENDED:
        return False
    organisation.status = ACTIVE
    audit.record("org.resumed", origin=origin, organisation=organisation)
    return True


def rights(organisation) -> set[tuple[int, int]]:
    """(membership id, client id) pairs that hold a right in this organisation."""
    rows = db.session.execute(
        db.select(ServiceRight.membership_id, ServiceRight.client_id)
        .join(Membership, Membership.id == ServiceRight.membership_id)
        .where(Membership.organisation_id == organisation.id)
    )
    return {(m, c) for m, c in rows}


def organisations_with_right(identity, client) -> list[Organisation]:
    """Where this person may use this service, by name."""
    return collation.by_name(db.session.execute(
        db.select(Organisation)
        .join(Membership, Membership.organisation_id == Organisation.id)
        .join(ServiceRight, ServiceRight.membership_id == Membership.id)
        .where(Membership.identity_id == identity.id, ServiceRight.client_id == client.id,
               Organisation.status == ACTIVE)
    ).scalars())


def memberships_of(identity) -> list[Membership]:
    return collation.by_name(db.session.execute(
        db.select(Membership).filter_by(identity_id=identity.id).join(Organisation)
    ).scalars(), lambda member: member.organisation.name)


def set_active(login_session, identity, organisation_id: str, *, origin: Origin) -> None:
    """Act for this organisation (or for oneself with "") in this browser from now on."""
    # The person's row before the session's, as deleting the account takes them (the
    # record below names the person and would wait for a deletion that waits for the session).
    if not Identity.hold(identity.id):
        raise NotFound()
    chosen = None
    if organisation_id:
        chosen = next((m.organisation for m in memberships_of(identity) if str(m.organisation_id) == organisation_id),
                      None)
        if chosen is None:
            raise NotFound()
    login_session.organisation_id = chosen.id if chosen else None
    login_session.acting_personally = chosen is None
    audit.record("org.active_changed", origin=origin, identity=identity, organisation=chosen)


def activity(organisation, limit: int = 50) -> list[tuple]:
    """The latest changes to the organisation: (event, who made it or None)."""
    from ..models import AuditEvent

    return list(db.session.execute(
        db.select(AuditEvent, Identity)
        .outerjoin(Identity, Identity.id == AuditEvent.identity_id)
        .where(AuditEvent.organisation_id == organisation.id, AuditEvent.event != "org.active_changed")
        .order_by(AuditEvent.id.desc()).limit(limit)
    ).all())


def _right(member: Membership, client: Client) -> ServiceRight | None:
    return db.session.execute(
        db.select(ServiceRight).filter_by(membership_id=member.id, client_id=client.id)
    ).scalar_one_or_none()


def _add_right(member: Membership, client: Client, granted_by_id: int | None) -> tuple[ServiceRight, bool]:
    """The right, and whether this call added it."""
    existing = _right(member, client)
    if existing is not None:
        return existing, False
    added = ServiceRight(membership_id=member.id, client_id=client.id, granted_by_id=granted_by_id)
    right = add_or_existing(added, lambda: _right(member, client))
    return right, right is added


def sole_admin_of(identity) -> list[Organisation]:
    """The organisations this person is the only admin of, each locked as in
    _guard_last_admin, so no other admin leaves meanwhile."""
    sole = []
    for member in memberships_of(identity):
        try:
            _guard_last_admin(member.organisation, member, leaving=True)
        except LastAdmin:
            sole.append(member.organisation)
    return sole


def lock_administered(identity) -> None:
    """Lock the organisations this person is an admin of (until the commit), in the order
    sole_admin_of takes them."""
    for member in memberships_of(identity):
        if member.role == ADMIN:
            _lock(member.organisation)


def _guard_last_admin(organisation, member: Membership, leaving: bool = False) -> None:
    """LastAdmin if the change would leave members without an admin. The last member
    `leaving` of their own accord (a one-person company closing its account) leaves
    nobody to manage, nor anyone to join (its invitations go: _withdraw_invitations);
    removed by someone else, an organisation is never left empty."""
    if member.role != ADMIN:
        return
    # Two admins demoting or removing each other at once would each count the other still
    # there and both go ahead (write skew under READ COMMITTED). The organisation's row lock
    # makes such changes take turns: the later one counts after the earlier committed.
    _lock(organisation)
    admins, members = db.session.execute(
        db.select(db.func.count(Membership.id).filter(Membership.role == ADMIN), db.func.count(Membership.id))
        .where(Membership.organisation_id == organisation.id, Membership.id != member.id)
    ).one()
    if admins == 0 and (members > 0 or not leaving):
        raise LastAdmin()


def lock(organisation) -> None:
    """An operator's change (`tunnus orgs`) takes the organisation first, as an admin's does
    (is_admin for_change): a sign-in accepting an invitation, a member leaving, take their
    turn before or after it, and find what it did."""
    _lock(organisation)


def _lock(organisation) -> None:
    """Until the commit, on PostgreSQL (SQLite lets one writer in at a time anyway). FOR NO
    KEY UPDATE: changes of the organisation take turns, while rows that merely name it (a
    token for acting in it, an audit record) are still written; FOR UPDATE would hold those
    up, and a token request holding the person's row would then wait for a change that
    waits for that row in turn."""
    db.session.execute(db.select(Organisation.id).where(Organisation.id == organisation.id)
                       .with_for_update(key_share=True))


def _revoke_tokens(identity_id: int, organisation_id: int, client_id: int | None) -> None:
    # Tokens issued for acting in this organisation end with the right they relied on; a
    # token request under way commits first, or checks the right after this commits.
    Identity.lock(identity_id)
    condition = [Token.identity_id == identity_id, Token.organisation_id == organisation_id,
                 Token.revoked_at.is_(None)]
    if client_id is not None:
        condition.append(Token.client_id == client_id)
    db.session.execute(db.update(Token).where(*condition).values(revoked_at=clock.now()))
