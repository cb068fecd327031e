"""Campaign pages for the person asked: the login step, the code, the new password, and
the mailed link (confirm, then the same password page)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..errors import FlowExpired, JourneyEnded, NotFound
from ..extensions import limiter
from ..flows.campaign import STEP, CampaignFlow, CampaignWithdrawn, CodeRejected, NewPasswordRejected, State
from ..flows.login import LoginFlow, State as LoginState
from ..services import campaigns, journeys
from ..services.digits import emailed_code
from .browser import browser_id, origin
from .limits import codes_of, mail_at_login, mailed

bp = Blueprint("campaign", __name__)


def _locale() -> str:
    return str(get_locale() or current_app.config["IDP_DEFAULT_LOCALE"])


def _flow_email() -> str:
    return CampaignFlow.load(request.view_args["flow_id"], browser_id()).email


def _login(login_id) -> LoginFlow:
    """The login, if this is its next step: a password alone must not reach a step that
    changes the password and ends every session before the second factor is given."""
    login = LoginFlow.load(login_id, browser_id())
    step = login.next_step() if login.state is LoginState.STEPS else None
    if step is None or step.name != STEP:
        abort(redirect(url_for("login.show", flow_id=login.id)))
    return login


def _back_to_login(login_id):
    """Not marked done: the step is needed while any campaign still asks (another one, past
    its deadline too, comes next), and no longer once none does."""
    return redirect(url_for("login.continue_", flow_id=login_id))


def _login_email() -> str | None:
    login = LoginFlow.load(request.view_args["login_id"], browser_id())
    return login.identity.email if login.data.get("identity_id") else None


@bp.route("/login/<login_id>/campaign", methods=["GET", "POST"])
@mail_at_login(_login_email, scope="campaign")
def step(login_id):
    login = _login(login_id)
    asked = campaigns.asking(login.identity)
    if asked is None:
        return _back_to_login(login.id)
    member, campaign = asked
    if request.method == "GET":
        return render_template("campaign/step.html", login=login, campaign=campaign,
                               missing=campaigns.missing(member, campaign),
                               may_snooze=campaigns.may_snooze(member, campaign),
                               past_deadline=campaigns.past_deadline(campaign))
    flow = CampaignFlow.at_login(login, member, campaign, locale=_locale(), origin=origin())
    if "verify_email" in campaigns.missing(member, campaign):
        mailed()
    return redirect(url_for("campaign.show", flow_id=flow.id))


@bp.route("/login/<login_id>/campaign/later", methods=["POST"])
def later(login_id):
    login = _login(login_id)
    asked = campaigns.asking(login.identity)
    if asked is None:
        return _back_to_login(login.id)
    member, campaign = asked
    if not campaigns.snooze(member, campaign, origin()):
        return render_template("campaign/step.html", login=login, campaign=campaign,
                               missing=campaigns.missing(member, campaign), may_snooze=False,
                               past_deadline=campaigns.past_deadline(campaign), snooze_refused=True), 409
    return _back_to_login(login.id)


@bp.route("/campaign/flow/<flow_id>")
def show(flow_id):
    flow = CampaignFlow.load(flow_id, browser_id())
    if flow.state is State.CODE_SENT:
        return render_template("campaign/code.html", flow=flow, resent=request.args.get("resent") == "1")
    if flow.state is State.PASSWORD:
        return render_template("campaign/password.html", flow=flow)
    if flow.state is State.SIGN_IN:
        return render_template("campaign/sign_in.html", flow=flow)
    if flow.state is State.DONE and flow.login_id:
        return _back_to_login(flow.login_id)
    return render_template("campaign/done.html", flow=flow)


@bp.route("/campaign/flow/<flow_id>/code", methods=["POST"])
# Per IP only the codes refused: a right one from each colleague behind one IP holds nobody.
@limiter.limit(lambda: current_app.config["IDP_CODE_RATE_LIMIT"], methods=["POST"],
               deduct_when=lambda response: response.status_code == 400)
@codes_of(_flow_email)
def code(flow_id):
    flow = CampaignFlow.load(flow_id, browser_id())
    typed = emailed_code(request.form.get("code")) or ""
    if not flow.code_void and not typed:
        return render_template("campaign/code.html", flow=flow, error="format"), 400
    try:
        flow.enter_code(typed, origin())
    except CodeRejected as rejected:
        return render_template("campaign/code.html", flow=flow, error="wrong",
                               attempts_left=rejected.attempts_left), 400
    return redirect(url_for("campaign.show", flow_id=flow.id))


@bp.route("/campaign/flow/<flow_id>/resend", methods=["POST"])
@mail_at_login(_flow_email, scope="campaign")
def resend(flow_id):
    flow = CampaignFlow.load(flow_id, browser_id())
    if flow.state is State.CODE_SENT:
        flow.send_code(_locale(), origin())
        mailed()
    return redirect(url_for("campaign.show", flow_id=flow.id, resent=1))


@bp.route("/campaign/flow/<flow_id>/password", methods=["POST"])
def password(flow_id):
    flow = CampaignFlow.load(flow_id, browser_id())
    if flow.state is not State.PASSWORD:
        return redirect(url_for("campaign.show", flow_id=flow.id))
    try:
        flow.set_password(request.form.get("password") or "", request.form.get("confirm") or "",
                          locale=_locale(), origin=origin())
    except NewPasswordRejected as rejected:
        return render_template("campaign/password.html", flow=flow, problems=rejected.problems,
                               mismatch=rejected.mismatch), 400
    return redirect(url_for("campaign.show", flow_id=flow.id))


@bp.route("/campaign/<int:member_id>/<signature>", methods=["GET", "POST"])
def link(member_id, signature):
    """The mailed link, opened in any browser. Opening only asks to confirm: mail scanners
    fetch links, and a fetch must neither count as opened nor prove the address."""
    member, campaign, problem = campaigns.by_link(member_id, signature)
    if problem:
        return render_template("campaign/link_rejected.html", problem=problem, campaign=campaign), \
            {"invalid": 404, "expired": 410}.get(problem, 200)
    if request.method == "GET":
        return render_template("campaign/confirm_link.html", campaign=campaign,
                               missing=campaigns.missing(member, campaign))
    flow = CampaignFlow.from_link(member, campaign, browser=browser_id(), origin=origin())
    return redirect(url_for("campaign.show", flow_id=flow.id))


@bp.errorhandler(FlowExpired)
@bp.errorhandler(NotFound)
def journey_lost(error):
    return render_template("campaign/link_rejected.html", problem="flow", campaign=None), error.status


@bp.errorhandler(CampaignWithdrawn)
def withdrawn(error):
    if error.login_id:  # the login goes on: a cancelled campaign asks nothing there
        return _back_to_login(error.login_id)
    return render_template("campaign/link_rejected.html", problem="withdrawn", campaign=None), error.status


@bp.errorhandler(JourneyEnded)
def journey_ended(error):
    """The login (or this journey) was ended: the password changed since it began."""
    journeys.refused(error, origin=origin())
    return render_template("error.html", title=error.title, message=str(error), again=error.again), error.status
