"""The mail that tells a person a bank identity was linked to their account: a new way
into it, made with a session, a password or a mailed code someone else may have held."""
from __future__ import annotations

from ..models import Identity
from ..models.outbox import OutboxMail
from . import clock, links, mail


def enqueue(identity: Identity, provider_name: str, verified_name: str) -> OutboxMail:
    """The notice, in the outbox with the caller's transaction; deliver_now after the commit
    (or the outbox's sender delivers it)."""
    return mail.enqueue("upstream_linked", identity.email, identity.locale, identity=identity, email=identity.email,
                        provider=provider_name, name=verified_name, when=clock.now(),
                        account_link=links.external("account.home") + "#identification")
