"""The mail that tells a person their password changed, in case it was not them."""
from __future__ import annotations

from ..models import Identity
from ..models.outbox import OutboxMail
from . import clock, links, mail


def enqueue(identity: Identity, locale: str) -> OutboxMail:
    """The notice, in the outbox with the caller's transaction; deliver_now after the commit."""
    return mail.enqueue("password_changed", identity.email, identity.locale or locale, identity=identity,
                        email=identity.email, when=clock.now(),
                        recovery_link=links.external("recovery.start", email=identity.email))
