"""OpenID Connect Front-Channel Logout 1.0: the page shown after a logout loads, in an
iframe each, the frontchannel_logout_uri of every relying service that got tokens in the
ended sessions (§3), with `iss` and `sid` (§2, frontchannel_logout_session_supported), so
the service can end its own session in the person's browser with its own cookies.

Back-channel logout (services/backchannel.py) tells services server to server; this one
needs the browser that logged out, so it happens only where that browser is.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from ..extensions import db
from ..models import Client, Token


@dataclass(frozen=True)
class LogoutFrame:
    client_name: str
    url: str

    @property
    def origin(self) -> str:
        return origin_of(self.url)


def origin_of(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def frames(sids: list[str], issuer: str) -> list[LogoutFrame]:
    """One frame per service and ended session, in the order the services were registered."""
    if not sids:
        return []
    rows = db.session.execute(
        db.select(Client.id, Client.name, Client.frontchannel_logout_uri, Token.sid)
        .join(Token, Token.client_id == Client.id)
        .where(Token.sid.in_(sids), Client.frontchannel_logout_uri.is_not(None))
        .distinct()
        .order_by(Client.id, Token.sid)
    ).all()
    return [LogoutFrame(name, _with_session(uri, issuer, sid)) for _, name, uri, sid in rows]


def _with_session(uri: str, issuer: str, sid: str) -> str:
    # §2: the URI may have its own query; ours is added to it.
    separator = "" if uri.endswith(("?", "&")) else "&" if "?" in uri else "?"
    return f"{uri}{separator}{urlencode({'iss': issuer, 'sid': sid})}"
