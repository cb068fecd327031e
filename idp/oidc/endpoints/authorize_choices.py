"""The questions an authorization request (authorize.py) may ask the person, and their
answers: which account (prompt=select_account, OIDC Core 1.0 §3.1.2.1) and which
organisation to act for (../org_choice.py). An answer is stored on the pending request,
which then goes on where it stopped.

The answers are routes of authorize.py's blueprint (oidc_authorize.account and
oidc_authorize.organisation), registered there when it imports this module; this module
uses authorize.py's names only while answering a request.
"""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError
from flask import current_app, redirect, render_template, request, url_for

from ...extensions import db
from ...services import audit, organisations
from ...web.browser import browser_id, origin, session_for_client
from ..pending import PendingAuthorization
from ..server import AuthorizationRequest
from . import authorize


def asks_account(client, prompts, login_session, pending) -> bool:
    """prompt=select_account: the person confirms the account signed in here, or signs in
    with another. A business client's organisation picker is where it asks for those
    (org_choice.py); a sign-in made for this request was the choice."""
    if "select_account" not in prompts or client.org_mode != "consumer":
        return False
    if pending is None:
        return True
    return not pending.data.get("account_chosen") and login_session.auth_time < pending.stored.created_at


def account_page(client, identity, pending):
    return render_template("oidc/choose_account.html", client=client, identity=identity, flow=pending)


def organisation_page(client, identity, choice, pending):
    if choice.ask:
        return render_template("oidc/choose_org.html", client=client, choice=choice, flow=pending)
    admins = {org.id: organisations.admins(org) for org in choice.denied_for}
    return render_template("oidc/no_access.html", client=client, organisations=choice.denied_for, admins=admins,
                           flow=pending), 403


def account(flow_id):
    """The answer to prompt=select_account: this account, or sign in with another."""
    pending = PendingAuthorization.load(flow_id, browser_id())
    if request.form.get("account") == "other":
        # A sign-in made after the request started is the choice (asks_account).
        return redirect(url_for("login.start", return_to=url_for("oidc_authorize.resume", flow_id=pending.id)))
    pending.update(account_chosen=True)
    db.session.commit()
    return authorize.proceed(pending.params, pending)


def organisation(flow_id):
    """The answer from the organisation picker or the no-access page."""
    pending = PendingAuthorization.load(flow_id, browser_id())
    login_session = session_for_client(pending.params.get("client_id"))
    if login_session is None:
        return authorize.proceed(pending.params, pending)
    params = pending.params
    if request.form.get("decision") != "choose":
        try:
            grant = current_app.extensions["idp.server"].get_consent_grant(
                AuthorizationRequest(params, request.url), end_user=login_session.identity)
        except OAuth2Error as error:
            return authorize.error_response(error, params, pending)
        audit.record("organisation.cancelled", origin=origin(), identity=login_session.identity,
                     client_id=grant.client.client_id)
        db.session.commit()
        return authorize.error_response(AccessDeniedError(redirect_uri=grant.redirect_uri), params, pending)
    pending.update(organisation=(request.form.get("organisation") or "")[:32])
    db.session.commit()
    return authorize.proceed(params, pending)
