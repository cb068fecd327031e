"""Browser sessions: start on login, end on logout; ending one ends its tokens."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..extensions import db
from ..models import LoginSession, Token
from . import audit, clock
from .audit import Origin


def start(identity, *, amr: list[str], acr: str, remember: bool, origin: Origin) -> LoginSession:
    config = current_app.config
    lifetime = config["IDP_REMEMBER_ME_TTL"] if remember else config["IDP_BROWSER_SESSION_TTL"]
    now = clock.now()
    session = LoginSession(
        identity_id=identity.id,
        auth_time=now,
        amr=amr,
        acr=acr,
        remember=remember,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:400],
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(seconds=lifetime),
    )
    db.session.add(session)
    audit.record("session.started", origin=origin, identity=identity, sid=session.sid, remember=remember)
    # Invitations wait for the invited address to sign in (verified); this is that moment.
    from .organisations import accept_invitations

    accept_invitations(identity, origin=origin)
    db.session.commit()
    return session


def end(session: LoginSession, *, origin: Origin, reason: str = "logout") -> int:
    """End the session and revoke the tokens bound to it, except offline ones."""
    now = clock.now()
    session.ended_at = now
    tokens = db.session.execute(
        db.select(Token).where(Token.sid == session.sid, Token.revoked_at.is_(None))
    ).scalars()
    revoked = 0
    for token in tokens:
        if "offline_access" not in token.scope.split():
            token.revoked_at = now
            revoked += 1
    audit.record("session.ended", origin=origin, identity=session.identity_id, sid=session.sid,
                 reason=reason, tokens_revoked=revoked)
    db.session.commit()
    return revoked


def end_all(identity, *, origin: Origin, reason: str, keep_sid: str | None = None) -> int:
    """End every session of the person but `keep_sid`, and revoke every token they hold
    outside it, offline ones included (after a password reset or 'log out everywhere')."""
    now = clock.now()
    ended = 0
    for other in db.session.execute(
        db.select(LoginSession).where(LoginSession.identity_id == identity.id, LoginSession.ended_at.is_(None))
    ).scalars():
        if other.sid != keep_sid:
            other.ended_at = now
            ended += 1
    db.session.execute(
        db.update(Token)
        .where(Token.identity_id == identity.id, Token.revoked_at.is_(None),
               (Token.sid != keep_sid) | Token.sid.is_(None) if keep_sid else db.true())
        .values(revoked_at=now)
    )
    audit.record("session.ended_all", origin=origin, identity=identity, reason=reason, sessions_ended=ended,
                 kept=keep_sid is not None)
    return ended
