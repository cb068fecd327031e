"""The kiosk PIN on the account page: set, change or remove it (methods/pin.py has the rules)."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import limiter
from ..methods import pin
from ..services.account import FormRejected
from .account import signed_in
from ..services.time_text import local_time
from .browser import origin
from .limits import password_again

bp = Blueprint("pin", __name__)


@bp.route("/account/pin", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["IDP_LOGIN_RATE_LIMIT"], methods=["POST"])
@password_again()
@signed_in
def settings(identity):
    if request.method == "GET":
        return _page(identity)
    form = request.form
    try:
        pin.set_pin(identity, form.get("current_password", ""), form.get("pin", ""), form.get("repeat_pin", ""),
                    origin=origin())
    except FormRejected as rejected:
        return _page(identity, errors=rejected.problems), 400
    next_change = pin.next_change_at(pin.credential(identity))
    flash(_("Your PIN was saved. You can change it again on %(time)s.", time=local_time(next_change))
          if next_change else _("Your PIN was saved."))
    return redirect(url_for("pin.settings"))


@bp.route("/account/pin/remove", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_LOGIN_RATE_LIMIT"])
@password_again()
@signed_in
def remove(identity):
    try:
        removed = pin.remove_pin(identity, request.form.get("current_password", ""), origin=origin())
    except FormRejected as rejected:
        return _page(identity, remove_errors=rejected.problems), 400
    # Before, a second click (or a page left open after the PIN was removed elsewhere) said
    # it was removed again.
    flash(_("Your PIN was removed. To sign in on the touch screen again, set a new PIN.") if removed
          else _("That was done already."))
    return redirect(url_for("pin.settings"))


def _page(identity, errors: dict | None = None, remove_errors: dict | None = None) -> str:
    found = pin.credential(identity)
    return render_template("pin/settings.html", identity=identity, found=found, locked=pin.locked(found),
                           next_change=pin.next_change_at(found),
                           memberships=pin.kiosk_memberships(identity),
                           max_attempts=current_app.config["IDP_PIN_MAX_ATTEMPTS"],
                           errors=errors or {}, remove_errors=remove_errors or {})


@bp.app_template_global()
def kiosk_pin_status(identity) -> dict:
    """For the account page's section, shown to those whose organisation has a kiosk."""
    found = pin.credential(identity)
    return {"offered": found is not None or bool(pin.kiosk_memberships(identity)), "set": found is not None,
            "locked": pin.locked(found)}
