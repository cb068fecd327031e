"""The browser's side of a session: what the signed cookie holds and who is signed in.

The cookie (Flask's signed session) carries a random browser id, which binds flows to
the browser that started them, and the `sid` of the LoginSession once signed in.
"""
from __future__ import annotations

import secrets

from flask import g, request, session

from ..models import LoginSession
from ..services.audit import Origin


def browser_id() -> str:
    if "browser" not in session:
        session["browser"] = secrets.token_urlsafe(24)
    return session["browser"]


def origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.user_agent.string)


def current_session() -> LoginSession | None:
    if "login_session" not in g:
        g.login_session = LoginSession.active_by_sid(session.get("sid"))
    return g.login_session


def current_identity():
    login_session = current_session()
    return login_session.identity if login_session else None


def sign_in(login_session: LoginSession) -> None:
    """Attach a fresh login to this browser; the cookie lives as long as 'remember me' says."""
    keep = {k: session[k] for k in ("browser", "locale") if k in session}
    session.clear()
    session.update(keep)
    session["sid"] = login_session.sid
    session.permanent = login_session.remember
    g.login_session = login_session


def sign_out() -> None:
    keep = {k: session[k] for k in ("locale",) if k in session}
    session.clear()
    session.update(keep)
    g.login_session = None
