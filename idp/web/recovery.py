"""Forgotten password pages: ask for the email (or an old user name), enter the mailed code
(or open the mailed link in any browser), give the second factor if the account has one
(on the login's own pages), choose a new password, and be signed in."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from ..errors import FlowExpired, IdpError, JourneyEnded
from ..extensions import limiter
from ..flows.login import LoginFlow
from ..flows.recovery import CODE_TTL, AlreadyDone, NewPasswordRejected, RecoveryFlow, State
from ..services import journeys, legacy_login
from ..services.digits import emailed_code
from .browser import browser_id, origin
from .locale import ui_locale
from .limits import codes_of, mail_to
from .login import advance

bp = Blueprint("recovery", __name__)


def _login_flow(flow_id: str | None) -> LoginFlow | None:
    """The login this reset started from, if it is still this browser's."""
    if not flow_id:
        return None
    try:
        return LoginFlow.load(flow_id, browser_id())
    except IdpError:
        return None


def _mail_to() -> str | None:
    """The address a reset request mails to, for its per-address limit: an old user name
    counts against its account's address."""
    typed = (request.form.get("email") or "").strip()
    if not legacy_login.by_login_name(typed):
        return typed
    identity = legacy_login.identity_for(typed)
    return identity.email if identity is not None else None


def _asked_flow() -> RecoveryFlow:
    return RecoveryFlow.load_asked(request.view_args["flow_id"], browser_id())


@bp.route("/recovery", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_RECOVERY_RATE_LIMIT"], methods=["POST"])
@mail_to(_mail_to)
def start():
    login_flow = _login_flow(request.values.get("flow"))
    if request.method == "GET":
        email = request.args.get("email") or (login_flow.email if login_flow else "")
        return _request_page(email.strip()[:320], login_flow)
    identifier = (request.form.get("email") or "").strip()
    if not legacy_login.valid_identifier(identifier):
        return _request_page(identifier, login_flow, error="invalid_email"), 400
    flow = RecoveryFlow.start(browser_id(), return_to=login_flow.return_to if login_flow else None)
    flow.request(identifier, ui_locale(), origin())
    return redirect(url_for("recovery.show", flow_id=flow.id))


def _request_page(email: str, login_flow, **shown) -> str:
    # An old user name is asked for only where old accounts were imported (as at login).
    return render_template("recovery/request.html", email=email, login_flow=login_flow,
                           old_names=legacy_login.names_exist(), **shown)


@bp.route("/recovery/<flow_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_RECOVERY_CODE_RATE_LIMIT"], methods=["POST"])
@codes_of(lambda: _asked_flow().email)
def show(flow_id):
    flow = RecoveryFlow.load_asked(flow_id, browser_id())
    if flow.state is State.NOT_SENT:
        return render_template("recovery/not_sent.html", flow=flow), 503
    if request.method == "GET" and flow.state in (State.SECOND_FACTOR, State.NEW_PASSWORD) \
            and flow.belongs_to(browser_id()):
        return redirect(url_for("recovery.password", flow_id=flow.id))
    error = None
    if request.method == "POST":
        code = emailed_code(request.form.get("code"))
        if code is None and not flow.void_reason():
            error = "format"  # a slip, not a guess: no try is used up
        elif flow.submit_code(code or "", origin()):
            return redirect(url_for("recovery.password", flow_id=flow.id))
        else:
            error = "wrong"
    void = flow.void_reason()
    status = 410 if void else 400 if error else 200
    return render_template("recovery/code.html", flow=flow, void=void, error=error), status


@bp.route("/recovery/<flow_id>/link", methods=["GET", "POST"])
def link(flow_id):
    flow = RecoveryFlow.load(flow_id, None)
    token = request.values.get("token") or ""
    if request.method == "GET" and flow.link_accepts(token):
        return render_template("recovery/link.html", flow=flow, token=token)
    if request.method == "POST" and flow.open_link(token, browser_id(), origin()):
        return redirect(url_for("recovery.password", flow_id=flow.id))
    return render_template("recovery/link.html", flow=flow, void=flow.void_reason() or "invalid"), 410


@bp.route("/recovery/<flow_id>/password", methods=["GET", "POST"])
def password(flow_id):
    flow = RecoveryFlow.load(flow_id, browser_id())
    if flow.state is State.DONE and request.method == "POST":  # sent again (the Back button, another tab)
        return _already_done()
    if flow.state is State.SECOND_FACTOR and not flow.factor_given():
        return redirect(url_for("login.continue_", flow_id=flow.login_id))
    if flow.state is not State.NEW_PASSWORD:
        return redirect(url_for("recovery.show", flow_id=flow.id))
    if request.method == "GET":
        return render_template("recovery/password.html", flow=flow)
    try:
        login = flow.set_password(request.form.get("password") or "", request.form.get("confirm") or "",
                                  ui_locale(), origin())
    except NewPasswordRejected as rejected:
        return render_template("recovery/password.html", flow=flow, problems=rejected.problems,
                               mismatch=rejected.mismatch), 400
    except AlreadyDone:  # another tab's password was set while this one's was on its way
        return _already_done()
    return advance(login)


def _already_done():
    """The password this page posted was not set (another was, in this reset): the person
    must know which one now opens the account."""
    return render_template("recovery/done.html"), 409


@bp.context_processor
def code_ttl():
    return {"code_ttl": CODE_TTL}


@bp.errorhandler(FlowExpired)
def expired(_error):
    return render_template("recovery/void.html", void="expired"), 410


@bp.errorhandler(JourneyEnded)
def ended(error):
    """Another reset (or a change of password) ended this one. The page does not say so: it
    is shown to whoever asked, and must not tell them that the address has an account."""
    journeys.refused(error, origin=origin())
    return render_template("recovery/void.html", void="ended"), 410
