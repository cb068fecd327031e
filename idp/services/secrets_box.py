"""Secrets kept at rest that must be read back (TOTP seeds, upstream providers' client
secrets): encrypted, not hashed.

The key is derived from IDP_SECRET_KEY with HKDF, one key per purpose (the `info`
label), so a key used for one kind of secret never decrypts or signs another. Keys
listed in IDP_SECRET_KEY_FALLBACKS (earlier values of IDP_SECRET_KEY) are still tried
when reading, never used for writing, so the secret can be changed without voiding what
it sealed: `tunnus secrets reseal` then seals again under the current key.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

from .. import config as settings

TOTP = b"tunnus totp"
RECOVERY_CODES = b"tunnus recovery codes"
UPSTREAM_CLIENT_SECRET = b"tunnus upstream client secret"
KIOSK_PIN = b"tunnus kiosk pin"
MAIL_BODY = b"tunnus mail body"


class Unreadable(Exception):
    """Sealed with a key no longer configured (nor a fallback), or tampered with."""


def secret_keys() -> list[bytes]:
    """The application secret, then its fallbacks: write with the first, accept any."""
    return [key.encode() for key in settings.secret_keys(current_app.config)]


def derive_keys(info: bytes) -> list[bytes]:
    """32 bytes for one purpose from each application secret, the current one first."""
    cache = current_app.extensions.setdefault("idp.derived_keys", {})
    if info not in cache:
        cache[info] = [HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(secret)
                       for secret in secret_keys()]
    return cache[info]


def _fernet(info: bytes) -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(key)) for key in derive_keys(info)])


def encrypt(plain: str, info: bytes = TOTP) -> str:
    """Fernet token (AES-128-CBC + HMAC-SHA256, authenticated) as text for a Text column."""
    return _fernet(info).encrypt(plain.encode()).decode("ascii")


def decrypt(sealed: str, info: bytes = TOTP) -> str:
    try:
        return _fernet(info).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unreadable() from error


def reseal(sealed: str, info: bytes) -> str | None:
    """The same secret sealed under the current key; None if it is already (Unreadable if
    no key opens it)."""
    try:
        Fernet(base64.urlsafe_b64encode(derive_keys(info)[0])).decrypt(sealed.encode("ascii"))
        return None
    except (InvalidToken, ValueError):
        pass
    try:
        return _fernet(info).rotate(sealed.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError) as error:
        raise Unreadable() from error


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def keyed_hash(value: str, info: bytes) -> str:
    """HMAC-SHA256 under the current derived key: for random codes that are only ever compared."""
    return _hmac(derive_keys(info)[0], value)


def keyed_hashes(value: str, info: bytes) -> list[str]:
    """The same under each derived key, the current one first: a code is stored under the
    key current when it was made."""
    return [_hmac(key, value) for key in derive_keys(info)]
