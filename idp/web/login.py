"""Login pages: identifier first (email, Continue), then password with 'remember me'."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, has_request_context, redirect, render_template, request, url_for
from flask_babel import get_locale

from ..errors import InvalidCredentials
from ..flows.legacy_email import LegacyEmailFlow
from ..flows.base import IllegalMove
from ..flows.login import EmailNotVerified, LoginFlow, State
from ..flows.registration import RegistrationFlow
from ..services import campaigns, legacy_login
from ..services.identities import valid_email
from ..services.legacy_login import LegacyCutOff, NeedsEmail
from . import logout_page, remembered_email
from .browser import browser_id, current_identity, current_session, origin, sign_in
from .limits import login_flow_email, mail_at_login, mailed, per_account, per_ip

bp = Blueprint("login", __name__)


def _safe_return_to(value: str | None) -> str | None:
    # Only paths on this server: an open redirect here would leak users to phishing sites.
    # Browsers read a backslash as a slash, and Werkzeug and browsers drop tabs and newlines,
    # so "/\t/evil.example" would become "//evil.example": refuse them all rather than clean.
    if not value or len(value) >= 2048 or "\\" in value or any(c.isspace() or not c.isprintable() for c in value):
        return None
    parts = urlsplit(value)
    # The raw value too: urlsplit reads "///evil.example" as a path, browsers as a host.
    if (parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//")
            or parts.path.startswith("//")):
        return None
    return value


@bp.route("/login")
def start():
    return begin(request.args.get("return_to"), request.args.get("login_hint"))


def begin(return_to: str | None, hint: str | None):
    """A new login in this browser, at the password step when `hint` is an address. The
    address stays in the flow, out of URLs that proxies and browser history keep."""
    flow = LoginFlow.start(browser_id(), return_to=_safe_return_to(return_to))
    hint = (hint or "").strip()
    if valid_email(hint):
        flow.identify(hint)
    return redirect(url_for("login.show", flow_id=flow.id))


@bp.route("/login/<flow_id>")
def show(flow_id):
    flow = LoginFlow.load(flow_id, browser_id())
    if flow.state is State.DONE:
        return redirect(flow.return_to or url_for("account.home"))
    if flow.state is State.STEPS:
        return advance(flow)
    if flow.state is State.IDENTIFY:
        return _identify_page(flow)
    return render_template("login/password.html", flow=flow)


@bp.route("/login/<flow_id>/identify", methods=["GET", "POST"])
# An old user name's masked address is shown to whoever types the name (and that is all an
# address reveals: nothing): limited as passwords are, so customer codes such as AS-40012
# cannot be walked through at full speed. Before, nothing limited it.
@per_ip("IDP_LOGIN_RATE_LIMIT", methods=["POST"])
def identify(flow_id):
    flow = LoginFlow.load(flow_id, browser_id())
    if request.method == "GET":
        return _identify_page(flow)
    identifier = (request.form.get("email") or "").strip()
    if not legacy_login.valid_identifier(identifier):
        return _identify_page(flow, email=identifier, error="invalid_email"), 400
    flow.identify(identifier)
    return redirect(url_for("login.show", flow_id=flow.id))


def _identify_page(flow, **shown) -> str:
    # Where old services' accounts were imported, people who only remember their user name
    # are told they may type it (the city's notice: "Sähköpostiosoite / käyttäjätunnus").
    return render_template("login/identify.html", flow=flow, suggested=remembered_email.suggested(),
                           old_names=legacy_login.names_exist(), **shown)


@bp.route("/login/<flow_id>/password", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@per_account("IDP_LOGIN_ACCOUNT_RATE_LIMIT", login_flow_email)
# A right password for an unproven address mails a code each time. Before, whoever knew
# the password of an account made with someone else's address flooded that inbox.
@mail_at_login(login_flow_email, scope="unproven")
def password(flow_id):
    flow = LoginFlow.load(flow_id, browser_id())
    remember = request.form.get("remember") == "on"
    try:
        flow.submit_password(request.form.get("password") or "", remember, origin())
        return advance(flow)  # the account may be deleted before its session starts (InvalidCredentials)
    except IllegalMove:  # a double click: the first post moved on, this one follows it
        return redirect(url_for("login.show", flow_id=flow.id))
    except LegacyCutOff:
        return render_template("login/password.html", flow=flow, remember=remember, error="legacy_cut_off"), 401
    except InvalidCredentials:
        return render_template("login/password.html", flow=flow, remember=remember, error="invalid_credentials",
                               old_passwords_stopped=campaigns.some_system_cut_off()), 401
    except NeedsEmail as needs:
        adding = LegacyEmailFlow.begin(needs.account, needs.password_hash, browser_id(), return_to=flow.return_to,
                                       remember=remember)
        return redirect(url_for("legacy_email.ask", flow_id=adding.id))
    except EmailNotVerified as unverified:
        verification = RegistrationFlow.for_unverified_login(
            unverified.identity, browser_id(), return_to=flow.return_to, remember=remember,
            adopt_hash=unverified.adopt_hash,
            locale=str(get_locale() or current_app.config["IDP_DEFAULT_LOCALE"]), origin=origin())
        mailed()
        return redirect(url_for("register.verify", flow_id=verification.id))


@bp.route("/login/<flow_id>/continue")
def continue_(flow_id):
    """Where each step's page sends the person back when it is done."""
    flow = LoginFlow.load(flow_id, browser_id())
    if flow.state is not State.STEPS:
        return redirect(url_for("login.show", flow_id=flow.id))
    return advance(flow)


def advance(flow: LoginFlow):
    """To the next step of the login, or, with none left, into the session and onwards."""
    step = flow.next_step()
    if step is not None:
        return redirect(step.url(flow))
    before = current_session()
    try:
        started = flow.finish(origin(), replacing=before)
    except IllegalMove:  # another request (a double click) started the session: this one follows it
        return redirect(url_for("login.show", flow_id=flow.id))
    sign_in(started)
    onwards = flow.return_to or url_for("account.home")
    if before is not None and before.identity_id != started.identity_id:
        # Another person's session in this browser ended: services that log out here
        # (front-channel) are told, in this browser, as at a logout. Before, they kept the
        # last person signed in for the next one.
        return logout_page.page("login/previous_logged_out.html", logout_page.frames_of([before.sid]),
                                continue_to=onwards) or redirect(onwards)
    return redirect(onwards)


@bp.app_context_processor
def signed_in_user():
    # Mail is rendered outside requests too, where nobody is signed in.
    return {"signed_in": current_identity() if has_request_context() else None}
