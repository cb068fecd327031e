"""The security sections of the account page: password, sessions, allowed services."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, request, url_for
from flask_babel import gettext as _, ngettext

from ..extensions import limiter
from ..services import account
from ..services.account import FormRejected
from . import logout_page
from .account import render_home, signed_in
from .locale import ui_locale
from .account_notice import back_to
from .browser import current_session, origin, rekey, sign_out
from .limits import password_again

bp = Blueprint("account_security", __name__)

# First match wins: Edge and Opera also say "Chrome", Chrome also says "Safari",
# Android also says "Linux" and iPhones also say "Mac OS X".
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"))
SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


@bp.app_template_filter("device")
def device(user_agent: str | None) -> str:
    """'Firefox on Windows': enough to recognise one's own devices, no more."""
    agent = user_agent or ""
    browser = next((name for token, name in BROWSERS if token in agent), None)
    system = next((name for token, name in SYSTEMS if token in agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or _("Unknown device")


@bp.route("/account/password", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_LOGIN_RATE_LIMIT"])
@password_again()
@signed_in
def password(identity):
    try:
        account.change_password(identity, request.form.get("current_password", ""),
                                request.form.get("new_password", ""), origin=origin(),
                                keep_sid=current_session().sid, locale=ui_locale())
    except FormRejected as rejected:
        return render_home(identity, errors=rejected.problems, status=400)
    rekey()
    return back_to("password", _("Your password was changed. Your other devices were logged out."))


@bp.route("/account/sessions/<int:session_id>/end", methods=["POST"])
@signed_in
def end_session(identity, session_id):
    ended = account.end_session(identity, session_id, origin=origin())
    if ended.sid == current_session().sid:
        sign_out()
        return logout_page.with_frames([ended.sid]) or redirect(url_for("account.home"))
    return back_to("sessions", _("The device was logged out."))


@bp.route("/account/sessions/end-others", methods=["POST"])
@signed_in
def end_other_sessions(identity):
    ended = account.end_other_sessions(identity, origin=origin(), keep_sid=current_session().sid)
    rekey()
    return back_to("sessions", ngettext("%(num)d other device was logged out.",
                                        "%(num)d other devices were logged out.", ended))


@bp.route("/account/services/<int:consent_id>/remove", methods=["POST"])
@signed_in
def remove_service(identity, consent_id):
    client = account.revoke_consent(identity, consent_id, origin=origin())
    return back_to("services", _("%(service)s can no longer use your account. It will ask for your permission "
                                 "if you use it again.", service=client.name))
