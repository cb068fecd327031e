"""`tunnus orgs create|add-member|set-role|withdraw-invitation|grant|revoke|list`."""
from __future__ import annotations

import click

from ..errors import IdpError, NotFound
from ..extensions import db
from ..models import Client, Identity
from ..models.identity import normalise_email
from ..models.organisation import ADMIN, MEMBER
from ..services import collation, mail, organisations
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("orgs", help="Organisations, members and service rights.")


def _org(ref: str):
    """An organisation by id or business id, locked until the commit: its changes come first
    (docs/resilience.md), a sign-in accepting its invitation waits and finds it withdrawn."""
    found = organisations.by_business_id(ref) if "-" in ref else None
    try:
        found = found or organisations.get(ref)
    except NotFound:
        raise click.ClickException(f"No organisation {ref}") from None
    organisations.lock(found)
    return found


def _client(client_id: str) -> Client:
    client = Client.by_client_id(client_id)
    if client is None:
        raise click.ClickException(f"no client {client_id!r}")
    return client


def _run(action):
    """Do it in one transaction; print IdpErrors as plain messages. Queued mail is sent after."""
    try:
        result = action()
        outgoing = mail.written()
        db.session.commit()
    except IdpError as error:
        db.session.rollback()
        raise click.ClickException(str(error))
    for message in outgoing:
        mail.deliver_now(message)
    return result


@group.command("create")
@click.option("--name", required=True, help="The organisation's name as people see it.")
@click.option("--business-id", default=None, help="Finnish Y-tunnus, e.g. 1234567-1.")
@click.option("--admin-email", default=None, help="First admin; invited if nobody has this address yet.")
@json_option
def create(name, business_id, admin_email, as_json):
    """Create an organisation, optionally with its first admin."""
    def action():
        organisation = organisations.create(name, business_id)
        if admin_email:
            organisations.add_member(organisation, admin_email, ADMIN)
        return organisation

    organisation = _run(action)
    emit({"id": organisation.id, "name": organisation.name, "business_id": organisation.business_id}, as_json)


@group.command("add-member")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--role", type=click.Choice([ADMIN, MEMBER]), default=MEMBER, show_default=True,
              help="An admin manages the members and their service rights.")
@click.option("--display-name", default=None,
              help="How the organisation names the member, e.g. 'A 12' (at most 100 characters).")
@json_option
def add_member(org_ref, email, role, display_name, as_json):
    """Add a member, or invite the address if nobody has it yet (the display name waits
    with the invitation)."""
    added = _run(lambda: organisations.add_member(_org(org_ref), email, role, display_name=display_name))
    emit({"email": email, "role": role, "status": "invited" if hasattr(added, "accepted_at") else "member"}, as_json)


@group.command("set-display-name")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The member's email address.")
@click.option("--display-name", required=True,
              help="How the organisation names the member, e.g. 'A 12'; its kiosks list them by it. '' clears it.")
@json_option
def set_display_name(org_ref, email, display_name, as_json):
    """Name a member for the organisation's kiosks (members without a name are not listed)."""
    def action():
        org = _org(org_ref)
        member = organisations.membership(org, Identity.by_email(email))
        if member is None:
            raise click.ClickException(f"{email} is not a member of {org.name}")
        organisations.set_display_name(org, member, display_name)
        return member.display_name

    emit({"email": email, "display_name": _run(action)}, as_json)


@group.command("withdraw-invitation")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The person's email address.")
@json_option
def withdraw_invitation(org_ref, email, as_json):
    """Withdraw a pending invitation: signing in with the address no longer makes a member."""
    def action():
        org = _org(org_ref)
        wanted = normalise_email(email)
        invitation = next((i for i in organisations.pending_invitations(org) if i.email_normalized == wanted), None)
        if invitation is None:
            raise click.ClickException(f"{email} has no pending invitation to {org.name}")
        organisations.withdraw_invitation(org, invitation)

    _run(action)
    emit({"org": org_ref, "email": email, "invitation": "withdrawn"}, as_json, f"withdrew the invitation of {email}")


