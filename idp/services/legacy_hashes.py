"""Checking passwords against hashes imported from the old systems.

Each scheme is recognised by the shape of its hash and verified by a maintained library:
libpass (imported as `passlib`) for the crypt, phpass and Django formats, `bcrypt` and
argon2-cffi for theirs. Only the salted SHA digests of home-grown systems are computed
here. Imported hashes are never rehashed in these schemes; a successful check is the
moment to move the person to an argon2id Tunnus password.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import time
from contextlib import contextmanager
from typing import Callable, Iterator

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from passlib import hash as passlib_hash

# bcrypt only ever read 72 bytes; the old systems cut longer passwords there silently.
BCRYPT_MAX_BYTES = 72
# A cost-10 bcrypt hash of a throwaway string: the cost most of the old PHP systems used.
_DUMMY_BCRYPT = b"$2b$10$sM0wsRs9iprjLNIY.nhS4Or6VwdRpi5gLdn5n5JNTwtK0GqUaP2CC"
# The quickest dummy check this process has made (None before the first): its cost unhurried.
_dummy_seconds: float | None = None

_B64 = r"[./A-Za-z0-9]"
SHAPES: dict[str, re.Pattern] = {
    "bcrypt": re.compile(rf"\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\${_B64}{{53}}"),
    "argon2": re.compile(r"\$argon2(id|i|d)\$(v=[0-9]+\$)?m=[0-9]+,t=[0-9]+,p=[0-9]+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"),
    "django_pbkdf2_sha256": re.compile(r"pbkdf2_sha256\$[1-9][0-9]*\$[^$]+\$[A-Za-z0-9+/]+=*"),
    "pbkdf2_sha1": re.compile(r"pbkdf2_sha1\$[1-9][0-9]*\$[^$]+\$[A-Za-z0-9+/]+=*"),
    "md5_crypt": re.compile(rf"\$1\${_B64}{{0,8}}\${_B64}{{22}}"),
    "sha256_crypt": re.compile(rf"\$5\$(rounds=[1-9][0-9]*\$)?{_B64}{{0,16}}\${_B64}{{43}}"),
    "sha512_crypt": re.compile(rf"\$6\$(rounds=[1-9][0-9]*\$)?{_B64}{{0,16}}\${_B64}{{86}}"),
    "phpass": re.compile(rf"\$[PH]\${_B64}{{31}}"),
    "salted_sha1": re.compile(r"sha1\$[^$]*\$[0-9a-fA-F]{40}"),
    "salted_sha256": re.compile(r"sha256\$[^$]*\$[0-9a-fA-F]{64}"),
}

# The most work a login may spend on one imported hash, beyond what any of the old
# systems used (bcrypt 10-12, phpass 2^13 (WordPress) to 2^19 (libpass), glibc's 5,000
# crypt rounds, Django's PBKDF2 up to 1,000,000, argon2 at 64 MiB): a hash asking for more
# (bcrypt 31, PBKDF2 2^31, argon2 at 4 GiB) held a worker for minutes or days at every
# guess at its login name, or was a 500 at every login of its person (hashlib refuses
# 2^31 iterations).
MAX_COST = {"bcrypt": 14, "phpass": 20, "sha256_crypt": 1_000_000, "sha512_crypt": 1_000_000,
            "django_pbkdf2_sha256": 2_000_000, "pbkdf2_sha1": 2_000_000}
MAX_ARGON2 = {"m": 256 * 1024, "t": 10, "p": 16}
_PHPASS_LOG2 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_argon2 = PasswordHasher()


def too_costly(scheme: str, password_hash: str) -> str | None:
    """What makes a hash of this scheme's shape ask for more work than MAX_COST allows, if
    anything."""
    if scheme == "argon2":
        asked = dict(re.findall(r"([mtp])=([0-9]+)", password_hash))
        beyond = [f"{name}={asked[name]} (at most {limit})" for name, limit in MAX_ARGON2.items()
                  if int(asked[name]) > limit]
        return ", ".join(beyond) or None
    if scheme not in MAX_COST:
        return None
    if scheme == "bcrypt":
        cost = int(password_hash[4:6])
    elif scheme == "phpass":
        cost = _PHPASS_LOG2.index(password_hash[3])
    elif scheme.endswith("_crypt"):
        rounds = re.match(r"\$[56]\$rounds=([0-9]+)\$", password_hash)
        cost = int(rounds.group(1)) if rounds else 5000
    else:
        cost = int(password_hash.split("$")[1])
    return f"cost {cost} (at most {MAX_COST[scheme]})" if cost > MAX_COST[scheme] else None


def _bcrypt(password_hash: str, password: str) -> bool:
    return bcrypt.checkpw(password.encode()[:BCRYPT_MAX_BYTES], password_hash.encode())


def _argon2_check(password_hash: str, password: str) -> bool:
    try:
        return _argon2.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _passlib(handler) -> Callable[[str, str], bool]:
    return lambda password_hash, password: handler.verify(password, password_hash)


def _salted(algorithm: str) -> Callable[[str, str], bool]:
    # `ALG$SALT$HEX` with HEX = ALG(SALT + password), as Django's old SHA1PasswordHasher.
    def check(password_hash: str, password: str) -> bool:
        _, salt, expected = password_hash.split("$")
        actual = hashlib.new(algorithm, (salt + password).encode()).hexdigest()
        return hmac.compare_digest(actual, expected.lower())

    return check


SCHEMES: dict[str, Callable[[str, str], bool]] = {
    "bcrypt": _bcrypt,
    "argon2": _argon2_check,
    "django_pbkdf2_sha256": _passlib(passlib_hash.django_pbkdf2_sha256),
    "pbkdf2_sha1": _passlib(passlib_hash.django_pbkdf2_sha1),
    "md5_crypt": _passlib(passlib_hash.md5_crypt),
    "sha256_crypt": _passlib(passlib_hash.sha256_crypt),
    "sha512_crypt": _passlib(passlib_hash.sha512_crypt),
    "phpass": _passlib(passlib_hash.phpass),
    "salted_sha1": _salted("sha1"),
    "salted_sha256": _salted("sha256"),
}

# Names the old systems' own documentation uses for the same formats.
ALIASES = {
    "pbkdf2_sha256": "django_pbkdf2_sha256",
    "django_pbkdf2_sha1": "pbkdf2_sha1",
    "md5crypt": "md5_crypt",
    "sha256crypt": "sha256_crypt",
    "sha512crypt": "sha512_crypt",
    "sha1": "salted_sha1",
    "sha256": "salted_sha256",
    "argon2id": "argon2",
    "argon2i": "argon2",
}


def scheme_name(declared: str | None) -> str | None:
    """The canonical name for a scheme as written in an import file, or None if unknown."""
    name = (declared or "").strip().lower().replace("-", "_")
    name = ALIASES.get(name, name)
    return name if name in SCHEMES else None


def detect_scheme(password_hash: str | None) -> str | None:
    """The scheme whose format this hash has, or None."""
    if not password_hash:
        return None
    for name, shape in SHAPES.items():
        if shape.fullmatch(password_hash):
            return name
    return None


def verify(scheme: str, password_hash: str | None, password: str) -> bool:
    """True only when `password` matches; a malformed hash or unknown scheme is False."""
    check = SCHEMES.get(scheme)
    if check is None or not password_hash or detect_scheme(password_hash) != scheme:
        return False
    if too_costly(scheme, password_hash):  # imported before the import refused it
        return False
    try:
        return bool(check(password_hash, password))
    except (ValueError, TypeError):
        return False


def dummy_verify(password: str) -> None:
    """Spend about the time of a typical legacy check, for login names nobody has."""
    global _dummy_seconds
    started = time.perf_counter()
    bcrypt.checkpw((password or "").encode()[:BCRYPT_MAX_BYTES], _DUMMY_BCRYPT)
    spent = time.perf_counter() - started
    _dummy_seconds = min(spent, _dummy_seconds or spent)


@contextmanager
def no_faster_than_dummy(password: str) -> Iterator[None]:
    """The checks made inside take at least as long as dummy_verify, which is what a login
    name nobody has costs: when they took less (no usable hash at all, or a quick scheme
    such as salted SHA-1, md5-crypt or few rounds), one dummy check follows. So the time
    of the answer tells neither that a login name exists nor how its system hashed."""
    started = time.perf_counter()
    yield
    if _dummy_seconds is None or time.perf_counter() - started < _dummy_seconds:
        dummy_verify(password)
