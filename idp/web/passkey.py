"""Passkey pages of a login: the button on the first page (any passkey of this site, no
email typed), the second-factor step after the password, and the step-up of a signed-in
session. The browser side is static/passkey.js; the forms post the passkey's answer."""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, redirect, render_template, request, url_for

from ..flows.base import IllegalMove
from ..flows.login import LoginFlow, State
from ..methods import passkey, second_factor, totp
from ..methods.passkey_ceremony import PasskeyRejected
from .browser import browser_id, current_session, hold, origin
from .limits import login_flow_email, per_account, per_ip
from .login import _safe_return_to, advance

bp = Blueprint("passkey", __name__)



def _answer() -> tuple[str, str]:
    return (request.form.get("ceremony") or "")[:64], request.form.get("credential") or ""


@bp.route("/login/<flow_id>/passkey/options", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
def options(flow_id):
    """A challenge for the first page's button, made only when it is pressed."""
    flow = LoginFlow.load(flow_id, browser_id())
    if flow.state not in (State.IDENTIFY, State.PASSWORD):
        raise IllegalMove()
    ceremony, public_key = passkey.authentication_options(browser_id())
    return jsonify(ceremony=ceremony, publicKey=json.loads(public_key))


@bp.route("/login/<flow_id>/passkey", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
def sign_in(flow_id):
    flow = LoginFlow.load(flow_id, browser_id())
    page = "login/password.html" if flow.state is State.PASSWORD else "login/identify.html"
    ceremony, credential = _answer()
    if not credential:  # the form went without its script: this browser cannot do it
        return render_template(page, flow=flow, passkey_shown="unsupported"), 400
    try:
        flow.submit_passkey(ceremony, credential, origin())
    except PasskeyRejected as rejected:
        return render_template(page, flow=flow, passkey_problem=rejected.message), rejected.status
    return advance(flow)


@bp.route("/login/<flow_id>/passkey/verify", methods=["GET", "POST"], endpoint="login_step")
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
@per_account("IDP_LOGIN_ACCOUNT_RATE_LIMIT", login_flow_email, methods=["POST"])
def login_step(flow_id):
    flow = LoginFlow.load(flow_id, browser_id())
    step = flow.next_step() if flow.state is State.STEPS else None
    if step is None or step.name != second_factor.STEP or not passkey.has_passkeys(flow.identity):
        return redirect(url_for("login.show", flow_id=flow.id))
    identity = flow.identity
    totp_url = url_for("totp.login_step", flow_id=flow.id) if totp.enabled(identity) else None
    recovery_url = url_for("totp.login_recovery", flow_id=flow.id)
    if request.method == "POST":
        ceremony, credential = _answer()
        try:
            _, amr = passkey.authenticate(ceremony, browser_id(), credential, origin=origin(), identity=identity)
        except PasskeyRejected as rejected:
            return _verify_page(identity, request.path, totp_url, recovery_url, rejected.message,
                                resetting=flow.resetting_password), rejected.status
        flow.complete_step(second_factor.STEP, amr=amr)
        return redirect(url_for("login.continue_", flow_id=flow.id))
    return _verify_page(identity, request.path, totp_url, recovery_url, resetting=flow.resetting_password)


@bp.route("/login/step-up/passkey", methods=["GET", "POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
def step_up():
    """The signed-in person adds a passkey to this session (see oidc/endpoints/authorize.py)."""
    return_to = _safe_return_to(request.args.get("return_to")) or url_for("account.home")
    login_session = current_session()
    if login_session is None:
        return redirect(url_for("login.start", return_to=return_to))
    identity = login_session.identity
    if not passkey.has_passkeys(identity) or second_factor.proven(login_session.amr):
        return redirect(return_to)
    totp_url = url_for("totp.step_up", return_to=return_to) if totp.enabled(identity) else None
    recovery_url = url_for("totp.step_up_recovery", return_to=return_to)
    action = request.full_path.rstrip("?")
    if request.method == "POST":
        ceremony, credential = _answer()
        try:
            _, amr = passkey.authenticate(ceremony, browser_id(), credential, origin=origin(), identity=identity)
        except PasskeyRejected as rejected:
            return _verify_page(identity, action, totp_url, recovery_url, rejected.message), rejected.status
        second_factor.step_up(login_session, amr, "passkey", origin=origin())
        hold(login_session)
        return redirect(return_to)
    return _verify_page(identity, action, totp_url, recovery_url)


def _verify_page(identity, action: str, totp_url: str | None, recovery_url: str, problem=None,
                 resetting: bool = False):
    """A fresh challenge each time the page is shown: an old one may have been used."""
    ceremony, public_key = passkey.authentication_options(browser_id(), identity)
    return render_template("passkey/verify.html", action=action, ceremony=ceremony, options=public_key,
                           totp_url=totp_url, recovery_url=recovery_url, problem=problem, resetting=resetting)
