"""Kiosk sessions: a PIN login on a building's touch screen, for that kiosk client only.

A kiosk session is a LoginSession bound to its kiosk client (`kiosk_client_id`). The
browser keeps it apart from its ordinary session (web/browser.py), so neither ever
signs in to the other's clients. It ends after IDP_KIOSK_IDLE_TIMEOUT seconds without
use: each use (a new authorization by the kiosk, its tokens at /userinfo or
/introspect) moves the end forward, never past IDP_BROWSER_SESSION_TTL from the login.
Its tokens stop working when it ends, and its access tokens live no longer than the
idle timeout, so a resource server checking them by signature alone is not far behind.
The kiosk's relying service keeps a session of its own on the shared screen, so an idle
end is also told to it by back-channel logout: `end_idle`, run by `tunnus logouts send`.
"""
from __future__ import annotations

import datetime as dt

from flask import current_app

from ..errors import NotFound
from ..extensions import db
from ..methods import levels, pin
from ..models import Identity, LoginSession
from . import audit, clock, sessions
from .audit import SYSTEM, Origin


def idle_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=current_app.config["IDP_KIOSK_IDLE_TIMEOUT"])


def start(identity, client, *, origin: Origin, replacing: LoginSession | None = None) -> LoginSession:
    """A new kiosk session; the one this browser held before (the previous resident's,
    perhaps) ends first, with its tokens."""
    if not Identity.hold(identity.id):  # deleted since the PIN was checked
        raise NotFound()
    if replacing is not None:
        sessions.end(replacing, origin=origin, reason="next_kiosk_sign_in")
    now = clock.now()
    amr = [pin.AMR]
    session = LoginSession(identity_id=identity.id, kiosk_client_id=client.id, auth_time=now, amr=amr,
                           acr=levels.acr_for(amr), remember=False, ip=origin.ip,
                           user_agent=(origin.user_agent or "")[:400], created_at=now, last_seen_at=now,
                           expires_at=now + idle_timeout())
    session.rekey()
    db.session.add(session)
    db.session.flush()
    audit.record("session.started", origin=origin, identity=identity, client_id=client.client_id, sid=session.sid,
                 kiosk=True)
    db.session.commit()
    return session


def active(key: str | None, client) -> LoginSession | None:
    """This kiosk's live session whose browser holds `key`, kept alive by this use; None otherwise."""
    found = LoginSession.active_by_key(key)
    if found is None or client is None or found.kiosk_client_id != client.id:
        return None
    _keep_alive(found)
    return found


def token_usable(token) -> bool:
    """Whether a token's session still allows it: always for ordinary ones; a kiosk
    token only while its session lives (and this use keeps it alive)."""
    if pin.AMR not in (token.amr or []):
        return True
    found = LoginSession.active_by_sid(token.sid)
    if found is None:
        return False
    _keep_alive(found)
    return True


def _keep_alive(session: LoginSession) -> None:
    now = clock.now()
    longest = session.created_at + dt.timedelta(seconds=current_app.config["IDP_BROWSER_SESSION_TTL"])
    session.last_seen_at = now
    session.expires_at = min(now + idle_timeout(), longest)
    db.session.commit()


def end_idle() -> int:
    """End the kiosk sessions whose idle time has run out (their relying services are told);
    how many. One row locked at a time, so that several senders never end one twice."""
    ended, passed = 0, []
    while True:
        idle = (LoginSession.kiosk_client_id.is_not(None), LoginSession.ended_at.is_(None),
                LoginSession.expires_at <= clock.now())
        due = db.session.execute(db.select(LoginSession.id, LoginSession.identity_id)
                                 .where(*idle, LoginSession.id.not_in(passed))
                                 .order_by(LoginSession.expires_at).limit(1)).first()
        if due is None:
            db.session.commit()
            return ended
        # The person's row before the session's, as deleting the account takes them: the
        # end's record names the person, and would wait for a deletion under way that waits
        # for this session's row in turn. Once deleted, the session is gone with them.
        Identity.hold(due.identity_id)
        session = db.session.execute(
            db.select(LoginSession).where(LoginSession.id == due.id, *idle)
            .with_for_update(skip_locked=True, of=LoginSession)
        ).scalar_one_or_none()
        if session is None:  # another sender has it, or it ended meanwhile
            db.session.commit()
            passed.append(due.id)
            continue
        sessions.end(session, origin=SYSTEM, reason="kiosk_idle")
        ended += 1
