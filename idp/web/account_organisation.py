"""The account page's organisations: which one this browser acts for, and leaving one."""
from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _

from ..extensions import db
from ..services import organisations
from ..services.organisations import LastAdmin
from .account import signed_in
from .account_notice import back_to
from .browser import current_session, origin

bp = Blueprint("account_organisation", __name__)


@bp.route("/account/organisation", methods=["POST"])
@signed_in
def choose(identity):
    login_session, chosen = current_session(), request.form.get("organisation", "")
    organisations.set_active(login_session, identity, chosen, origin=origin())
    db.session.commit()
    return back_to("organisations", _("Services you open from now on see you acting as you chose."))


@bp.route("/account/organisations/<int:organisation_id>/leave", methods=["GET", "POST"])
@signed_in
def leave(identity, organisation_id):
    """As an admin removing the member would: the tokens issued for acting in it end. Asks
    first (WCAG 3.3.4): only an admin's new invitation brings the person back. Leaves only on
    a POST: a GET's body (Werkzeug reads one) carries no CSRF token."""
    member = next((m for m in organisations.memberships_of(identity) if m.organisation_id == organisation_id), None)
    if member is None:
        abort(404)
    if request.method != "POST" or request.form.get("confirmed") != "yes":
        return render_template("account/leave.html", organisation=member.organisation)
    organisation = member.organisation
    name, member = organisation.name, organisations.membership_to_end(organisation, identity)
    if member is None:  # a double click: the other click left
        return back_to("organisations", _("You left %(org)s.", org=name))
    try:
        organisations.remove_member(organisation, member, actor=identity, origin=origin())
    except LastAdmin as refused:
        db.session.rollback()
        return back_to("organisations", str(refused), "error")
    db.session.commit()
    return back_to("organisations", _("You left %(org)s.", org=name))
