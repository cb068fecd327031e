"""The account page's last section: deleting the account (services/account_deletion.py)."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from ..extensions import limiter
from ..services import account, account_deletion, mail
from ..services.account import FormRejected
from ..services.account_deletion import AlreadyDeleted, SoleAdmin
from . import logout_page, remembered_email
from .account import render_home, signed_in
from .locale import ui_locale
from .browser import current_session, origin, sign_out
from .limits import password_again

bp = Blueprint("account_deletion", __name__)


@bp.route("/account/delete", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_LOGIN_RATE_LIMIT"])
@password_again()
@signed_in
def delete(identity):
    # The services that log out in this browser (front-channel) are found by the session's
    # tokens, which the deletion takes with the account.
    frames = logout_page.frames_of([current_session().sid])
    try:
        account.confirm_password(identity, request.form.get("current_password", ""), origin=origin(),
                                 event="identity.deleted")
        notice = account_deletion.delete(identity, origin=origin(), locale=ui_locale(), reason="own_request")
    except FormRejected as rejected:
        return render_home(identity, errors={"delete_current_password": rejected.problems["current_password"]},
                           status=400)
    except SoleAdmin as refused:
        return render_home(identity, errors={"delete": str(refused)}, status=refused.status)
    except AlreadyDeleted:  # a double click: the other click deleted it, and mailed the notice
        notice = None
    sign_out()
    remembered_email.keep(None)
    if notice is not None:
        mail.deliver_now(notice)  # a notice only: if it fails now, the outbox retries it
    return logout_page.page("account/deleted.html", frames) or render_template("account/deleted.html")
