"""Authorization endpoint: OIDC Core 1.0 §3.1.2, RFC 6749 §4.1.1, RFC 7636, RFC 9207.

Authlib validates the client, the exact redirect_uri, response_type, scope, nonce and
PKCE. This module decides the rest, one check at a time: does the request carry a request
object (not supported: refused, OIDC Core §6), is the user signed in recently enough
(prompt=login, max_age) and as the person an id_token_hint or a `sub` in `claims` names
(no answer for anyone else, OIDC Core §5.5.1), is the session's level high enough
(acr_values or an essential acr claim: stepped up with the second factor, or for the
strong level by identifying with an upstream provider, see ../acr.py), has the user
consented (prompt=consent, first-party clients; to the scope and to the claims the
`claims` parameter names, see ../claims.py), did the person confirm the account
(prompt=select_account), may we ask at all (prompt=none). The account and organisation
questions and their answers are in authorize_choices.py.
A kiosk client (a building's touch screen) is signed in only by a PIN login made on
the kiosk, in a session of its own (web/browser.py, services/kiosk_sessions.py).
Errors go back to the client only once its redirect_uri is known to be registered;
before that they are shown as a page. A request pushed to /par (RFC 9126, par.py) comes
as its request_uri: taken once, it goes on as a pending request like any other.
"""
from __future__ import annotations

from functools import partial
from typing import Callable

from authlib.common.urls import add_params_to_uri
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import AccessDeniedError, InvalidRequestError
from authlib.oidc.core.errors import (
    AccountSelectionRequiredError,
    ConsentRequiredError,
    InteractionRequiredError,
    LoginRequiredError,
)
from flask import Blueprint, current_app, g, redirect, render_template, request, url_for

from ...errors import FlowExpired
from ...extensions import csrf, db
from ...flows.kiosk import KioskFlow
from ...methods import levels, second_factor
from ...services import audit, clock, organisations, upstreams
from ...web.browser import as_get_if_cross_site_post, browser_id, origin, session_for_client
from ...web import login
from ...web.locale import remember_ui_locales
from .. import acr, claims, claims_request, consents, id_token_hint, org_choice, pushed_requests, request_checks
from ..pending import PendingAuthorization
from ..server import AuthorizationRequest
from . import authorize_choices

bp = Blueprint("oidc_authorize", __name__)


@bp.url_value_preprocessor
def _resumable(_endpoint, values):
    """The pages answering the consent and organisation forms resume the authorization:
    their language links, and an error page's "Try again", lead there. Set before any
    check, as a form that expired is refused before the view runs."""
    if values and "flow_id" in values:
        g.page_url = url_for("oidc_authorize.resume", flow_id=values["flow_id"])


# The person's answers to the account and organisation questions (authorize_choices.py).
bp.add_url_rule("/authorize/account/<flow_id>", view_func=authorize_choices.account, methods=["POST"])
bp.add_url_rule("/authorize/organisation/<flow_id>", view_func=authorize_choices.organisation, methods=["POST"])

@bp.route("/authorize", methods=["GET", "POST"])
@csrf.exempt  # relying services may POST the request (OIDC Core §3.1.2.1) without our token
def authorize():
    again = as_get_if_cross_site_post()
    if again is not None:
        return again
    source = request.form if request.method == "POST" else request.args
    try:
        request_checks.single_valued(source)
    except OAuth2Error as error:
        return _error_page(error)
    params = request_checks.given(source)
    if pushed_requests.is_reference(params.get("request_uri")):
        return _take_pushed(params)
    return proceed(params, pending=None)


def _take_pushed(params: dict):
    """RFC 9126 §4: the request the client pushed is the request, and parameters sent beside
    its request_uri are ignored. A reference that is unknown, used, expired or another
    client's is refused on a page: the redirect_uri and state it would be answered with are
    in the pushed request, and the query's own are anyone's. A request taken becomes a
    pending one at once, and the browser goes on at its resume URL, so that reloading the
    page or following its language links never brings the used request_uri back."""
    try:
        pushed = pushed_requests.take(params.get("client_id"), params["request_uri"])
    except OAuth2Error as error:
        db.session.rollback()
        audit.record("authorize.request_uri_refused", "failure", origin=origin(),
                     client_id=(params.get("client_id") or "")[:64] or None, reason=error.get_error_description())
        db.session.commit()
        return _error_page(error)
    pending = PendingAuthorization.start(browser_id(), params=pushed, pushed=True)
    return redirect(url_for("oidc_authorize.resume", flow_id=pending.id))


@bp.route("/authorize/resume/<flow_id>")
def resume(flow_id):
    try:
        pending = PendingAuthorization.load(flow_id, browser_id())
    except FlowExpired as expired:
        if expired.again is None:
            raise
        # This browser's own request, kept too long: it is made again, not refused.
        return redirect(expired.again)
    return proceed(pending.params, pending)


@bp.route("/authorize/again/<flow_id>")
def again(flow_id):
    """A pushed request that expired unanswered, made again (PendingAuthorization.started_from)."""
    pending = PendingAuthorization.start_again(flow_id, browser_id())
    return redirect(url_for("oidc_authorize.resume", flow_id=pending.id))


