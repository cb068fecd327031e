"""Pages for an old account that must add an email before its login continues."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..errors import ValidationFailed
from ..extensions import limiter
from ..flows.legacy_email import CodeRejected, LegacyEmailFlow, State
from .browser import browser_id, origin
from .limits import per_account
from .login import advance

bp = Blueprint("legacy_email", __name__)


def _flow_email() -> str | None:
    return LegacyEmailFlow.load(request.view_args["flow_id"], browser_id()).email


# Per address as well as per IP, with the same counts as registration and reset: each
# code opens the account of that address, and a new code brings new tries.
@bp.route("/login/add-email/<flow_id>", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_MAIL_RATE_LIMIT"], methods=["POST"])
@per_account("IDP_MAIL_ACCOUNT_RATE_LIMIT", lambda: request.form.get("email"), scope="mail_to", methods=["POST"],
             deduct_when=lambda response: response.status_code == 302)
def ask(flow_id):
    flow = LegacyEmailFlow.load(flow_id, browser_id())
    if request.method == "GET":
        return render_template("login/add_email.html", flow=flow)
    try:
        sent = flow.send_code(request.form.get("email") or "", str(get_locale()), origin())
    except ValidationFailed as error:
        return render_template("login/add_email.html", flow=flow, error=str(error),
                               email=request.form.get("email", "")), 400
    if not sent:
        return render_template("login/add_email.html", flow=flow, not_sent=True), 503
    return redirect(url_for("legacy_email.code", flow_id=flow.id))


@bp.route("/login/add-email/<flow_id>/code", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_LOGIN_RATE_LIMIT"], methods=["POST"])
@per_account("IDP_CODE_ACCOUNT_RATE_LIMIT", _flow_email, scope="code", methods=["POST"])
def code(flow_id):
    flow = LegacyEmailFlow.load(flow_id, browser_id())
    if flow.state is not State.CODE_SENT:
        return redirect(url_for("legacy_email.ask", flow_id=flow.id))
    if request.method == "GET":
        return render_template("login/add_email_code.html", flow=flow)
    try:
        login = flow.verify(request.form.get("code") or "", origin())
    except CodeRejected as rejected:
        # The other click of a double click used the code meanwhile: show the page as it is now.
        if flow.state is not State.CODE_SENT:
            return redirect(url_for("legacy_email.code", flow_id=flow.id))
        return render_template("login/add_email_code.html", flow=flow, error=True,
                               attempts_left=rejected.attempts_left), 400
    return advance(login)
