"""The browser's side of a session: what the signed cookie holds and who is signed in.

The cookie (Flask's signed session) carries a random browser id, which binds flows to
the browser that started them, and once signed in the LoginSession's key, new at each
sign-in and step-up (a kiosk's PIN session under a name of its own). The session's `sid`
goes with it only for the release before this one during a rolling upgrade (README,
*Upgrading*), which looked the session up by it; this one takes it as proof only of a
session from before keys (_held_key).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from urllib.parse import urlencode

from flask import current_app, g, redirect, request, session, url_for

from ..extensions import db
from ..models import LoginSession
from ..services import clock, kiosk_sessions
from ..services.audit import Origin
from . import remembered_email, request_id


def browser_id() -> str:
    if "browser" not in session:
        session["browser"] = secrets.token_urlsafe(24)
    return session["browser"]


def origin() -> Origin:
    return Origin(ip=request.remote_addr, user_agent=request.user_agent.string, request_id=request_id.current())


# "Last active" in the sessions list is kept to this precision, to write rarely.
LAST_SEEN_STEP = dt.timedelta(minutes=5)


KEY, SID = "key", "sid"


def current_session() -> LoginSession | None:
    if "login_session" not in g:
        found = LoginSession.active_by_key(_held_key(KEY, SID))
        if found is not None and clock.now() - found.last_seen_at > LAST_SEEN_STEP:
            found.last_seen_at = clock.now()
            db.session.commit()
        g.login_session = found
    return g.login_session


def _held_key(key_name: str, sid_name: str) -> str | None:
    """The key this browser's cookie holds under `key_name`. A cookie from before
    0028_session_keys has only the session's sid (under `sid_name`): that session gets its
    first key now, derived from the sid with IDP_SECRET_KEY, as its cookie was before, until
    its next sign-in or step-up gives it a random one. A cookie with a key, or a session
    with another key, is never taken by sid."""
    if key_name in session:
        return session[key_name]
    found = LoginSession.active_by_sid(session.get(sid_name))
    if found is None:
        return None
    key = hmac.new(current_app.secret_key.encode(), b"tunnus first session key:" + found.sid.encode(),
                   hashlib.sha256).hexdigest()
    taken = found.takes_first_key(key)
    db.session.commit()
    if not taken:
        return None
    session[key_name] = key
    return key


def hold(login_session: LoginSession) -> None:
    """This browser's cookie takes the session's new key (LoginSession.rekey). With the sid:
    the release before this one, during a rolling upgrade, looks sessions up by it."""
    session[KEY] = login_session.browser_key
    session[SID] = login_session.sid


def rekey() -> None:
    """A fresh key for this browser's session, as at a sign-in: a copy of its cookie taken
    before (by whoever made the person change the password, or log out the other devices)
    no longer serves."""
    login_session = current_session()
    login_session.rekey()
    db.session.commit()
    hold(login_session)


def current_identity():
    login_session = current_session()
    return login_session.identity if login_session else None


def sign_in(login_session: LoginSession) -> None:
    """Attach a fresh login to this browser; the cookie lives as long as 'remember me' says.
    The account's language applies unless this visit or this browser chose one."""
    keep = {k: session[k] for k in ("browser", "locale") if k in session}
    session.clear()
    session.update(keep)
    if login_session.identity.locale:
        session["account_locale"] = login_session.identity.locale  # after ui_locales and the switcher
    hold(login_session)
    session.permanent = login_session.remember
    g.login_session = login_session
    remembered_email.keep(login_session.identity.email if login_session.remember else None)


def sign_out() -> None:
    # A kiosk keeps its browser id: its flows stay its own, so the Back button after a
    # resident logs out leads to the list again rather than to a page of nobody's.
    kept = ("locale", "browser") if KIOSK_KEY in session else ("locale",)
    keep = {k: session[k] for k in kept if k in session}
    session.clear()
    session.update(keep)
    g.login_session = None


# A kiosk's PIN session lives under names of its own: the browser's ordinary session never
# serves a kiosk client, and a kiosk session never serves any other client.
KIOSK_KEY, KIOSK_SID = "kiosk_key", "kiosk_sid"


def session_for_client(client_id: str | None) -> LoginSession | None:
    """The session an authorization request from this client may use."""
    client = current_app.extensions["idp.clients"].find(client_id or "")  # Authlib reads it from there next
    if client is not None and client.kiosk_organisation_id is not None:
        # Only in the building: a kiosk's cookie carried elsewhere signs in to nothing there
        # (the kiosk's own pages then refuse the place, as for anyone away).
        if not client.kiosk_reachable_from(request.remote_addr):
            return None
        return kiosk_sessions.active(_held_key(KIOSK_KEY, KIOSK_SID), client)
    return current_session()


def kiosk_session() -> LoginSession | None:
    """The kiosk session this browser holds, for any kiosk client (logout ends it)."""
    found = LoginSession.active_by_key(_held_key(KIOSK_KEY, KIOSK_SID))
    return found if found is not None and found.kiosk_client_id is not None else None


def sign_in_kiosk(login_session: LoginSession) -> None:
    session[KIOSK_KEY], session[KIOSK_SID] = login_session.browser_key, login_session.sid  # the sid: as hold()


def as_get_if_cross_site_post():
    """For endpoints relying services may POST to (/authorize, /logout): a POST without
    our session cookie, which SameSite=Lax withholds from another site's form, is sent
    back as the same request by GET, a top-level navigation that carries the cookie.
    Answered as it came, it would start a session cookie over the person's own (signing
    them out) and never see that they are signed in. None when there is nothing to do."""
    if request.method != "POST" or current_app.config["SESSION_COOKIE_NAME"] in request.cookies:
        return None
    # The fields as a query of their own: as url_for's arguments, fields named as its own
    # (endpoint, _anchor, _scheme) made the page a 500 for anyone.
    return redirect(f"{url_for(request.endpoint)}?{urlencode(list(request.form.items(multi=True)))}", 303)
