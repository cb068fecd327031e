"""Browser sessions: start on login, end on logout; ending one ends its tokens and tells
the relying services that listen (back-channel logout)."""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..errors import InvalidCredentials
from ..extensions import db
from ..models import Identity, LoginSession, Token
from . import audit, backchannel, clock, journeys
from .audit import Origin


def start(identity, *, amr: list[str], acr: str, remember: bool, origin: Origin,
          replacing: LoginSession | None = None) -> LoginSession:
    """A new session; or, when the same person signs in again in this browser (prompt=login,
    max_age), the browser's session renewed in place, so its tokens and logout stay one."""
    if not Identity.hold(identity.id):  # deleted since the password was checked
        raise InvalidCredentials()
    config = current_app.config
    lifetime = config["IDP_REMEMBER_ME_TTL"] if remember else config["IDP_BROWSER_SESSION_TTL"]
    now = clock.now()
    if replacing is not None and replacing.is_active():
        if replacing.identity_id == identity.id:
            replacing.auth_time, replacing.amr, replacing.acr, replacing.remember = now, amr, acr, remember
            replacing.expires_at = max(replacing.expires_at, now + dt.timedelta(seconds=lifetime))
            replacing.rekey()
            audit.record("session.renewed", origin=origin, identity=identity, sid=replacing.sid)
            db.session.commit()
            _accept_invitations(identity, origin)
            return replacing
        end(replacing, origin=origin, reason="other_person_signed_in")
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
    session.rekey()
    db.session.add(session)
    db.session.flush()  # the sid is the column's default: the record must name it
    audit.record("session.started", origin=origin, identity=identity, sid=session.sid, remember=remember)
    db.session.commit()
    _accept_invitations(identity, origin)
    return session


def _accept_invitations(identity, origin: Origin) -> None:
    # Invitations wait for the invited address to sign in (verified), a session renewed by
    # signing in again included: the invitation mail says to sign in. Once the session is
    # committed, in a transaction of their own: it takes the organisations before the
    # person's row, which the sign-in held (its password read again) until that commit.
    from .organisations import join_waiting

    join_waiting(identity, origin=origin)


def end(session: LoginSession, *, origin: Origin, reason: str = "logout") -> int:
    """End the session and revoke the tokens bound to it, except offline ones.

    Ended by two requests at once (a double click, a logout while 'end other sessions'
    runs), it ends once: the row's update decides, and only the request that made it
    revokes, tells the services and records it. A token request in this session holds the
    row until its commit (oidc/grants/revocation_lock.py): its tokens are seen here, or it
    sees the session ended."""
    # The person's row first (Identity.hold), as deleting the account takes it before their
    # sessions: the record below names the person and would wait for a deletion under way,
    # which would wait for this session's row in turn. After a deletion, nothing is left to end.
    Identity.hold(session.identity_id)
    now = clock.now()
    ended = db.session.execute(
        db.update(LoginSession).where(LoginSession.id == session.id, LoginSession.ended_at.is_(None))
        .values(ended_at=now)
    ).rowcount == 1
    if not ended:  # another request ended it a moment ago, and did the rest
        db.session.commit()
        return 0
    tokens = db.session.execute(
        db.select(Token).where(Token.sid == session.sid, Token.revoked_at.is_(None))
    ).scalars()
    revoked = 0
    for token in tokens:
        if "offline_access" not in token.refresh_scope.split():  # the grant's, not a narrowed access token's
            token.revoked_at = now
            revoked += 1
    backchannel.notify([session.sid])
    audit.record("session.ended", origin=origin, identity=session.identity_id, sid=session.sid,
                 reason=reason, tokens_revoked=revoked)
    db.session.commit()
    return revoked


def end_all(identity, *, origin: Origin, reason: str, keep_sid: str | None = None,
            journeys_because: str | None = journeys.SIGNED_OUT, keep_journeys: tuple = ()) -> int:
    """End every session of the person but `keep_sid`, and revoke every token they hold
    outside it, offline ones included (after a password reset or 'log out everywhere').
    Their journeys under way end too, all but `keep_journeys` (the one making the change):
    a login parked at a later step would otherwise become a session afterwards. The number
    of sessions ended that had not run out (those the person's list shows)."""
    now = clock.now()
    # Until the commit, token requests of the person wait, and this waits for those under way
    # (oidc/grants/revocation_lock.py), and for a session another request is ending: it is then skipped.
    Identity.lock(identity.id)
    ended, live = [], 0
    for other in db.session.execute(
        db.select(LoginSession).where(LoginSession.identity_id == identity.id, LoginSession.ended_at.is_(None))
        .with_for_update(of=LoginSession)
    ).scalars():
        if other.sid != keep_sid:
            other.ended_at = now
            ended.append(other.sid)
            live += other.expires_at > now
    backchannel.notify(ended)
    db.session.execute(
        db.update(Token)
        .where(Token.identity_id == identity.id, Token.revoked_at.is_(None),
               (Token.sid != keep_sid) | Token.sid.is_(None) if keep_sid else db.true())
        .values(revoked_at=now)
    )
    audit.record("session.ended_all", origin=origin, identity=identity, reason=reason, sessions_ended=len(ended),
                 kept=keep_sid is not None)
    journeys.end_about(identity.id, because=journeys_because, keep=keep_journeys)
    return live
