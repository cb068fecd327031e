"""`tunnus users create|grant-operator|reset-second-factors|unlink-upstream|delete|export`."""
from __future__ import annotations

import os
import stat

import click

from ..errors import IdpError, NotFound
from ..services import identities, password_policy
from . import text_arguments
from .output import emit, json_option, reason

group = text_arguments.Group("users", help="People (identities).")


@group.command("create")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for when not given; it must meet the password rules of the web.")
@click.option("--name", default="", help="The name shown to the person and to services.")
@click.option("--verified/--unverified", default=True, help="Whether the email counts as verified.")
@json_option
def create(email, password, name, verified, as_json):
    """Create a person's account with a password (for setup and tests; people register themselves)."""
    try:
        # The rules a person's own new password meets on the web.
        password_policy.check(password, email, name)
        identity = identities.create(email, password, name, verified=verified)
    except IdpError as error:
        raise click.ClickException(str(error))
    emit({"sub": identity.sub, "email": identity.email, "name": identity.name}, as_json)


@group.command("grant-operator")
@click.option("--email", required=True, help="The person's email address.")
@json_option
def grant_operator(email, as_json):
    """Let this person run campaigns and see the /operator pages."""
    _set_operator(email, True, "identity.operator_granted", as_json)


@group.command("revoke-operator")
@click.option("--email", required=True, help="The person's email address.")
@json_option
def revoke_operator(email, as_json):
    """Take away what grant-operator gave: campaigns and the /operator pages (at once, in
    every session of theirs)."""
    _set_operator(email, False, "identity.operator_revoked", as_json)


def _set_operator(email: str, operator: bool, event: str, as_json: bool) -> None:
    from ..extensions import db
    from ..models import Identity
    from ..services import audit

    identity = Identity.by_email(email)
    # The person's row alone before the record below holds it: an email change confirmed at
    # this moment writes the address, which waits for that hold (docs/resilience.md).
    if identity is None or not Identity.lock(identity.id):
        raise click.ClickException(f"No identity with the email address {email}.")
    db.session.refresh(identity)  # the address as it is now, should it have just changed
    identity.is_operator = operator
    audit.record(event, identity=identity)
    db.session.commit()
    emit({"email": identity.email, "operator": operator}, as_json)


@group.command("reset-second-factors")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--reason", required=True, callback=reason, help="Why, for the audit record (e.g. the support ticket).")
@json_option
def reset_second_factors(email, reason, as_json):
    """Remove the person's authenticator app, passkeys and recovery codes and end their
    sessions: for someone who lost all of them, once support has made sure who they are."""
    from ..methods import second_factor
    from ..models import Identity

    identity = Identity.by_email(email)
    if identity is None:
        raise click.ClickException(f"No identity with the email address {email}.")
    removed = second_factor.reset(identity, reason=reason)
    emit({"email": identity.email, **removed}, as_json)


@group.command("unlink-upstream")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--provider", required=True, help="The upstream provider's name, key or id (tunnus upstreams list).")
@click.option("--reason", required=True, callback=reason, help="Why, for the audit record (e.g. the support ticket).")
@json_option
def unlink_upstream(email, provider, reason, as_json):
    """Remove the bank identity of this provider linked to the person's account and end
    their sessions: for a link someone else made, once support has made sure who they are."""
    from ..models import Identity, UpstreamLink
    from ..services import upstreams
    from ..services.audit import SYSTEM

    identity = Identity.by_email(email)
    if identity is None:
        raise click.ClickException(f"No identity with the email address {email}.")
    try:
        found = upstreams.find(provider)
    except NotFound:
        raise click.ClickException(f"No upstream provider {provider!r} (see tunnus upstreams list).") from None
    link = UpstreamLink.query.filter_by(identity_id=identity.id, upstream_id=found.id).one_or_none()
    if link is None:
        raise click.ClickException(f"{email} has no identification of {found.name} linked.")
    try:
        upstreams.unlink(identity, link.id, origin=SYSTEM, reason=reason)
    except NotFound:
        raise click.ClickException(f"{email} has no identification of {found.name} linked: removed meanwhile.") from None
    emit({"email": identity.email, "provider": found.name, "unlinked": True}, as_json)


@group.command("delete")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--reason", required=True, callback=reason,
              help="Why, for the audit record (e.g. the person's request and its ticket).")
@json_option
def delete(email, reason, as_json):
    """Delete the person's account, as they can on their account page: their sessions end,
    services are told by back-channel logout, and a notice goes to the address."""
    from flask import current_app

    from ..models import Identity
    from ..services import account_deletion, mail
    from ..services.audit import SYSTEM

    identity = Identity.by_email(email)
    if identity is None:
        raise click.ClickException(f"No identity with the email address {email}.")
    deleted = {"email": identity.email, "sub": identity.sub}
    try:
        notice = account_deletion.delete(identity, origin=SYSTEM, locale=current_app.config["IDP_DEFAULT_LOCALE"],
                                         reason=reason)
    except account_deletion.AlreadyDeleted:
        raise click.ClickException(f"No identity with the email address {email}: it was deleted meanwhile.") from None
    except account_deletion.SoleAdmin as refused:
        raise click.ClickException(f"{email} is the only admin of {refused.params['names']}: "
                                   "make someone else an admin there first "
                                   "(tunnus orgs set-role --org ID --email OTHER --role admin)")
    mail.deliver_now(notice)
    emit({**deleted, "deleted": True}, as_json)


@group.command("export")
@click.option("--email", required=True, help="The person's email address.")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the JSON to this file (readable by its owner only) instead of printing it.")
@click.option("--reason", default=None, callback=reason,
              help="Why, for the audit record (e.g. the person's letter and its ticket).")
@json_option
def export(email, output, reason, as_json):
    """Print what Tunnus holds about the person, as the JSON file they can download on
    their account page: for a request made otherwise (by post, GDPR Art. 15). The output
    is JSON with or without --json (taken, as by every command that prints data)."""
    from ..models import Identity
    from ..services import personal_data
    from ..services.audit import SYSTEM

    identity = Identity.by_email(email)
    if identity is None:
        raise click.ClickException(f"No identity with the email address {email}.")

    def exported() -> str:
        try:
            return personal_data.export(identity, origin=SYSTEM, via="operator", reason=reason)
        except NotFound:  # deleted since it was looked up
            raise click.ClickException(f"No identity with the email address {email}.") from None

    if output is None:
        click.echo(exported(), nl=False)
        return
    # Opened before the export is made and audited: an export recorded as done must be in the file.
    # Everything about a person: not for the other accounts on the operator's machine.
    try:
        descriptor = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError as error:
        raise click.BadParameter(f"cannot write {output}: {error.strerror}", param_hint="--output") from None
    # Only a file of its own is changed or removed: not a device (/dev/stdout, a symbolic
    # link to one), nor a link the operator made. Before, a person deleted meanwhile
    # removed /dev/stdout itself.
    own_file = stat.S_ISREG(os.fstat(descriptor).st_mode) and not os.path.islink(output)
    if own_file:
        os.fchmod(descriptor, 0o600)  # a file that was there keeps its mode otherwise
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            try:
                file.write(exported())
            except click.ClickException:
                if own_file:
                    os.unlink(output)  # no file of nobody
                raise
    except OSError as error:  # a full disk, or a file that takes nothing (/dev/full, /proc/...)
        raise click.ClickException(f"cannot write {output}: {error.strerror}; the export is in the audit "
                                   "record as made: make it again to a file that can be written") from None
