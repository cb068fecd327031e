"""Identification pages: choose a provider, go there, come back; a person new to Tunnus
then gives an email address and types the code sent to it."""
from __future__ import annotations


from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..errors import IdpError, ValidationFailed
from ..extensions import db, limiter
from ..flows.base import IllegalMove
from ..flows.identification import REFUSALS, CodeRejected, IdentificationFlow, State
from ..services import audit, upstreams
from ..services.account import FormRejected
from ..services.digits import emailed_code
from .browser import browser_id, current_session, hold, origin
from .limits import mail_from_ip, mail_to, password_again, per_account, per_ip
from .login import _safe_return_to, advance

bp = Blueprint("upstream", __name__)



def _locale() -> str:
    return str(get_locale() or current_app.config["IDP_DEFAULT_LOCALE"])


def _flow_email() -> str:
    return IdentificationFlow.load(request.view_args["flow_id"], browser_id()).email


def _record_refusal(event: str, provider, error: IdpError) -> None:
    audit.record(event, "failure", origin=origin(), upstream_id=provider.id, reason=getattr(error, "reason", error.id))
    db.session.commit()


def _failed(error: IdpError, return_to: str | None):
    return render_template("upstream/failed.html", message=str(error), return_to=return_to), error.status


@bp.app_template_global()
def upstream_providers() -> list[tuple[str, str]]:
    """(key, name) for the login and registration pages' "Identify with ..." buttons."""
    return [(upstreams.key(provider.name), provider.name) for provider in upstreams.all_providers()]


@bp.app_template_global()
def strong_identification(identity) -> dict | None:
    """For the account page: provider, when and the name it vouched for, if identified."""
    found = upstreams.identification(identity)
    return None if found is None else dict(zip(("provider", "at", "name"), found))


@bp.route("/identify")
def choose():
    """The providers to identify with, e.g. when a service demands strong identification."""
    return_to = _safe_return_to(request.args.get("return_to"))
    step_up = request.args.get("purpose") == "step_up" and current_session() is not None
    return render_template("upstream/choose.html", return_to=return_to, step_up=step_up)


@bp.route("/identify/<key>", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
def start(key):
    provider = upstreams.by_key(key)
    return_to = _safe_return_to(request.form.get("return_to"))
    login_session = current_session()
    step_up = request.form.get("purpose") == "step_up" and login_session is not None
    try:
        _flow, url = IdentificationFlow.begin(provider, browser_id(), return_to=return_to,
                                              step_up_sid=login_session.sid if step_up else None,
                                              ui_locales=_locale(), origin=origin())
    except REFUSALS as error:
        # A provider unreachable or answering what is none: the operator's to see.
        _record_refusal("upstream.started", provider, error)
        return _failed(error, return_to)
    return redirect(url)


@bp.route("/identify/<key>/callback")
@per_ip("IDP_LOGIN_RATE_LIMIT")
def callback(key):
    provider = upstreams.by_key(key)
    try:
        flow = IdentificationFlow.for_callback(request.args.get("state") or "", browser_id(), provider)
    except REFUSALS as error:
        # No flow of this browser to record it: the refusal is recorded here (a replayed or
        # carried-over callback is what an attack on the redirect looks like).
        _record_refusal("upstream.identified", provider, error)
        return _failed(error, None)
    login_session = current_session()
    try:
        login = flow.complete(request.args.to_dict(), login_session, origin=origin())
    except REFUSALS as error:
        return _failed(error, flow.return_to)
    if login is not None:
        return advance(login)
    if flow.state is State.EMAIL:
        return redirect(url_for("upstream.email", flow_id=flow.id))
    if flow.state is State.PASSWORD:
        return redirect(url_for("upstream.password", flow_id=flow.id))
    if flow.step_up:
        hold(login_session)
    return redirect(flow.return_to or url_for("account.home"))


@bp.route("/identify/password/<flow_id>", methods=["GET", "POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
@password_again()
def password(flow_id):
    """The password of the signed-in person, before an identification new to the account is linked to it."""
    flow = IdentificationFlow.load(flow_id, browser_id())
    login_session = current_session()
    if flow.state is not State.PASSWORD:
        return redirect(flow.return_to or url_for("account.home"))
    if login_session is None:
        return redirect(url_for("login.start"))
    identity = login_session.identity
    if request.method == "POST":
        try:
            flow.confirm(request.form.get("current_password", ""), login_session, origin=origin())
        except FormRejected as rejected:
            return render_template("upstream/password.html", flow=flow, identity=identity,
                                   errors=rejected.problems), 400
        except IllegalMove:  # the other click of a double click linked it
            return redirect(flow.return_to or url_for("account.home"))
        except REFUSALS as error:
            return _failed(error, flow.return_to)
        hold(login_session)
        return redirect(flow.return_to or url_for("account.home"))
    return render_template("upstream/password.html", flow=flow, identity=identity, errors={})


@bp.route("/identify/email/<flow_id>", methods=["GET", "POST"])
@mail_from_ip()
@mail_to(lambda: request.form.get("email"))
def email(flow_id):
    flow = IdentificationFlow.load(flow_id, browser_id())
    if flow.state not in (State.EMAIL, State.CODE_SENT):
        return redirect(flow.return_to or url_for("account.home"))
    if request.method == "GET":
        return render_template("upstream/email.html", flow=flow, email=flow.email)
    typed = request.form.get("email") or ""
    try:
        flow.send_code(typed, locale=_locale(), origin=origin())
    except ValidationFailed as error:
        return render_template("upstream/email.html", flow=flow, email=typed, error=str(error)), 400
    return redirect(url_for("upstream.code", flow_id=flow.id))


@bp.route("/identify/email/<flow_id>/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_CODE_RATE_LIMIT"], methods=["POST"])
@per_account("IDP_CODE_ACCOUNT_RATE_LIMIT", _flow_email, scope="code", methods=["POST"])
def code(flow_id):
    flow = IdentificationFlow.load(flow_id, browser_id())
    if flow.state is not State.CODE_SENT:
        return redirect(url_for("upstream.email", flow_id=flow.id))
    if request.method == "GET":
        return render_template("upstream/code.html", flow=flow, resent=request.args.get("resent") == "1")
    typed = emailed_code(request.form.get("code")) or ""
    if not flow.code_void and not typed:
        return render_template("upstream/code.html", flow=flow, error="format"), 400
    try:
        login = flow.verify(typed, locale=_locale(), origin=origin())
    except CodeRejected as rejected:
        # The other click of a double click used the code meanwhile: show the page as it is now.
        if flow.state is not State.CODE_SENT:
            return redirect(url_for("upstream.code", flow_id=flow.id))
        return render_template("upstream/code.html", flow=flow, error="wrong",
                               attempts_left=rejected.attempts_left), 400
    except REFUSALS as error:
        return _failed(error, flow.return_to)
    return advance(login)


@bp.route("/identify/email/<flow_id>/resend", methods=["POST"])
@mail_from_ip()
@mail_to(_flow_email)
def resend(flow_id):
    flow = IdentificationFlow.load(flow_id, browser_id())
    if flow.state is State.CODE_SENT:
        flow.send_code(flow.email, locale=_locale(), origin=origin())
    return redirect(url_for("upstream.code", flow_id=flow.id, resent=1))
