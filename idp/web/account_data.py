"""The account page's "Your data" section: a download of what Tunnus holds about the
person (services/personal_data.py)."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request

from ..services import account, clock, personal_data
from ..services.account import FormRejected
from .account import render_home, signed_in
from .browser import origin
from .limits import password_again, per_ip

bp = Blueprint("account_data", __name__)


# The password is asked again: a guess per request, limited as at login.
@bp.route("/account/data", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def download(identity):
    # Someone holding only a stolen session must not walk away with the person's data.
    try:
        account.confirm_password(identity, request.form.get("current_password", ""), origin=origin(),
                                 event="identity.data_exported")
    except FormRejected as rejected:
        return render_home(identity, errors={"data_current_password": rejected.problems["current_password"]},
                           status=400)
    exported = personal_data.export(identity, origin=origin(), via="account_page")
    today = clock.now().replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo(current_app.config["IDP_TIMEZONE"]))
    return current_app.response_class(
        exported, mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="tunnus-data-{today:%Y-%m-%d}.json"',
                 "Cache-Control": "no-store"})
