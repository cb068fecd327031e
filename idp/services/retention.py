"""Deleting what has expired, so the tables a login touches stay small.

Nothing reads these rows again once they are past their end: a flow, authorization code
or pushed authorization request is refused when expired, a token row matters until its refresh token (or, without
one, its access token) has expired — refresh reuse detection included, since an expired
refresh token is refused before its family is looked at — and its session has gone: its
`sid` is how a logout finds the services to tell (backchannel.py, frontchannel.py). Before,
a service with no refresh token was told nothing of a logout a day after its sign-in, in
a 30-day "remember me" session. A revoked self-contained access token need not be
listed after its own expiry, nor a client assertion's jti after the assertion's, nor a
used DPoP proof once it is too old to be accepted anyway. Ended or expired browser
sessions are no longer shown to anyone, and an invitation not accepted within
IDP_INVITATION_TTL can no longer be (one accepted is deleted then; those accepted before
that was so go with the rest).

Audit records, and the mails and logout notifications that were delivered or given up,
are history kept for IDP_AUDIT_RETENTION_DAYS, then deleted: they name people (addresses,
IP addresses, browsers) and need a period of their own, not forever. A campaign's mail
too: its progress counts its members, not its mail. Everything a person made is kept.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..extensions import db
from ..models import (AuditEvent, AuthorizationCode, Invitation, LoginSession, LogoutNotification, OutboxMail,
                      PushedRequest, RevokedAccessToken, Token, UsedAssertion)
from ..models.flow import Flow
from ..models.grants import UsedDpopProof
from ..models.outbox import FAILED, LOGGED, SENT
from . import clock

# Delivered (mail without SMTP: written to the log) or given up: nothing will send them again.
FINISHED = (SENT, LOGGED, FAILED)


def prune(older_than: dt.timedelta) -> dict[str, int]:
    """Rows deleted per table; each past its end by more than `older_than`."""
    cutoff = clock.now() - older_than
    token_end = db.func.coalesce(Token.refresh_expires_at, Token.access_expires_at)
    session_kept = db.or_(LoginSession.ended_at.is_(None), LoginSession.ended_at >= cutoff) \
        & (LoginSession.expires_at >= cutoff)
    statements = {
        "flows": db.delete(Flow).where(Flow.expires_at < cutoff),
        "authorization_codes": db.delete(AuthorizationCode).where(AuthorizationCode.expires_at < cutoff),
        "pushed_requests": db.delete(PushedRequest).where(PushedRequest.expires_at < cutoff),
        "tokens": db.delete(Token).where(token_end < cutoff, ~db.exists().where(LoginSession.sid == Token.sid,
                                                                                 session_kept)),
        "revoked_access_tokens": db.delete(RevokedAccessToken).where(RevokedAccessToken.expires_at < cutoff),
        "used_client_assertions": db.delete(UsedAssertion).where(UsedAssertion.expires_at < cutoff),
        "used_dpop_proofs": db.delete(UsedDpopProof).where(UsedDpopProof.expires_at < cutoff),
        "login_sessions": db.delete(LoginSession).where(
            db.or_(LoginSession.ended_at < cutoff, LoginSession.expires_at < cutoff)),
        "invitations": db.delete(Invitation).where(
            Invitation.created_at < cutoff - dt.timedelta(seconds=current_app.config["IDP_INVITATION_TTL"])),
    }
    history_cutoff = clock.now() - dt.timedelta(days=current_app.config["IDP_AUDIT_RETENTION_DAYS"])
    statements.update({
        "audit_events": db.delete(AuditEvent).where(AuditEvent.at < history_cutoff),
        "mail_outbox": db.delete(OutboxMail).where(OutboxMail.status.in_(FINISHED), OutboxMail.created_at < history_cutoff),
        "logout_notifications": db.delete(LogoutNotification).where(
            LogoutNotification.status.in_(FINISHED), LogoutNotification.created_at < history_cutoff),
    })
    counts = {}
    for table, statement in statements.items():
        counts[table] = db.session.execute(statement).rowcount
        # Each table on its own: a person's logout locks their sessions, then their tokens;
        # holding the tokens' locks while waiting for the sessions' made a deadlock with it.
        db.session.commit()
    return counts
