"""`tunnus mail send [--loop]`: deliver the outbox."""
from __future__ import annotations

import click

from .. import config
from ..services import identities, mail
from . import text_arguments
from .output import deliver_rounds, emit, interval_option, json_option, loop_option

group = text_arguments.Group("mail", help="Outgoing mail.")


@group.command("send")
@loop_option
@interval_option
@json_option
def send(loop, interval, as_json):
    """Deliver the mail outbox once, or with --loop until stopped."""
    deliver_rounds(mail.deliver_due, mail.pending_count, loop, interval, as_json)


@group.command("test")
@click.option("--to", "recipient", required=True, help="Address to send a test message to.")
@json_option
def test(recipient, as_json):
    """Send a test message now, to check IDP_SMTP_URL."""
    from flask import current_app

    from ..extensions import db

    if not current_app.config["IDP_SMTP_URL"]:  # mail would only be logged: nothing to check
        raise click.ClickException("IDP_SMTP_URL is not set: mail is only written to the log")
    if not identities.valid_email(recipient):
        raise click.BadParameter(f"{recipient!r} is not an email address", param_hint="--to")
    if config.sends_from_placeholder(current_app.config):
        click.echo(f"warning: {config.PLACEHOLDER_SENDER}", err=True)
    message = mail.enqueue("test_message", recipient, None, link=current_app.config["IDP_ISSUER"])
    db.session.commit()
    ok = mail.deliver_now(message)
    emit({"to": recipient, "sent": ok, "error": None if ok else message.last_error}, as_json,
         "sent" if ok else f"not sent: {message.last_error}")
    if not ok:
        raise SystemExit(1)
