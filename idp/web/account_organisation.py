"""Choosing, on the account page, which organisation this browser acts for."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..services import organisations
from .account import signed_in
from .browser import current_session, origin

bp = Blueprint("account_organisation", __name__)


@bp.route("/account/organisation", methods=["POST"])
@signed_in
def choose(identity):
    login_session, chosen = current_session(), request.form.get("organisation", "")
    organisations.set_active(login_session, identity, chosen, origin=origin())
    db.session.commit()
    flash(_("Services you open from now on see you acting as you chose."))
    return redirect(url_for("account.home", _anchor="organisations"))
