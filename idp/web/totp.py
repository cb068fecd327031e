"""Two-step verification pages: the code step of a login, the step-up of a signed-in
session a relying service asked more of, and setting TOTP up, off and its recovery
codes on the account page."""
from __future__ import annotations

import segno
from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ..flows.login import LoginFlow, State
from ..methods import passkey, recovery_codes, second_factor, totp
from ..services.account import FormRejected
from .account import signed_in
from . import passkey_account
from .account_notice import back_to
from .browser import browser_id, current_session, hold, origin
from .limits import login_flow_email, password_again, per_account, per_ip, signed_in_person
from .login import _safe_return_to

bp = Blueprint("totp", __name__)



def _code_page(check, done, *, recovery: bool, action: str, other: str, passkey_url: str | None,
               resetting: bool = False):
    """GET shows the form; POST checks the code with `check` and calls `done` on success.
    `passkey_url` offers the person's passkey instead, when they have one; `resetting`
    says a password reset asks (and where to turn without the factor)."""
    page = dict(recovery=recovery, action=action, other=other, passkey_url=passkey_url, resetting=resetting)
    if request.method == "POST":
        try:
            check(request.form.get("code") or "")
            return done()
        except totp.TotpRejected as rejected:
            return render_template("totp/code.html", **page, error=_problem(rejected, recovery)), rejected.status
    return render_template("totp/code.html", **page, error=None)


def _problem(rejected: totp.TotpRejected, recovery: bool) -> str:
    if rejected.reason == "locked":
        return totp.locked_message()
    if rejected.reason == "replayed":
        return _("That code was already used. Wait for the next code in your app.")
    return _("The recovery code is not correct.") if recovery else _("The code is not correct.")


@bp.route("/login/<flow_id>/totp", methods=["GET", "POST"], endpoint="login_step")
@bp.route("/login/<flow_id>/totp/recovery", methods=["GET", "POST"], endpoint="login_recovery")
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
@per_account("IDP_LOGIN_ACCOUNT_RATE_LIMIT", login_flow_email, methods=["POST"])
def login_step(flow_id):
    """The app's code, or a recovery code instead of whichever second factor the person has."""
    flow = LoginFlow.load(flow_id, browser_id())
    step = flow.next_step() if flow.state is State.STEPS else None
    recovery = request.endpoint.endswith("recovery")
    # The step first: before the password there is no identity to read.
    if step is None or step.name != second_factor.STEP or not (recovery or totp.enabled(flow.identity)):
        return redirect(url_for("login.show", flow_id=flow.id))
    identity = flow.identity
    verify = second_factor.verify_recovery_code if recovery else totp.verify_login

    def done():
        # A recovery code is a one-time password from the same enrolment (RFC 8176 "otp").
        flow.complete_step(second_factor.STEP, amr="otp")
        return redirect(url_for("login.continue_", flow_id=flow.id))

    has_app = totp.enabled(identity)
    return _code_page(lambda code: verify(identity, code, origin=origin()), done, recovery=recovery,
                      action=request.path,
                      other=url_for("totp.login_step" if recovery else "totp.login_recovery", flow_id=flow.id)
                      if has_app or not recovery else None,
                      passkey_url=url_for("passkey.login_step", flow_id=flow.id)
                      if passkey.has_passkeys(identity) else None,
                      resetting=flow.resetting_password)


@bp.route("/login/step-up", methods=["GET", "POST"], endpoint="step_up")
@bp.route("/login/step-up/recovery", methods=["GET", "POST"], endpoint="step_up_recovery")
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
@signed_in_person()
def step_up():
    """The signed-in person adds the second factor to this session (see authorize.py)."""
    return_to = _safe_return_to(request.args.get("return_to")) or url_for("account.home")
    login_session = current_session()
    if login_session is None:
        return redirect(url_for("login.start", return_to=return_to))
    identity, recovery = login_session.identity, request.endpoint.endswith("recovery")
    has_app = totp.enabled(identity)
    if not (has_app or recovery and second_factor.methods(identity)) or second_factor.proven(login_session.amr):
        return redirect(return_to)
    verify = second_factor.verify_recovery_code if recovery else totp.verify_login

    def done():
        second_factor.step_up(login_session, "otp", "recovery_code" if recovery else "totp", origin=origin())
        hold(login_session)
        return redirect(return_to)

    other = url_for("totp.step_up" if recovery else "totp.step_up_recovery", return_to=return_to) \
        if has_app or not recovery else None
    return _code_page(lambda code: verify(identity, code, origin=origin()), done, recovery=recovery,
                      action=request.full_path.rstrip("?"), other=other,
                      passkey_url=url_for("passkey.step_up", return_to=return_to)
                      if passkey.has_passkeys(identity) else None)


@bp.route("/account/totp")
@signed_in
def manage(identity):
    if not totp.enabled(identity):
        return redirect(url_for("totp.setup"))
    return _manage_page(identity)


def _manage_page(identity, errors: dict | None = None, status: int = 200):
    return render_template("totp/manage.html", identity=identity, errors=errors or {},
                           codes_left=recovery_codes.left(identity)), status


# The mark of the seed this browser was shown while the app waits for its first code.
PENDING_SEED = "totp_pending"


@bp.route("/account/totp/setup", methods=["GET", "POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
@password_again()
@signed_in
def setup(identity):
    if totp.enabled(identity):
        return redirect(url_for("totp.manage"))
    secret, session[PENDING_SEED] = totp.begin_enrolment(identity, session.get(PENDING_SEED))
    errors = {}
    if request.method == "POST":
        try:
            codes = totp.confirm_enrolment(identity, request.form.get("current_password", ""),
                                           request.form.get("code", ""), origin=origin())
            if codes:
                return render_template("totp/codes.html", codes=codes, notice=_("Two-step verification is on."),
                                       replaced=False)
            return back_to("two-step", _("Two-step verification is on. Your recovery codes still work."))
        except totp.AlreadyDone:  # the click before turned it on and showed the recovery codes
            return back_to("two-step", _("Two-step verification is on."))
        except FormRejected as rejected:
            errors = rejected.problems
    qr = segno.make(totp.provisioning_uri(identity, secret), error="m").svg_data_uri(scale=5, border=2)
    grouped = " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))
    return render_template("totp/setup.html", identity=identity, qr=qr, secret=grouped,
                           errors=errors), 400 if errors else 200


@bp.route("/account/totp/disable", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def disable(identity):
    try:
        totp.disable(identity, request.form.get("current_password", ""), request.form.get("code", ""),
                     origin=origin())
    except FormRejected as rejected:
        return _manage_page(identity, rejected.problems, 400)
    except totp.AlreadyDone:  # the click before turned it off
        pass
    return back_to("two-step", _("Two-step verification is off. Signing in needs only your password."))


@bp.route("/account/totp/recovery-codes", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def regenerate(identity):
    try:
        codes = totp.regenerate_recovery_codes(identity, request.form.get("regenerate_password", ""),
                                               origin=origin())
    except FormRejected as rejected:
        errors = {"regenerate_password": rejected.problems["current_password"]}
        if totp.enabled(identity):
            return _manage_page(identity, errors, 400)
        return passkey_account.manage_page(identity, errors, status=400)
    return render_template("totp/codes.html", codes=codes, notice=None, replaced=True)


@bp.app_template_global()
def two_step_status(identity) -> dict:
    """For the account page's section: is TOTP on, and how many recovery codes are left."""
    on = totp.enabled(identity)
    return {"enabled": on, "codes_left": recovery_codes.left(identity) if on else 0}