@bp.route("/authorize/consent/<flow_id>", methods=["POST"])
def consent(flow_id):
    pending = PendingAuthorization.load(flow_id, browser_id())
    login_session = session_for_client(pending.params.get("client_id"))
    if login_session is None:
        return proceed(pending.params, pending)
    server = current_app.extensions["idp.server"]
    params = pending.params
    try:
        grant = server.get_consent_grant(AuthorizationRequest(params, request.url), end_user=login_session.identity)
        requested = claims.granted(claims_request.parse(params.get("claims"), grant.redirect_uri), grant.client)
    except OAuth2Error as error:
        return error_response(error, params, pending)
    client, identity = grant.client, login_session.identity
    if request.form.get("decision") != "allow":
        audit.record("consent.denied", origin=origin(), identity=identity, client_id=client.client_id)
        db.session.commit()
        return error_response(AccessDeniedError(redirect_uri=grant.redirect_uri), params, pending)
    consents.remember(identity, client, grant.request.scope, requested, origin())
    pending.transition("consent")
    db.session.commit()
    return proceed(params, pending)


def proceed(params: dict, pending: PendingAuthorization | None):
    """The request's answer to the client, or the page the person is asked on next."""
    if pending is not None:  # a page shown after a post to /authorize: its language links resume it
        g.page_url = url_for("oidc_authorize.resume", flow_id=pending.id)
    server = current_app.extensions["idp.server"]
    oauth_request = AuthorizationRequest(params, request.url)
    login_session = session_for_client(params.get("client_id"))
    identity = login_session.identity if login_session else None
    try:
        request_checks.lengths(params, ("client_id", "redirect_uri"), redirect_uri=None)
        request_checks.printable(params, ("client_id", "redirect_uri"))
        grant = server.get_consent_grant(oauth_request, end_user=identity)
        request_checks.supported(params, grant.redirect_uri)
        if grant.client.require_pushed_authorization_requests and not (pending and pending.pushed):
            raise InvalidRequestError("This client's authorization requests must be pushed to /par first (RFC 9126).",
                                      redirect_uri=grant.redirect_uri)
        request_checks.lengths(params, params.keys(), redirect_uri=grant.redirect_uri)
        remember_ui_locales(params.get("ui_locales"))
        prompts = request_checks.prompts(params, grant.redirect_uri)
        max_age = request_checks.max_age(params, grant.redirect_uri)
        wanted_acr = acr.demanded(params, grant.redirect_uri)
        asked = claims_request.parse(params.get("claims"), grant.redirect_uri)
        hinted = id_token_hint.subject(params.get("id_token_hint"), server.keystore, server.issuer,
                                       grant.redirect_uri)
        claimed_subs = claims_request.subjects(asked)
        named = claimed_subs | ({hinted} if hinted is not None else set())
        if _needs_login(max_age, prompts, login_session, pending, named):
            if "none" in prompts:
                # A client the person never allowed learns nothing of who is signed in here:
                # login_required for a `sub` it names, and not for another, would tell it.
                if login_session is not None and consents.needed(
                        grant.client, identity, grant.request.scope, claims.granted(asked, grant.client), prompts,
                        pending):
                    raise ConsentRequiredError(redirect_uri=grant.redirect_uri)
                raise LoginRequiredError(redirect_uri=grant.redirect_uri)
            pending = pending or PendingAuthorization.start(browser_id(), params=params)
            return_to = url_for("oidc_authorize.resume", flow_id=pending.id)
            if grant.client.kiosk_organisation_id is not None:  # its residents sign in with a PIN there
                flow = KioskFlow.begin(grant.client, browser_id(), return_to, pending.started_from(), origin())
                return redirect(url_for("kiosk.show", flow_id=flow.id))
            if acr.lowest(wanted_acr) == levels.ACR_STRONG:  # no password can reach it: identify upstream
                return redirect(_step_up_page(None, wanted_acr, grant)(return_to=return_to))
            if "create" in prompts:  # Initiating User Registration via OpenID Connect 1.0 §4
                return redirect(url_for("register.start", return_to=return_to))
            # Signing in again (prompt=login, max_age) with a password goes straight to the
            # password of the account signed in ("Not you?" is there), unless the request
            # names someone else or asks to choose the account.
            again = (login_session is not None and not named - {identity.sub} and "select_account" not in prompts
                     and "pwd" in (login_session.amr or []))
            return login.begin(return_to, params.get("login_hint") or (identity.email if again else None))
        if claimed_subs - {identity.sub}:  # signed in anew, as someone else
            raise AccessDeniedError("The request's 'claims' name another person's 'sub'.",
                                    redirect_uri=grant.redirect_uri)
        if not acr.met(login_session.acr, wanted_acr):
            step_up_page = _step_up_page(identity, wanted_acr, grant)
            if "none" in prompts:
                raise LoginRequiredError(redirect_uri=grant.redirect_uri)
            pending = pending or PendingAuthorization.start(browser_id(), params=params)
            return redirect(step_up_page(return_to=url_for("oidc_authorize.resume", flow_id=pending.id)))
        if authorize_choices.asks_account(grant.client, prompts, login_session, pending):
            if "none" in prompts:
                raise AccountSelectionRequiredError(redirect_uri=grant.redirect_uri)
            pending = pending or PendingAuthorization.start(browser_id(), params=params)
            return authorize_choices.account_page(grant.client, identity, pending)
        if "none" not in prompts:  # a silent request changes nothing, whichever client sends it
            organisations.join_waiting(identity, origin=origin())
        choice = org_choice.decide(grant.client, identity, params, pending.data.get("organisation") if pending else None,
                                   login_session.acting_for(), prompts)
        if not choice.decided:
            if "none" in prompts:
                raise (AccountSelectionRequiredError if choice.ask else InteractionRequiredError)(
                    redirect_uri=grant.redirect_uri)
            pending = pending or PendingAuthorization.start(browser_id(), params=params)
            return authorize_choices.organisation_page(grant.client, identity, choice, pending)
        scope = grant.request.scope
        requested = claims.granted(asked, grant.client)
        if consents.needed(grant.client, identity, scope, requested, prompts, pending):
            if "none" in prompts:
                raise ConsentRequiredError(redirect_uri=grant.redirect_uri)
            pending = pending or PendingAuthorization.start(browser_id(), params=params)
            return render_template("oidc/consent.html", client=grant.client, scopes=scope.split(),
                                   claims=claims.beyond_scope(requested, scope), flow=pending)
        oauth_request.login_session = login_session
        oauth_request.organisation = choice.organisation
        if choice.picked:  # the browser's choice now, as on the account page
            login_session.organisation_id = choice.organisation.id if choice.organisation else None
            login_session.acting_personally = choice.organisation is None
        response = server.create_authorization_response(oauth_request, grant_user=identity, grant=grant)
        audit.record("authorize.code_issued", origin=origin(), identity=identity, client_id=grant.client.client_id)
        if pending is not None:
            pending.transition("answered")
        db.session.commit()
        return response
    except OAuth2Error as error:
        return error_response(error, params, pending)


