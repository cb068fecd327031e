"""Access tokens a client got for itself (client_credentials, RFC 6749 §4.4), never stored.

They are JWTs (RFC 9068) that carry everything introspection answers, so issuing one
costs no database write. Introspection (RFC 7662) verifies the signature and expiry and
consults the revoked ids; revocation (RFC 7009) adds the token's jti to table
revoked_access_tokens until the token would have expired. Each process keeps those ids in
memory: its own revocations count at once, and it reads the table again every
REVOCATIONS_REFRESH seconds, so a token revoked through another worker is inactive
everywhere within that time.

Such a token names the client as its subject (RFC 9068 §2.2: sub == client_id); a
person's subject is a UUID of ours, and tokens.py refuses to mint a person's token whose
subject equals the client_id, so the two kinds cannot be confused.
"""
from __future__ import annotations

import base64
import datetime as dt
import functools
import threading
import time
from dataclasses import dataclass

from flask import current_app
from joserfc import jwt

from ..extensions import db
from ..models import RevokedAccessToken
from ..services import clock, malformed_jose, strict_json

REVOCATIONS_REFRESH = 1.0


class RevokedIds:
    """The jti of every unexpired revoked client token, as this process last read them.

    One request at a time reads the table again; the others go on with the ids they have.
    A revocation made here counts at once, before any read can include it.
    """

    def __init__(self):
        self._ids: dict[str, dt.datetime] = {}
        self._here: dict[str, dt.datetime] = {}  # revoked here, not yet seen in the table
        self._read_at = float("-inf")
        self._reading = threading.Lock()

    def __contains__(self, jti: str) -> bool:
        if time.monotonic() - self._read_at > REVOCATIONS_REFRESH:
            never_read = self._read_at == float("-inf")
            if self._reading.acquire(blocking=never_read):
                try:
                    if never_read or time.monotonic() - self._read_at > REVOCATIONS_REFRESH:
                        self._read()
                finally:
                    self._reading.release()
        return jti in self._ids or jti in self._here

    def add(self, jti: str, client_pk: int, expires_at: dt.datetime) -> None:
        """Joins the caller's transaction."""
        now = clock.now()
        db.session.execute(db.delete(RevokedAccessToken).where(RevokedAccessToken.expires_at <= now))
        if db.session.execute(db.select(RevokedAccessToken.id).filter_by(jti=jti)).first() is None:
            db.session.add(RevokedAccessToken(jti=jti, client_id=client_pk, expires_at=expires_at, revoked_at=now))
        self._here[jti] = expires_at

    def _read(self) -> None:
        started = time.monotonic()
        rows = db.session.execute(
            db.select(RevokedAccessToken.jti, RevokedAccessToken.expires_at)
            .where(RevokedAccessToken.expires_at > clock.now())).all()
        self._ids = dict(rows)
        now = clock.now()
        self._here = {jti: until for jti, until in self._here.items() if jti not in self._ids and until > now}
        self._read_at = started


@dataclass
class ClientToken:
    """A presented client token whose signature is ours; see token_view.PresentedToken."""

    claims: dict
    kind: str = "access_token"

    @property
    def identity_id(self) -> None:
        return None

    def check_client(self, client) -> bool:
        return self.claims["client_id"] == client.client_id

    def is_expired(self) -> bool:
        return self.claims["exp"] <= clock.timestamp()

    def is_revoked(self) -> bool:
        return self.claims["jti"] in current_app.extensions["idp.revoked_ids"]

    def introspection(self, issuer: str) -> dict:
        claims = self.claims
        payload = {"active": True, "client_id": claims["client_id"], "token_type": "Bearer", "scope": claims["scope"],
                   "sub": claims["sub"], "aud": claims["aud"], "iss": issuer, "exp": claims["exp"],
                   "iat": claims["iat"]}
        if "cnf" in claims:  # bound to a DPoP key (RFC 9449 §6.2)
            payload.update(token_type="DPoP", cnf=claims["cnf"])
        return payload

    def revoke(self, client) -> None:
        expires_at = clock.from_timestamp(self.claims["exp"])
        current_app.extensions["idp.revoked_ids"].add(self.claims["jti"], client.id, expires_at)

    @classmethod
    def find(cls, value: str) -> "ClientToken | None":
        """The token if it is a client token we signed (expired or not), else None."""
        claims = _unverified_claims(value)
        if claims is None or claims.get("sub") != claims.get("client_id") or not claims.get("jti"):
            return None
        keys = current_app.extensions["idp.keys"]
        verified = _verified_claims(value, keys.published_kids(), keys, current_app.config["IDP_ISSUER"])
        return cls(verified) if verified is not None else None


# A resource server introspects the same token on every call it serves; a signature once
# checked need not be checked again while the same keys are published. Keyed by the
# token itself, so nothing but a token's own bytes can hit an entry.
@functools.lru_cache(maxsize=4096)
def _verified_claims(value: str, _published_kids: tuple, keys, issuer: str) -> dict | None:
    try:
        token = jwt.decode(value, keys.verification_keys(), algorithms=["ES256"])
    except malformed_jose.ERRORS:
        return None
    if token.header.get("typ") != "at+jwt" or token.claims.get("iss") != issuer:
        return None
    return token.claims


def _unverified_claims(value: str) -> dict | None:
    # Telling the kinds apart before paying for a signature check.
    parts = value.split(".")
    if len(parts) != 3 or len(value) > 4096:
        return None
    try:
        claims = strict_json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    return claims if isinstance(claims, dict) else None
