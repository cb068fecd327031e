"""Signing keys: created by `tunnus keys rotate` (the embedded setup makes its own on first
start), rotated by it later.

One JSON file per key in IDP_KEYS_DIR. A rotated key is published for
IDP_KEY_PUBLISH_DELAY seconds before it signs, so relying services that cache the JWKS
already know it; the key it replaces stays published until every token it signed has
expired, and checks the ID tokens relying services send back as hints (`id_token_hint`
at /authorize and /logout) as long as a browser session signed in then may last. Files are re-read when the folder changes (looked at no more than once every
FOLDER_CHECK_EVERY seconds: every token and introspection asks for keys), so all
processes sharing the folder follow a rotation without restart.

A folder that is gone (a mount lost while running) or holds no key that signs is
KeysUnavailable: requests that sign or check tokens answer 503 and the JWK Set is not
served, rather than an empty set that relying services would cache and then refuse
every token with. The keys are back within a second of the folder.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from joserfc.jwk import ECKey, KeySet, RSAKey, import_key

from ..config import ConfigurationError, embedded
from . import clock, malformed_jose

log = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256")
FOLDER_CHECK_EVERY = 1.0


class KeysUnavailable(LookupError):
    """No signing key can be read now: answered 503, as a database that does not answer."""


def _generate(alg: str):
    if alg == "RS256":
        key = RSAKey.generate_key(2048, private=True)
    else:
        key = ECKey.generate_key("P-256", private=True)
    data = key.as_dict(private=True)
    data.update(kid=key.thumbprint(), alg=alg, use="sig")
    return import_key(data)


@dataclass
class SigningKey:
    key: object
    alg: str
    activates_at: int
    retired_at: int | None
    path: Path

    @property
    def kid(self) -> str:
        return self.key.kid

    def signs_at(self, now: int) -> bool:
        return self.activates_at <= now and (self.retired_at is None or self.retired_at > now)

    def kept_at(self, now: int, retention: int) -> bool:
        """Signing now, or retired less than `retention` seconds ago."""
        return self.retired_at is None or self.retired_at + retention > now

    def save(self) -> None:
        record = {
            "alg": self.alg,
            "activates_at": self.activates_at,
            "retired_at": self.retired_at,
            "jwk": self.key.as_dict(private=True),
        }
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        folder = os.stat(self.path.parent)
        if os.geteuid() == 0 and folder.st_uid != 0:
            # `sudo tunnus keys rotate`: the files stay the folder owner's (the server's user).
            # Before, they became root's, and every instance could read no key at all.
            os.fchown(fd, folder.st_uid, folder.st_gid)
        with os.fdopen(fd, "w") as handle:
            json.dump(record, handle)
        os.replace(tmp, self.path)


def _read_key(path: Path) -> SigningKey | None:
    """A key file as `tunnus keys rotate` writes it. Any other *.json in the folder (a
    client's JWK Set copied there, an empty file) is skipped with a warning naming it:
    before, it stopped every command, `tunnus keys rotate` among them, and every request
    that signs or publishes keys."""
    try:
        record = json.loads(path.read_text())
        key = SigningKey(import_key(record["jwk"]), record["alg"], record["activates_at"], record["retired_at"], path)
        if key.alg not in ALGORITHMS or type(key.activates_at) is not int or \
                not (key.retired_at is None or type(key.retired_at) is int):
            raise ValueError("alg, activates_at or retired_at is not as `tunnus keys rotate` writes it")
        return key
    except FileNotFoundError:
        raise
    except (OSError, *malformed_jose.ERRORS) as error:
        log.warning("%s is no signing key of Tunnus's, left out: %s", path, f"{type(error).__name__}: {error}"[:200])
        return None


class KeyStore:
    def __init__(self, directory: str, publish_delay: int, retention: int, hint_retention: int = 0):
        self.directory = Path(directory)
        self.publish_delay = publish_delay
        self.retention = retention
        self.hint_retention = max(retention, hint_retention)
        self._lock = threading.Lock()
        self._stamp = None
        self._next_check = 0.0
        self._keys: list[SigningKey] = []
        self._jwks_cache: tuple | None = None
        self._key_sets: dict[str, tuple] = {}

    # Reading

    def _load(self) -> list[SigningKey]:
        if time.monotonic() < self._next_check:
            return self._keys
        try:
            stamp = os.stat(self.directory).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            with self._lock:
                keys = []
                try:
                    found = (_read_key(path) for path in (sorted(self.directory.glob("*.json")) if stamp else []))
                    keys = [key for key in found if key is not None]
                except FileNotFoundError:  # the folder went away while it was read: read again next time
                    keys, stamp = [], None
                self._keys, self._stamp, self._jwks_cache = keys, stamp, None
        self._next_check = time.monotonic() + FOLDER_CHECK_EVERY
        return self._keys

    def _readable(self) -> list[SigningKey]:
        keys = self._load()
        if self._stamp is None:
            raise KeysUnavailable(f"the keys folder {self.directory} cannot be read")
        return keys

    def signing_key(self, alg: str) -> SigningKey:
        now = clock.timestamp()
        usable = [k for k in self._readable() if k.alg == alg and k.signs_at(now)]
        if not usable:
            raise KeysUnavailable(f"no active {alg} signing key in {self.directory}; run `tunnus keys rotate`")
        return max(usable, key=lambda k: k.activates_at)

    def published(self) -> list[SigningKey]:
        now = clock.timestamp()
        return [k for k in self._readable() if k.kept_at(now, self.retention)]

    def published_kids(self) -> tuple[str, ...]:
        """Changes exactly when the JWK Set does."""
        return tuple(k.kid for k in self.published())

    def public_jwks(self) -> dict:
        keys = self.published()
        if not keys:  # an empty set, cached by relying services, would void every token
            raise KeysUnavailable(f"no key to publish in {self.directory}")
        marker = tuple(k.kid for k in keys)
        if self._jwks_cache is None or self._jwks_cache[0] != marker:
            body = {"keys": [k.key.as_dict(private=False) for k in keys]}
            self._jwks_cache = (marker, body)
        return self._jwks_cache[1]

    def verification_keys(self) -> KeySet:
        """The keys of tokens in use: those the JWK Set publishes."""
        return self._key_set("tokens", self.published())

    def hint_keys(self) -> KeySet:
        """The keys of ID tokens sent back as hints. Refreshing gives no new ID token, so a
        relying service holds the one from its sign-in for as long as the session lasts,
        days past the JWK Set's retention; logging out with it must still work."""
        now = clock.timestamp()
        return self._key_set("hints", [k for k in self._readable() if k.kept_at(now, self.hint_retention)])

    def _key_set(self, purpose: str, keys: list[SigningKey]) -> KeySet:
        marker = tuple(k.kid for k in keys)
        cached = self._key_sets.get(purpose)
        if cached is None or cached[0] != marker:
            cached = self._key_sets[purpose] = (marker, KeySet([k.key for k in keys]))
        return cached[1]

    def missing(self) -> list[str]:
        """The algorithms no key signs with now."""
        now = clock.timestamp()
        return [alg for alg in ALGORITHMS if not any(k.alg == alg and k.signs_at(now) for k in self._load())]

    # Writing

    def ensure(self) -> list[SigningKey]:
        """Create an immediately active key for each algorithm that has none."""
        if not self.missing():
            return []
        with self._writing():
            return [self._add(alg, activates_at=clock.timestamp()) for alg in self.missing()]

    def rotate(self) -> list[SigningKey]:
        """Add a new key per algorithm; it signs after the publish delay, when the old one
        retires. Where none signs (the first keys), at once: no token was signed that a
        relying service could be checking, and nothing could be signed meanwhile."""
        with self._writing():
            now = clock.timestamp()
            missing = self.missing()
            activates_at = now + self.publish_delay
            current = [k for k in self._load() if k.retired_at is None or k.retired_at > activates_at]
            created = [self._add(alg, activates_at=now if alg in missing else activates_at) for alg in ALGORITHMS]
            for old in current:
                old.retired_at = activates_at
                old.save()
            self._stamp, self._next_check = None, 0.0
            return created

    @contextmanager
    def _writing(self):
        """One writer at a time, across processes: workers starting together on an empty
        folder would each make keys of their own, and all of them would sign. Inside, the
        folder is read anew, so a writer sees what the one before it made."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / ".lock", "a")
        except OSError as error:
            raise ConfigurationError(f"IDP_KEYS_DIR {self.directory} cannot hold the keys: {error.strerror}") from None
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            self._stamp, self._next_check = None, 0.0
            yield

    def _add(self, alg: str, activates_at: int) -> SigningKey:
        key = _generate(alg)
        signing_key = SigningKey(key, alg, activates_at, None, self.directory / f"{key.kid}.json")
        signing_key.save()
        self._stamp, self._next_check = None, 0.0
        return signing_key


def open_store(values: dict, required: bool = True) -> KeyStore:
    """The key folder of these settings. The embedded setup makes its keys on first start;
    any other process does not invent keys (each machine would sign with its own, unknown to
    the others' /jwks) and, when `required`, refuses to start without them."""
    keystore = KeyStore(values["IDP_KEYS_DIR"], values["IDP_KEY_PUBLISH_DELAY"],
                        max(values["IDP_ID_TOKEN_TTL"], values["IDP_ACCESS_TOKEN_TTL"]),
                        max(values["IDP_REMEMBER_ME_TTL"], values["IDP_BROWSER_SESSION_TTL"]))
    if embedded(values):
        keystore.ensure()
    elif required:
        folder = keystore.directory
        if folder.exists() and not folder.is_dir():
            raise ConfigurationError(f"IDP_KEYS_DIR {folder} is not a folder")
        if keystore.missing():
            raise no_keys(folder)
    return keystore


def no_keys(folder: Path) -> ConfigurationError:
    return ConfigurationError(f"no signing keys in {folder} (IDP_KEYS_DIR); create them once with "
                              "`tunnus keys rotate`")
