"""Password hashing: argon2id for every new hash, parameters from config."""
from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app


def _hasher() -> PasswordHasher:
    config = current_app.config
    hasher = current_app.extensions.get("idp.argon2")
    if hasher is None:
        hasher = PasswordHasher(
            time_cost=config["IDP_ARGON2_TIME_COST"],
            memory_cost=config["IDP_ARGON2_MEMORY_KIB"],
            parallelism=config["IDP_ARGON2_PARALLELISM"],
            type=Type.ID,
        )
        current_app.extensions["idp.argon2"] = hasher
    return hasher


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. With no hash, still spends the same time."""
    hasher = _hasher()
    if not password_hash:
        _burn(hasher, password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher().check_needs_rehash(password_hash)


def _burn(hasher: PasswordHasher, password: str) -> None:
    # Unknown accounts cost as much as known ones, so timing does not reveal which exist.
    dummy = current_app.extensions.get("idp.argon2.dummy")
    if dummy is None:
        dummy = current_app.extensions["idp.argon2.dummy"] = hasher.hash("timing-equaliser")
    try:
        hasher.verify(dummy, password)
    except VerificationError:
        pass
