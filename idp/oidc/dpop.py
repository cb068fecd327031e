"""DPoP proofs, RFC 9449 §4: a client proves, request by request, that it holds the
private key its tokens are bound to (cnf.jkt, §6), so a copied token is of no use alone.

A proof is checked as §4.3 lists: one DPoP header holding one JWS, `typ` dpop+jwt,
signed with an asymmetric algorithm of ALGORITHMS by the public key in its `jwk` header,
made for this request's method and URL (built from the issuer, as discovery names the
endpoints, so a proxy in front changes nothing), within IDP_DPOP_PROOF_MAX_AGE of now
(IDP_DPOP_PROOF_CLOCK_SKEW ahead), and with an access token, naming that token's hash
(`ath`). Each proof is accepted once: its key and jti go to the database that every
worker process shares (Redis may be down), kept until a proof that old is refused
anyway; `tunnus prune` deletes them after.

Server nonces (§8, §9) are not asked for: a proof is short-lived and single use, and
the access tokens it is needed for are short-lived too (§11.2).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.oauth2 import OAuth2Error
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import JWKRegistry

from ..models.grants import UsedDpopProof, token_hash
from ..services import clock, malformed_jose, single_use, strict_json

# No RSA: a proof carries its key in the header, and joserfc refuses a JWS header over
# 512 bytes, which a 2048-bit RSA jwk passes; the limit also keeps a stranger from
# making Tunnus verify with an RSA key of their choosing before any client is known.
ALGORITHMS = ("ES256", "ES384", "EdDSA", "Ed25519")
# A JWK member that only a private (or symmetric) key has.
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_PROOF_LENGTH = 8192
THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")
DEFAULT_PORTS = {"http": 80, "https": 443}


class InvalidDpopProof(OAuth2Error):
    """At the token endpoint (§5); /userinfo answers it 401 with a challenge instead."""

    error = "invalid_dpop_proof"
    status_code = 400


@dataclass(frozen=True)
class Proof:
    jkt: str  # the SHA-256 JWK thumbprint (RFC 7638) of the key it was made with


def presented(headers, method: str, url: str, access_token: str | None = None) -> Proof | None:
    """The request's proof, None when it has no DPoP header; InvalidDpopProof if it is no good."""
    values = headers.getlist("DPoP")
    if not values:
        return None
    # A WSGI server joins repeated header fields with commas, which no JWS holds.
    if len(values) > 1 or "," in values[0]:
        raise InvalidDpopProof("Send one DPoP header.")
    claims, jkt = _verified(values[0].strip())
    _check_claims(claims, method, url, access_token)
    _first_use(jkt, claims["jti"], int(claims["iat"]))
    return Proof(jkt)


def access_token_hash(access_token: str) -> str:
    """The `ath` claim (§4.2): base64url SHA-256 of the token's ASCII."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _verified(value: str) -> tuple[dict, str]:
    """The claims of a proof whose signature its own `jwk` verifies, and that key's thumbprint."""
    if len(value) > MAX_PROOF_LENGTH:
        raise InvalidDpopProof("The DPoP proof is too long.")
    try:
        signed = jws.extract_compact(value.encode("ascii"))
    except (JoseError, ValueError):
        raise InvalidDpopProof("The DPoP proof is not a JWS in compact serialization.") from None
    header = signed.headers()
    if header.get("typ") != "dpop+jwt":
        raise InvalidDpopProof("The DPoP proof's typ must be dpop+jwt.")
    alg = header.get("alg")
    if alg not in ALGORITHMS:
        raise InvalidDpopProof(f"The DPoP proof's alg must be one of {', '.join(ALGORITHMS)}.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or PRIVATE_MEMBERS & jwk.keys():
        raise InvalidDpopProof("The DPoP proof's jwk must be a public key, without its private parts.")
    try:
        key = JWKRegistry.import_key(jwk)
        verified = jws.validate_compact(signed, key, algorithms=[alg])
    except malformed_jose.ERRORS:
        verified = False
    if not verified:
        raise InvalidDpopProof("The DPoP proof's signature does not verify with its jwk.")
    try:
        claims = strict_json.loads(signed.payload)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise InvalidDpopProof("The DPoP proof's payload is not a JSON object.")
    return claims, key.thumbprint()


def _check_claims(claims: dict, method: str, url: str, access_token: str | None) -> None:
    jti, htm, htu, iat = (claims.get(name) for name in ("jti", "htm", "htu", "iat"))
    if not (single_use.usable_jti(jti) and isinstance(htm, str)
            and isinstance(htu, str) and isinstance(iat, (int, float)) and not isinstance(iat, bool)):
        raise InvalidDpopProof(f"The DPoP proof needs jti (at most {single_use.MAX_JTI_LENGTH} characters), htm, htu "
                               "and iat.")
    if htm != method:
        raise InvalidDpopProof(f"The DPoP proof's htm must be {method}.")
    if _normalized(htu) != _normalized(url):
        raise InvalidDpopProof(f"The DPoP proof's htu must be {url}.")
    now, config = clock.timestamp(), current_app.config
    if not now - config["IDP_DPOP_PROOF_MAX_AGE"] <= iat <= now + config["IDP_DPOP_PROOF_CLOCK_SKEW"]:
        raise InvalidDpopProof("The DPoP proof's iat is not recent: make a new proof for each request.")
    if access_token is not None:
        ath = claims.get("ath")
        if not (isinstance(ath, str) and ath.isascii() and hmac.compare_digest(ath, access_token_hash(access_token))):
            raise InvalidDpopProof("The DPoP proof's ath must be the hash of the access token sent with it.")


def _normalized(url: str) -> str | None:
    """Scheme, host, port and path, compared as RFC 3986 §6.2.2-6.2.3 normalize them; the
    query and fragment are not part of htu."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    netloc = host if port in (None, DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _first_use(jkt: str, jti: str, iat: int) -> None:
    expires_at = clock.from_timestamp(iat + current_app.config["IDP_DPOP_PROOF_MAX_AGE"])
    if not single_use.first_use(UsedDpopProof(jkt=jkt, jti_hash=token_hash(jti), expires_at=expires_at)):
        raise InvalidDpopProof("The DPoP proof was used already: make a new proof for each request.")
