"""Upstream OpenID providers (bank IDs) and whom they identified.

Configuration (the client secret is encrypted at rest, secrets_box) and the linking
rules: an upstream subject belongs to at most one identity, found by its existing link,
else by an address the provider vouches for that matches a verified Tunnus address, else
a new identity whose address the person proves with a code. An identity holds at most
one subject per provider: a second person identifying into the same account is refused.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from urllib.parse import urlsplit

from authlib.common.security import is_secure_transport
from flask_babel import lazy_gettext as _l

from ..errors import Conflict, IdpError, NotFound, ValidationFailed
from ..extensions import db
from ..methods import levels
from ..models import Identity, UpstreamLink, UpstreamProvider, row_id
from ..models.outbox import OutboxMail
from . import audit, clock, collation, links, names, redirect_uris, secrets_box, sessions, upstream_notice
from .audit import SYSTEM, Origin
from .unique_rows import add_or_existing


class LinkedElsewhere(IdpError):
    id = "upstream_linked_elsewhere"
    message = _l("This identification belongs to another Tunnus account. Sign out and sign in with it.")
    status = 409


class IdentifiedAsAnother(IdpError):
    id = "upstream_identified_as_another"
    message = _l("This Tunnus account was already identified as another person.")
    status = 409


# The pages at /identify/KEY/... that are not a provider's.
RESERVED_KEYS = {"email", "password"}


def key(name: str) -> str:
    """The provider's part of its URLs, from its name ("Bank ID" -> "bank-id"): known before
    the provider is added, so its callback URL can be registered there first."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


def add(name: str, issuer: str, client_id: str, client_secret: str, *, origin: Origin = SYSTEM) -> UpstreamProvider:
    name, issuer, client_id = names.one_line(name), issuer.strip(), client_id.strip()
    if not 0 < len(name) <= 100 or not key(name):
        raise ValidationFailed("the name must have 1-100 characters, some of them letters or digits")
    if key(name) in RESERVED_KEYS:
        raise ValidationFailed(f"{name!r}: /identify/{key(name)}/ is a page of Tunnus's own; choose another name")
    try:
        parts = urlsplit(issuer)
    except ValueError:  # an unclosed [IPv6 literal
        parts = None
    if not parts or parts.query or parts.fragment or not parts.netloc or len(issuer) > 500 \
            or not redirect_uris.URI_TEXT.fullmatch(issuer):
        raise ValidationFailed(f"{issuer!r}: the issuer must be an absolute URL without query or #fragment")
    if not is_secure_transport(issuer):
        raise ValidationFailed(f"{issuer!r}: use https (plain http only on a loopback address)")
    if not client_id or len(client_id) > 200 or not client_secret:
        raise ValidationFailed("give the client id and secret the provider registered for Tunnus")
    if any(key(other.name) == key(name) for other in all_providers()):
        raise Conflict(f"an upstream provider named {name!r} exists already")
    provider = UpstreamProvider(name=name, issuer=issuer, client_id=client_id,
                                client_secret_encrypted=secrets_box.encrypt(client_secret,
                                                                            secrets_box.UPSTREAM_CLIENT_SECRET))
    db.session.add(provider)
    db.session.flush()
    audit.record("upstream.added", origin=origin, upstream_id=provider.id, issuer=issuer)
    db.session.commit()
    return provider


def remove(provider: UpstreamProvider, *, origin: Origin = SYSTEM) -> int:
    """Forget the provider and its links (identities stay strongly identified); returns the links removed."""
    count = db.session.execute(db.select(db.func.count()).select_from(UpstreamLink)
                               .filter_by(upstream_id=provider.id)).scalar_one()
    db.session.execute(db.delete(UpstreamLink).filter_by(upstream_id=provider.id))
    db.session.delete(provider)
    audit.record("upstream.removed", origin=origin, upstream_id=provider.id, issuer=provider.issuer, links=count)
    db.session.commit()
    return count


def all_providers() -> list[UpstreamProvider]:
    return collation.by_name(db.session.execute(db.select(UpstreamProvider)).scalars())


