"""Secrets kept at rest that must be read back (TOTP seeds, upstream providers' client
secrets): encrypted, not hashed.

The key is derived from IDP_SECRET_KEY with HKDF, one key per purpose (the `info`
label), so a key used for one kind of secret never decrypts or signs another. A new
IDP_SECRET_KEY makes everything sealed with the old one unreadable: people then set up
their authenticator app again.
"""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

TOTP = b"tunnus totp"
RECOVERY_CODES = b"tunnus recovery codes"
UPSTREAM_CLIENT_SECRET = b"tunnus upstream client secret"


class Unreadable(Exception):
    """Sealed with another key (IDP_SECRET_KEY changed) or tampered with."""


def derive_key(info: bytes) -> bytes:
    """32 bytes for one purpose, from the application secret."""
    cache = current_app.extensions.setdefault("idp.derived_keys", {})
    if info not in cache:
        cache[info] = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(
            current_app.config["SECRET_KEY"].encode())
    return cache[info]


def _fernet(info: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(info)))


def encrypt(plain: str, info: bytes = TOTP) -> str:
    """Fernet token (AES-128-CBC + HMAC-SHA256, authenticated) as text for a Text column."""
    return _fernet(info).encrypt(plain.encode()).decode("ascii")


def decrypt(sealed: str, info: bytes = TOTP) -> str:
    try:
        return _fernet(info).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, ValueError) as error:
        raise Unreadable() from error


def keyed_hash(value: str, info: bytes) -> str:
    """HMAC-SHA256 under a derived key: for random codes that are only ever compared."""
    return hmac.new(derive_key(info), value.encode(), hashlib.sha256).hexdigest()