def _member(org, email):
    identity = Identity.by_email(email)
    member = organisations.membership(org, identity)
    if member is None:
        raise click.ClickException(f"{email} is not a member of {org.name}")
    return member


@group.command("set-role")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--role", type=click.Choice([ADMIN, MEMBER], case_sensitive=False), required=True,
              help="The new role.")
@json_option
def set_role(org_ref, email, role, as_json):
    """Make a member an admin, or an admin a member (never the last admin), as an
    organisation's admin can on its page; audited as org.role_changed."""
    role = role.lower()

    def action():
        org = _org(org_ref)
        member = _member(org, email)
        before = member.role
        organisations.set_role(org, member, role)
        return org, before

    org, before = _run(action)
    changed = before != role
    emit({"org": org_ref, "email": email, "role": role, "changed": changed}, as_json,
         f"{email} is {'now' if changed else 'already'} {'an admin' if role == ADMIN else 'a member'} of {org.name}")


@group.command("grant")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--client", "client_id", required=True, help="The service's client_id.")
@json_option
def grant(org_ref, email, client_id, as_json):
    """Let a member use a service for the organisation."""
    def action():
        org = _org(org_ref)
        organisations.grant(org, _member(org, email), _client(client_id))

    _run(action)
    emit({"org": org_ref, "email": email, "client_id": client_id, "right": "granted"}, as_json,
         f"granted {client_id} to {email}")


@group.command("revoke")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--client", "client_id", required=True, help="The service's client_id.")
@json_option
def revoke(org_ref, email, client_id, as_json):
    """Stop a member using a service for the organisation."""
    def action():
        org = _org(org_ref)
        if not organisations.revoke(org, _member(org, email), _client(client_id)):
            # As withdraw-invitation: a command that changed nothing says so and fails, so
            # a script learns its idea of the rights was wrong.
            raise click.ClickException(f"{email} did not have the right to use {client_id} in {org.name}:"
                                       " nothing was revoked")

    _run(action)
    emit({"org": org_ref, "email": email, "client_id": client_id, "right": "revoked"}, as_json,
         f"revoked {client_id} from {email}")


@group.command("suspend")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@json_option
def suspend(org_ref, as_json):
    """Stop everyone acting for the organisation (its tokens end now) until `resume`;
    members and rights are kept."""
    _changed_status(org_ref, organisations.suspend, "suspended", as_json)


@group.command("resume")
@click.option("--org", "org_ref", required=True, help="Organisation id or business id.")
@json_option
def resume(org_ref, as_json):
    """Let the members of a suspended organisation act for it again, with their rights."""
    _changed_status(org_ref, organisations.resume, "active", as_json)


def _changed_status(org_ref: str, change, status: str, as_json: bool) -> None:
    def action():
        org = _org(org_ref)
        if not change(org):  # as revoke: a command that changed nothing says so and fails
            raise click.ClickException(f"{org.name} is {status} already: nothing was changed")
        return org

    org = _run(action)
    emit({"id": org.id, "name": org.name, "business_id": org.business_id, "status": status}, as_json,
         f"{org.name} is {status}")


@group.command("list")
@json_option
def list_(as_json):
    """List the organisations with their admins, member and invitation counts."""
    from ..models import Organisation

    rows = []
    for org in collation.by_name(db.session.execute(db.select(Organisation)).scalars()):
        members = organisations.members(org)
        rows.append({"id": org.id, "name": org.name, "business_id": org.business_id, "status": org.status,
                     "admins": [m.identity.email for m in members if m.role == ADMIN],
                     "members": len(members), "invitations": len(organisations.pending_invitations(org))})
    emit(rows, as_json, "\n".join(f"{r['id']}\t{r['business_id'] or '-'}\t{r['name']}\t{r['members']} members"
                                   + ("\tsuspended" if r["status"] == "suspended" else "")
                                   for r in rows) or "no organisations")