def available() -> bool:
    return db.session.execute(db.select(UpstreamProvider.id).limit(1)).first() is not None


def get(upstream_id: int, issuer: str | None = None) -> UpstreamProvider:
    """The provider, or NotFound; with `issuer` (kept with a flow), only if it is still the
    one the flow began with: SQLite gives a removed provider's id to the next one added."""
    provider = db.session.get(UpstreamProvider, upstream_id)
    if provider is None or (issuer is not None and provider.issuer != issuer):
        raise NotFound()
    return provider


def same(provider: UpstreamProvider, kept: dict) -> bool:
    """Is `provider` the one whose upstream_id (and issuer) `kept` holds?"""
    return kept.get("upstream_id") == provider.id and kept.get("issuer", provider.issuer) == provider.issuer


def by_key(value: str) -> UpstreamProvider:
    """The provider whose name gives this key (the URL part), or NotFound."""
    found = next((provider for provider in all_providers() if key(provider.name) == value), None)
    if found is None:
        raise NotFound()
    return found


def find(value: str) -> UpstreamProvider:
    """By id, name or key, for the command line."""
    number = row_id.parse(value)
    return get(number) if number is not None else by_key(key(value))


def client_secret(provider: UpstreamProvider) -> str:
    return secrets_box.decrypt(provider.client_secret_encrypted, secrets_box.UPSTREAM_CLIENT_SECRET)


def callback_url(provider: UpstreamProvider) -> str:
    """The redirect URI to register at the provider: one per provider (RFC 9700 §4.4, mix-up)."""
    return links.external("upstream.callback", key=key(provider.name))


def links_count(provider: UpstreamProvider) -> int:
    return db.session.execute(db.select(db.func.count()).select_from(UpstreamLink)
                              .filter_by(upstream_id=provider.id)).scalar_one()


def _link(provider, subject: str) -> UpstreamLink | None:
    return db.session.execute(db.select(UpstreamLink).filter_by(upstream_id=provider.id, subject=subject)
                              ).scalar_one_or_none()


def known_identity(provider, identified) -> Identity | None:
    """The identity this person already is in Tunnus: linked before, or holding the verified
    address the provider vouches for, unless that identity is another person's of this
    provider (a family's shared address): refusing would refuse this person every time.
    None: the person gives an address and proves it."""
    link = _link(provider, identified.subject)
    if link is not None:
        return db.session.get(Identity, link.identity_id)
    if identified.email_verified and identified.email:
        identity = Identity.by_email(identified.email)
        if identity is not None and identity.email_verified and db.session.execute(
                db.select(UpstreamLink.id).filter_by(upstream_id=provider.id, identity_id=identity.id)).first() is None:
            return identity
    return None


def linked(provider, identified, identity: Identity) -> bool:
    """Is this subject linked to this identity already?"""
    link = _link(provider, identified.subject)
    return link is not None and link.identity_id == identity.id


def check(provider, identified, identity: Identity) -> None:
    """Refuse, as record would, a subject linked to another identity or an identity linked
    to another subject; writes nothing."""
    link = _link(provider, identified.subject)
    if link is not None and link.identity_id != identity.id:
        raise LinkedElsewhere()
    if link is None and db.session.execute(db.select(UpstreamLink.id).filter_by(
            upstream_id=provider.id, identity_id=identity.id)).first() is not None:
        raise IdentifiedAsAnother()


def record(provider, identified, identity: Identity, *, origin: Origin) -> OutboxMail | None:
    """Link the subject to the identity (refusing a conflicting one) and mark the identity
    strongly identified with the provider's name for the person. The caller commits, and
    delivers the notice returned when the link is new (upstream_notice): a new way into the
    account, which its owner hears of, in case it was not them.

    The person's row alone first, as writing their identification below takes it, not after
    the link and the record hold it: an email change confirmed meanwhile writes the address,
    which waits for those holds (docs/resilience.md)."""
    if not Identity.lock(identity.id):  # the account deleted meanwhile
        raise NotFound()
    check(provider, identified, identity)
    link, notice = _link(provider, identified.subject), None
    if link is None:
        added = UpstreamLink(upstream_id=provider.id, subject=identified.subject, identity_id=identity.id)
        # The person's other callback (a second tab, a double click) may link them meanwhile.
        link = add_or_existing(added, lambda: _link(provider, identified.subject))
        if link.identity_id != identity.id:
            raise LinkedElsewhere()
        if link is added:
            audit.record("upstream.linked", origin=origin, identity=identity, upstream_id=provider.id)
            notice = upstream_notice.enqueue(identity, provider.name, identified.name)
    now = clock.now()
    link.verified_name = identity.verified_name = identified.name
    link.identified_at = identity.strongly_identified_at = now
    audit.record("upstream.identified", origin=origin, identity=identity, upstream_id=provider.id)
    return notice


