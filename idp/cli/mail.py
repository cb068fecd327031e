"""`tunnus mail send [--loop]`: deliver the outbox."""
from __future__ import annotations

import click

from ..services import mail
from .output import deliver_rounds, json_option

group = click.Group("mail", help="Outgoing mail.")


@group.command("send")
@click.option("--loop", is_flag=True, help="Keep delivering until stopped.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between rounds with --loop.")
@json_option
def send(loop, interval, as_json):
    deliver_rounds(mail.deliver_due, mail.pending_count, loop, interval, as_json)


@group.command("test")
@click.option("--to", "recipient", required=True, help="Address to send a test message to.")
def test(recipient):
    """Send a test message now, to check IDP_SMTP_URL."""
    from flask import current_app

    from ..extensions import db

    message = mail.enqueue("test_message", recipient, None, link=current_app.config["IDP_ISSUER"])
    db.session.commit()
    ok = mail.deliver_now(message)
    click.echo("sent" if ok else f"not sent: {message.last_error}")
