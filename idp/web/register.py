"""Registration pages: the form, the code-entry page, 'send a new code' and the mailed link."""
from __future__ import annotations


from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..errors import FlowExpired
from ..extensions import limiter
from ..flows.registration import CodeRejected, FormRejected, LinkRejected, RegistrationFlow, State
from ..services.digits import emailed_code
from .browser import browser_id, current_identity, origin
from .limits import codes_of, mail_from_ip, mail_to
from .login import advance
from .login import _safe_return_to

bp = Blueprint("register", __name__)


def _flow_email() -> str:
    return RegistrationFlow.load(request.view_args["flow_id"], browser_id()).email


def _locale() -> str:
    return str(get_locale() or current_app.config["IDP_DEFAULT_LOCALE"])


def _continue(flow: RegistrationFlow):
    return redirect(flow.return_to or url_for("account.home"))


@bp.route("/register")
def start():
    flow = RegistrationFlow.start(browser_id(), return_to=_safe_return_to(request.args.get("return_to")))
    return redirect(url_for("register.show", flow_id=flow.id))


@bp.route("/register/<flow_id>", methods=["GET", "POST"])
@mail_from_ip()
@mail_to(lambda: request.form.get("email"))
def show(flow_id):
    flow = RegistrationFlow.load(flow_id, browser_id())
    if flow.state is not State.FORM:
        return redirect(url_for("register.verify", flow_id=flow.id))
    if request.method == "GET":
        return render_template("register/form.html", flow=flow, problems={})
    form = {key: request.form.get(key) or "" for key in ("email", "name", "password", "password_repeat")}
    try:
        flow.submit(form["email"], form["name"], form["password"], form["password_repeat"], locale=_locale(),
                    origin=origin())
    except FormRejected as rejected:
        return render_template("register/form.html", flow=flow, email=form["email"], name=form["name"],
                               problems=rejected.problems), 400
    return redirect(url_for("register.verify", flow_id=flow.id))


@bp.route("/register/<flow_id>/verify", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_CODE_RATE_LIMIT"], methods=["POST"])
@codes_of(_flow_email)
def verify(flow_id):
    flow = RegistrationFlow.load(flow_id, browser_id())
    if flow.state is State.FORM:
        return redirect(url_for("register.show", flow_id=flow.id))
    if flow.state is State.DONE:
        # Verified by the link on another device: this browser still has to sign in.
        if current_identity():
            return _continue(flow)
        return render_template("register/verified.html", return_to=flow.return_to)
    if request.method == "GET":
        return render_template("register/verify.html", flow=flow, resent=request.args.get("resent") == "1")
    code = emailed_code(request.form.get("code")) or ""
    if not flow.code_void and not code:
        return render_template("register/verify.html", flow=flow, error="format"), 400
    try:
        login = flow.verify_code(code, origin())
    except CodeRejected as rejected:
        # The other click of a double click used the code meanwhile: show the page as it is now.
        if flow.state is not State.VERIFY:
            return redirect(url_for("register.verify", flow_id=flow.id))
        return render_template("register/verify.html", flow=flow, error="wrong",
                               attempts_left=rejected.attempts_left), 400
    return advance(login)


@bp.route("/register/<flow_id>/resend", methods=["POST"])
@mail_from_ip()
@mail_to(_flow_email)
def resend(flow_id):
    flow = RegistrationFlow.load(flow_id, browser_id())
    if flow.state is State.VERIFY:
        flow.resend(locale=_locale(), origin=origin())
    return redirect(url_for("register.verify", flow_id=flow.id, resent=1))


@bp.route("/verify/<flow_id>", methods=["GET", "POST"])
def verify_link(flow_id):
    """Opened from the mail, maybe on another device: the token is the proof, not the browser.
    Opening only asks to confirm: mail scanners that fetch links must not use them up."""
    token = request.values.get("token") or ""
    try:
        flow = RegistrationFlow.load(flow_id, None)
        if request.method == "GET":
            if not flow.link_accepts(token):
                raise LinkRejected()
            return render_template("register/confirm_link.html", flow=flow, token=token)
        login = flow.verify_link(token, browser=browser_id(), origin=origin())
    except (FlowExpired, LinkRejected):
        return render_template("register/link_rejected.html"), 410
    if login is None:
        # return_to belongs to the browser that registered; here there is nothing to resume.
        return render_template("register/verified.html", return_to=None)
    return advance(login)