def links_of(identity: Identity) -> list:
    """(id, provider, verified_name, linked_at) of each bank identity linked to the person."""
    return db.session.execute(
        db.select(UpstreamLink.id, UpstreamProvider.name.label("provider"), UpstreamLink.verified_name,
                  UpstreamLink.linked_at)
        .join(UpstreamProvider, UpstreamProvider.id == UpstreamLink.upstream_id)
        .filter(UpstreamLink.identity_id == identity.id).order_by(UpstreamLink.linked_at, UpstreamLink.id)
    ).all()


def unlink(identity: Identity, link_id: int, *, origin: Origin, reason: str | None = None,
           keep_sid: str | None = None) -> str:
    """Remove a link of the person's (NotFound if none such); returns the provider's name.

    A link the owner did not make (someone holding the session or the mailbox for a moment)
    is undone with the sessions it may have opened: every session but `keep_sid` ends. The
    person's strong identification is then the latest of the links left, if any, so the
    name a stranger's bank vouched for no longer stands for them."""
    if not Identity.lock(identity.id):
        raise NotFound()
    link = db.session.get(UpstreamLink, link_id)
    if link is None or link.identity_id != identity.id:
        raise NotFound()
    provider = db.session.get(UpstreamProvider, link.upstream_id)
    db.session.delete(link)
    db.session.flush()
    latest = db.session.execute(db.select(UpstreamLink).filter_by(identity_id=identity.id)
                                .order_by(UpstreamLink.identified_at.desc(), UpstreamLink.id.desc()).limit(1)
                                ).scalar_one_or_none()
    identity.verified_name = latest.verified_name if latest else None
    identity.strongly_identified_at = latest.identified_at if latest else None
    audit.record("upstream.unlinked", origin=origin, identity=identity, upstream_id=provider.id,
                 **({"reason": reason} if reason else {}))
    sessions.end_all(identity, origin=origin, reason="upstream_unlinked", keep_sid=keep_sid)
    db.session.commit()
    return provider.name


def identification(identity: Identity) -> tuple[str, dt.datetime, str | None] | None:
    """(provider name, when, verified name) of the person's latest strong identification."""
    if identity.strongly_identified_at is None:
        return None
    found = db.session.execute(
        db.select(UpstreamProvider.name, UpstreamLink.verified_name)
        .join(UpstreamLink, UpstreamLink.upstream_id == UpstreamProvider.id)
        .filter(UpstreamLink.identity_id == identity.id)
        .order_by(UpstreamLink.identified_at.desc(), UpstreamLink.id.desc()).limit(1)
    ).first()
    if found is None:  # the provider was removed since
        return None
    return found.name, identity.strongly_identified_at, found.verified_name or identity.verified_name


def step_up(login_session, provider, *, origin: Origin) -> None:
    """The signed-in session was identified strongly as well: it keeps its sid (its tokens and
    logout stay one), rises to the strong level and gets a new browser key (the caller puts
    it in the cookie: web/browser.hold). The caller commits."""
    amr = [*login_session.amr, *([] if levels.FEDERATED in login_session.amr else [levels.FEDERATED])]
    login_session.amr, login_session.acr = amr, levels.acr_for(amr)
    login_session.auth_time = clock.now()
    login_session.rekey()
    audit.record("session.stepped_up", origin=origin, identity=login_session.identity_id, sid=login_session.sid,
                 method="upstream", upstream_id=provider.id)