FRESH_LOGIN_SLACK = 300  # seconds


def _needs_login(max_age: int | None, prompts, login_session, pending, named_subs: set) -> bool:
    if login_session is None:
        return True
    # A login completed after this request started satisfies prompt=login and an
    # id_token_hint for someone else: the person chose whom to sign in as. (A `sub` the
    # `claims` name is still held to, after this.) And max_age, for the pages after it
    # (consent, the organisation) up to FRESH_LOGIN_SLACK, so that max_age=0 does not send
    # the person round for ever; before, for good, and a consent page left open for an hour
    # gave a max_age=60 service a login an hour old.
    age = (clock.now() - login_session.auth_time).total_seconds()
    if pending is not None and login_session.auth_time >= pending.stored.created_at:
        return max_age is not None and age > max(max_age, FRESH_LOGIN_SLACK)
    if "login" in prompts:
        return True
    if named_subs - {login_session.identity.sub}:
        return True
    return max_age is not None and age > max_age


def _step_up_page(identity, wanted_acr, grant) -> Callable[..., str]:
    """Where the session can reach a level it lacks (a URL builder taking return_to): the
    second factor the person has for MFA, an upstream provider for the strong level
    (nothing else reaches it). A signed-out person (identity None) identifies upstream to
    sign in rather than to step up. Refuses a level this person cannot reach, and any
    step-up of a kiosk's PIN session."""
    lowest = acr.lowest(wanted_acr)
    kiosk = grant.client.kiosk_organisation_id is not None
    if not kiosk and lowest == levels.ACR_MULTI_FACTOR and identity is not None and second_factor.methods(identity):
        return partial(second_factor.step_up_url, identity)
    if not kiosk and levels.ACR_STRONG in wanted_acr and upstreams.available():
        return partial(url_for, "upstream.choose", **({"purpose": "step_up"} if identity is not None else {}))
    audit.record("authorize.acr_unmet", "failure", origin=origin(), identity=identity,
                 client_id=grant.client.client_id, acr_values=wanted_acr[:5])
    db.session.commit()
    if lowest is None:
        raise AccessDeniedError("None of the requested authentication levels is supported.",
                                redirect_uri=grant.redirect_uri)
    if kiosk:
        raise AccessDeniedError("A kiosk signs people in with a PIN only.", redirect_uri=grant.redirect_uri)
    if lowest == levels.ACR_STRONG:
        raise AccessDeniedError("Strong identification is not available.", redirect_uri=grant.redirect_uri)
    raise AccessDeniedError("A second factor is required; set one up in your account.",
                            redirect_uri=grant.redirect_uri)


def error_response(error: OAuth2Error, params: dict, pending: PendingAuthorization | None):
    if pending is not None:
        pending.transition("answered")
        db.session.commit()
    if not error.redirect_uri:
        return _error_page(error)
    error.state = params.get("state")
    body = error.get_body() + [("iss", current_app.config["IDP_ISSUER"])]
    return redirect(add_params_to_uri(error.redirect_uri, body), 302)


def _error_page(error: OAuth2Error):
    return render_template("oidc/error.html", error=error.error, description=error.get_error_description()), 400
