"""Organisation admin pages: members × services matrix, invitations, roles, activity."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from flask_babel import gettext as _

from ..errors import IdpError
from ..extensions import db
from ..models import Client, Invitation, Membership
from ..models.organisation import ADMIN
from ..services import mail, organisations
from .account_notice import back_to
from .browser import current_identity, origin
from .limits import mail_to, per_ip
from .locale import ui_locale

bp = Blueprint("orgadmin", __name__)


def _signed_in():
    identity = current_identity()
    if identity is None:
        abort(redirect(url_for("login.start", return_to=request.full_path.rstrip("?"))))
    return identity


def _as_admin(org_id, for_change=False):
    identity = _signed_in()
    organisation = organisations.get(org_id)
    if not organisations.is_admin(organisation, identity, for_change=for_change):
        abort(403)
    return organisation, identity


def _member(organisation, member_id) -> Membership:
    member = db.session.get(Membership, member_id)
    if member is None or member.organisation_id != organisation.id:
        abort(404)
    return member


def _invitation(organisation, invitation_id) -> Invitation:
    found = next((i for i in organisations.pending_invitations(organisation) if i.id == invitation_id), None)
    if found is None:
        abort(404)
    return found


class _Done(Exception):
    """What a withdrawal or removal was to end is gone already: the click before did it (a
    double click, whose later answer is the page the admin sees)."""


def _or_done(find, organisation, row_id):
    try:
        return find(organisation, row_id)
    except NotFound:
        raise _Done() from None


@bp.route("/orgs")
def mine():
    identity = _signed_in()
    organisations.join_waiting(identity, origin=origin())
    return render_template("orgadmin/mine.html", memberships=organisations.memberships_of(identity))


@bp.route("/orgs/<int:org_id>")
def show(org_id, message=None, error=None, status=200, invite=None, focus=None):
    """`focus`: the control the admin pressed, focused again and described by the outcome."""
    organisation, identity = _as_admin(org_id)
    return render_template(
        "orgadmin/show.html", organisation=organisation, me=identity, members=organisations.members(organisation),
        invitations=organisations.pending_invitations(organisation), expires_at=organisations.expires_at,
        services=organisations.services(), rights=organisations.rights(organisation),
        kiosks=organisations.has_kiosks(organisation),
        activity=organisations.activity(organisation),
        message=message, error=error, invite=invite or {}, focus=focus,
    ), status


def _change(org_id, action, invite=None, focus=None):
    """Run one admin change in a transaction and show the page with its outcome. `action`
    makes the change and returns the outcome message; it runs only after the admin check, so
    whatever it looks up (a member, an invitation, a service) tells a non-admin nothing.
    `invite`: the invitation form as posted, shown again as typed with its error next to it.
    Every admin change comes this way, so each is checked under the organisation's lock."""
    organisation, identity = _as_admin(org_id, for_change=True)
    try:
        done_message = action(organisation, identity)
        outgoing = mail.written()
        db.session.commit()
    except _Done:
        db.session.rollback()
        return show(org_id, message=_("That was done already."), focus=focus)
    except IdpError as failure:
        db.session.rollback()
        if invite is not None:
            return show(org_id, invite={**invite, "error": str(failure)}, status=failure.status)
        return show(org_id, error=str(failure), status=failure.status, focus=focus)
    for message in outgoing:  # only this change's mail; the outbox worker sends the rest
        mail.deliver_now(message)
    if not organisations.is_admin(organisation, identity):
        # An admin who made themselves a member, or removed themselves, may no longer see
        # this page: said on theirs (before, the page answered "No access").
        return back_to("organisations", done_message)
    return show(org_id, message=done_message, focus=focus)


def _invited(response) -> bool:
    """The admin page comes back as it was (200) only with the invitation made, and mailed;
    a refused one says why with its 4xx."""
    return response.status_code == 200


@bp.route("/orgs/<int:org_id>/invite", methods=["POST"])
@per_ip("IDP_INVITATION_RATE_LIMIT", methods=["POST"], deduct_when=_invited)
@mail_to(lambda: request.form.get("email"), sent=_invited)
def invite(org_id):
    email, role = request.form.get("email", ""), request.form.get("role", "member")

    def invited(org, me):
        invitation = organisations.invite(org, email, role, actor=me, origin=origin(), locale=ui_locale())
        return _("%(email)s was invited: they join when they next sign in with this address.",
                 email=invitation.email)
    return _change(org_id, invited, invite={"email": email[:320], "role": role})


@bp.route("/orgs/<int:org_id>/invitations/<int:invitation_id>/withdraw", methods=["POST"])
def withdraw(org_id, invitation_id):
    def withdrawn(org, me):
        invitation = _or_done(_invitation, org, invitation_id)
        organisations.withdraw_invitation(org, invitation, actor=me, origin=origin())
        return _("The invitation of %(member)s was withdrawn.", member=invitation.email)
    return _change(org_id, withdrawn)


@bp.route("/orgs/<int:org_id>/members/<int:member_id>/remove", methods=["GET", "POST"])
def remove(org_id, member_id):
    """Asks first (WCAG 3.3.4): undoing a removal takes a new invitation and every right again.
    Removes only on a POST: a GET's body (Werkzeug reads one) carries no CSRF token."""
    if request.method != "POST" or request.form.get("confirmed") != "yes":
        organisation, _admin = _as_admin(org_id)
        member, rights = _member(organisation, member_id), organisations.rights(organisation)
        return render_template("orgadmin/remove.html", organisation=organisation, member=member,
                               services=[s for s in organisations.services() if (member.id, s.id) in rights])

    def removed(org, me):
        member = _or_done(_member, org, member_id)
        email = member.identity.email
        organisations.remove_member(org, member, actor=me, origin=origin())
        return _("%(member)s was removed.", member=email)
    return _change(org_id, removed)


@bp.route("/orgs/<int:org_id>/members/<int:member_id>/role", methods=["POST"])
def role(org_id, member_id):
    new_role = request.form.get("role", "")

    def changed(org, me):
        member = _member(org, member_id)
        organisations.set_role(org, member, new_role, actor=me, origin=origin())
        if member.role == ADMIN:
            return _("%(member)s is now an admin.", member=member.identity.email)
        return _("%(member)s is now a member.", member=member.identity.email)
    return _change(org_id, changed, focus=f"role-{member_id}")


@bp.route("/orgs/<int:org_id>/members/<int:member_id>/display-name", methods=["POST"])
def display_name(org_id, member_id):
    def changed(org, me):
        member = _member(org, member_id)
        organisations.set_display_name(org, member, request.form.get("display_name"), actor=me, origin=origin())
        if member.display_name:
            return _("%(member)s is listed on the building's screen as %(name)s.",
                     member=member.identity.email, name=member.display_name)
        return _("%(member)s is no longer listed on the building's screen.", member=member.identity.email)
    return _change(org_id, changed, focus=f"display-name-{member_id}")


@bp.route("/orgs/<int:org_id>/members/<int:member_id>/services/<client_id>", methods=["POST"])
def service_right(org_id, member_id, client_id):
    granting = request.form.get("action") == "grant"

    def changed(org, me):
        member, client = _member(org, member_id), Client.by_client_id(client_id)
        if client is None:
            abort(404)
        (organisations.grant if granting else organisations.revoke)(org, member, client, actor=me, origin=origin())
        names = {"member": member.identity.email, "service": client.name}
        return (_("%(member)s may now use %(service)s.", **names) if granting
                else _("%(member)s may no longer use %(service)s.", **names))
    return _change(org_id, changed, focus=f"right-{member_id}-{client_id}")
