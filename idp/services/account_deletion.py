"""Deleting an account, at the person's wish (their account page, or an operator acting on
their request).

Goes: the identity and all that is only theirs (sessions and tokens, second factors,
passkeys, the PIN, consents, memberships with their service rights, campaign membership,
upstream links, by the database's ON DELETE CASCADE), the invitations they made as an
admin still waiting, and the old services' accounts
merged into it with their password hashes, so an old user name cannot bring it back.
Stays: the audit records (the security history; the deletion record names the address),
mail already sent, and an erasure (erasures.py: keyed hashes only) so that importing an
old system's file again does not bring the person back. Services that got tokens in a session hear of its end by
back-channel logout. The only admin of an organisation with other members hands the role
over first: they always keep an admin (organisations._guard_last_admin).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError

from ..errors import Conflict
from ..extensions import db
from ..models import AuthorizationCode, Identity, LegacyAccount
from ..models.outbox import FAILED, NO_BODY, PENDING, OutboxMail
from . import audit, clock, erasures, mail, organisations, sessions
from .audit import Origin


# Tries to take the person's rows before waiting, whatever else waits (see _lock).
ATTEMPTS = 3
LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE (psycopg is there only on PostgreSQL)


class AlreadyDeleted(Exception):
    """Deleted meanwhile, by a request that took the person's row first (a double click, or
    an operator at that moment): nothing is left to delete, and no second notice goes."""


class SoleAdmin(Conflict):
    id = "sole_admin"
    title = _l("The account was not deleted")
    message = _l("You are the only admin of %(names)s. Make someone else an admin there first.")


def delete(identity: Identity, *, origin: Origin, locale: str, reason: str) -> OutboxMail:
    """Delete it now, or SoleAdmin or AlreadyDeleted; the notice to the address, to deliver
    after the commit."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            _lock(identity, last=attempt == ATTEMPTS)
            break
        except OperationalError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
                raise
            db.session.rollback()  # the exchange goes on; the next attempt waits for its commit
    sole = organisations.sole_admin_of(identity)
    if sole:
        db.session.rollback()
        raise SoleAdmin(names=", ".join(organisation.name for organisation in sole))
    organisations.withdraw_before_deletion(identity, origin=origin)
    # Its journeys expire with the sessions: what they would act on is gone.
    sessions.end_all(identity, origin=origin, reason="account_deleted", journeys_because=None)
    audit.record("identity.deleted", origin=origin, identity=identity, email=identity.email_normalized,
                 sub=identity.sub, reason=reason)
    notice = mail.enqueue("account_deleted", identity.email, identity.locale or locale, email=identity.email,
                          when=clock.now())
    # Mail still waiting (a campaign's invitation, a reminder) would ask the gone account to act.
    db.session.execute(db.update(OutboxMail).where(OutboxMail.identity_id == identity.id, OutboxMail.status == PENDING)
                       .values(status=FAILED, last_error="account deleted", **NO_BODY))
    erasures.record(identity)  # reads the old accounts: before they go
    db.session.execute(db.delete(LegacyAccount).where(LegacyAccount.identity_id == identity.id))
    db.session.execute(db.delete(Identity).where(Identity.id == identity.id))
    db.session.commit()
    return notice


def _lock(identity: Identity, last: bool) -> None:
    # The organisations they are an admin of before their row, as an admin's change takes
    # them (the organisation, then the member's row to end their tokens): the other way
    # round, another admin demoting them at this moment would wait for this and this for it.
    organisations.lock_administered(identity)
    # Their codes too, in the order an exchange takes them (the code, then the person's row,
    # oidc/grants/revocation_lock.py): one under way commits first, and its tokens go with
    # the rest below. Left to the row's deletion, each would wait for the other.
    db.session.execute(db.delete(AuthorizationCode).where(AuthorizationCode.identity_id == identity.id))
    # Then their row (Identity.hold), before their journeys, sessions and tokens (end_all below),
    # in the order a request under way takes them (a journey's step: the person, then its flow):
    # a sign-in or token refresh then either finishes before this goes on, or waits and finds
    # no account.
    if db.session.execute(db.select(Identity.id).where(Identity.id == identity.id).with_for_update()).first() is None:
        db.session.rollback()
        raise AlreadyDeleted()
    # While this waited for the row, another request holding it could get the service a new
    # code, and an exchange take that code and wait for the row behind this: each would then
    # wait for the other. Such a code makes this let go and start again (LOCK_NOT_AVAILABLE),
    # after the exchange, whose tokens then end with the rest.
    db.session.execute(db.select(AuthorizationCode.id).where(AuthorizationCode.identity_id == identity.id)
                       .with_for_update(nowait=not last))
