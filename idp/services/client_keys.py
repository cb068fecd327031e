"""A relying service's public keys for private_key_jwt (RFC 7523 §2.2, OIDC Core §9): a
JWK Set registered with the client, or published at its jwks_uri.

Public keys of asymmetric signing algorithms only. A private part in the set would mean
the service's private key has left its hands (and now sits in our database); a
symmetric key (`oct`) would be a shared secret again, and one that could sign as well as
check (algorithm confusion).
"""
from __future__ import annotations

import base64
import warnings

from joserfc.errors import SecurityWarning
from joserfc.jwk import KeySet, import_key

from ..errors import ValidationFailed
from ..extensions import db
from ..models import Client
from . import audit, malformed_jose
from .redirect_uris import check as check_uri

# RFC 9864 names the Ed25519 signature alone and deprecates its older name EdDSA, which
# many JOSE libraries still write; both are taken (as for DPoP proofs), the same signature.
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
# joserfc warns at every EdDSA signature it checks, on stderr outside the log format.
warnings.filterwarnings("ignore", "EdDSA is deprecated", SecurityWarning)
CURVES = {"EC": "P-256", "OKP": "Ed25519"}
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_KEYS = 20
MIN_RSA_BITS = 2048


def check_jwks(value) -> dict:
    """`value`, a parsed JWK Set, if each of its keys is a public key Tunnus can check a
    client assertion with; else ValidationFailed saying which key and why."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list) or not value["keys"]:
        raise ValidationFailed('a JWK Set is a JSON object whose "keys" is a non-empty array')
    if len(value["keys"]) > MAX_KEYS:
        raise ValidationFailed(f"a JWK Set of at most {MAX_KEYS} keys, please")
    kids = set()
    for number, jwk in enumerate(value["keys"], 1):
        _check_key(jwk, f"key {number}")
        if jwk.get("kid") in kids:
            raise ValidationFailed(f"key {number}: another key has the kid {jwk['kid']!r}" if jwk.get("kid") is not None
                                   else f"key {number}: give each key a kid, or the keys could not be told apart")
        kids.add(jwk.get("kid"))
    return {"keys": [dict(jwk) for jwk in value["keys"]]}


def _check_key(jwk, where: str) -> None:
    if not isinstance(jwk, dict):
        raise ValidationFailed(f"{where} is not a JSON object")
    private = PRIVATE_MEMBERS & jwk.keys()
    if private:
        raise ValidationFailed(f"{where} holds private parts ({', '.join(sorted(private))}): register the public "
                               "key only; the private key stays with the service")
    kty = jwk.get("kty")
    if kty not in ("RSA", *CURVES):
        raise ValidationFailed(f"{where}: key type {kty!r} is not an asymmetric signing key (RSA, EC P-256, "
                               "OKP Ed25519)")
    if kty in CURVES and jwk.get("crv") != CURVES[kty]:
        raise ValidationFailed(f"{where}: an {kty} key must be on the curve {CURVES[kty]}")
    if jwk.get("use", "sig") != "sig" or jwk.get("alg", ALGORITHMS[0]) not in ALGORITHMS:
        raise ValidationFailed(f"{where}: a key for signing with {', '.join(ALGORITHMS)}, please")
    if kty == "RSA" and _bits(jwk.get("n")) < MIN_RSA_BITS:
        raise ValidationFailed(f"{where}: an RSA key of at least {MIN_RSA_BITS} bits, please")
    try:
        import_key(jwk)
    except malformed_jose.ERRORS as error:
        raise ValidationFailed(f"{where} is not a valid JWK: {error}") from None


def _bits(modulus) -> int:
    try:
        return int.from_bytes(base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))).bit_length()
    except (TypeError, ValueError):
        return 0


def key_set(jwks: dict) -> KeySet:
    """The keys of a JWK Set that check_jwks accepted. A key without a kid gets its RFC 7638
    thumbprint as one, which an assertion's `kid` may name."""
    return KeySet.import_key_set(jwks)


def set_keys(client: Client, *, jwks: dict | None = None, jwks_uri: str | None = None,
             replace_secret: bool = False) -> None:
    """From now on the client authenticates with assertions signed by these keys. A client
    that had a secret gives it up only when asked to: its service must switch at once."""
    if (jwks is None) == (jwks_uri is None):
        raise ValidationFailed("give the keys or the URL they are published at, one of them")
    if client.is_public:
        raise ValidationFailed("a public client has no keys: it could not keep the private key to itself")
    if client.secret_hash and not replace_secret:
        raise ValidationFailed("this client authenticates with a client secret; replacing the secret with keys "
                               "stops the secret working at once")
    # A jwks_uri is https, or plain http on a loopback address (development), as a redirect URI.
    client.jwks = check_jwks(jwks) if jwks is not None else None
    client.jwks_uri = check_uri(jwks_uri) if jwks_uri is not None else None
    replaced = bool(client.secret_hash)
    client.secret_hash = None
    audit.record("client.keys_changed", client_id=client.client_id, jwks_uri=client.jwks_uri,
                 kids=[key.get("kid") for key in (client.jwks or {}).get("keys", [])], secret_removed=replaced)
    db.session.commit()
