"""The signed-in person's own page: details, language and sign-in email.

Password, sessions and allowed services are in account_security.py; every section
is on the one page rendered by `render_home`.
"""
from __future__ import annotations

import functools

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, refresh

from ..extensions import limiter
from ..flows.email_change import EmailChangeFlow, State
from ..services import account, organisations
from ..services.account import FormRejected
from . import remembered_email
from .account_notice import back_to
from .browser import browser_id, current_identity, current_session, origin
from .locale import remember_choice, ui_locale
from .limits import codes_of, mail_to, password_again

bp = Blueprint("account", __name__)


def signed_in(view):
    """Pass the signed-in identity to the view; send everyone else to sign in first."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        identity = current_identity()
        if identity is None:
            back = request.full_path.rstrip("?") if request.method == "GET" else url_for("account.home")
            return redirect(url_for("login.start", return_to=back))
        return view(identity, *args, **kwargs)
    return wrapper


def render_home(identity, *, errors: dict | None = None, form: dict | None = None, status: int = 200):
    login_session = current_session()
    return render_template(
        "account/home.html", identity=identity, errors=errors or {}, form=form or {},
        sessions=account.active_sessions(identity), current_sid=login_session.sid,
        consents=account.consents(identity), min_password=current_app.config["IDP_PASSWORD_MIN_LENGTH"],
        memberships=organisations.memberships_of(identity), active_organisation=login_session.organisation_id,
    ), status


@bp.route("/account")
@signed_in
def home(identity):
    organisations.join_waiting(identity, origin=origin())
    return render_home(identity)


@bp.route("/")
def index():
    return redirect(url_for("account.home"))


@bp.route("/account/profile", methods=["POST"])
@signed_in
def profile(identity):
    form = request.form
    try:
        account.update_profile(identity, name=form.get("name", ""), phone=form.get("phone", ""),
                               locale=form.get("locale", ""), origin=origin())
    except FormRejected as rejected:
        return render_home(identity, errors=rejected.problems, form=form.to_dict(), status=400)
    session["locale"] = identity.locale
    refresh()  # the confirmation below is already in the newly chosen language
    # Also this browser's latest choice: an older pick with the FI / SV / EN links must not
    # win over it at the next sign-in.
    return remember_choice(back_to("profile", _("Your details were saved.")), identity.locale)


@bp.route("/account/email", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_MAIL_RATE_LIMIT"])
@mail_to(lambda: request.form.get("new_email"))
@password_again()
@signed_in
def change_email(identity):
    new_email = request.form.get("new_email", "")
    try:
        flow, delivered = EmailChangeFlow.begin(identity, new_email, request.form.get("current_password", ""),
                                                browser=browser_id(), locale=identity.locale or ui_locale(),
                                                origin=origin())
    except FormRejected as rejected:
        # This form's password field, apart from the one of the password change form below it.
        errors = {("email_" + field if field == "current_password" else field): problem
                  for field, problem in rejected.problems.items()}
        return render_home(identity, errors=errors, form={"new_email": new_email}, status=400)
    if not delivered:
        flash(_("We could not send the message right now. Wait a few minutes and check your inbox, "
                "or start the change again."), "error")
    return redirect(url_for("account.email_code", flow_id=flow.id))


@bp.route("/account/email/<flow_id>", methods=["GET", "POST"])
# As every code step's: per IP, and per address (the one it would move to). Before, only
# the flow's five tries held: with several flows and IPs, a code for someone else's
# address could be guessed, and the account pass for theirs.
@limiter.limit(lambda: current_app.config["IDP_CODE_RATE_LIMIT"], methods=["POST"])
@codes_of(lambda: EmailChangeFlow.load(request.view_args["flow_id"], browser_id()).new_email)
@signed_in
def email_code(identity, flow_id):
    flow = EmailChangeFlow.load_for(flow_id, browser_id(), identity)
    if flow.state is State.DONE:
        return redirect(url_for("account.home"))
    if request.method == "GET":
        return render_template("account/email_code.html", flow=flow, identity=identity, errors={})
    old_email = identity.email
    try:
        flow.enter_code(request.form.get("code", ""), origin=origin(), locale=ui_locale())
    except FormRejected as rejected:
        # The other click of a double click used the code meanwhile: show the page as it is now.
        if flow.state is State.DONE:
            return redirect(url_for("account.email_code", flow_id=flow.id))
        return render_template("account/email_code.html", flow=flow, identity=identity,
                               errors=rejected.problems), 400
    remembered_email.moved(old_email, flow.new_email)
    return back_to("email", _("Your sign-in email address is now %(email)s.", email=flow.new_email))


@bp.route("/account/email/<flow_id>/confirm/<token>", methods=["GET", "POST"])
def confirm_email(flow_id, token):
    """The link in the mail: opened in any browser, signed in or not; the token is the proof."""
    flow = EmailChangeFlow.load(flow_id, None)
    if request.method == "GET" or not flow.usable:
        return render_template("account/email_link.html", flow=flow, errors={})
    old_email = flow.identity_email
    try:
        flow.follow_link(token, origin=origin(), locale=ui_locale())
    except FormRejected as rejected:
        return render_template("account/email_link.html", flow=flow, errors=rejected.problems), 400
    remembered_email.moved(old_email, flow.new_email)
    return render_template("account/email_link.html", flow=flow, errors={}, confirmed=True)
