"""The public keys a private_key_jwt client signs its assertions with, as this process
holds them (services/client_keys.py says which keys are acceptable).

Keys registered with the client come with it (client_cache.py). Keys at a jwks_uri are
read over HTTP (IDP_CLIENT_JWKS_TIMEOUT for the whole exchange, no redirects) and used
for IDP_CLIENT_JWKS_CACHE_TTL. An assertion naming a kid not among them may be signed
with a key the service has just added, so the URI is read again at once, yet no sooner
than IDP_CLIENT_JWKS_REFETCH_INTERVAL after the last read: made-up kids cost one read
per interval, not one per request. A read that fails leaves the keys read before in use,
and is tried again after the same interval.
"""
from __future__ import annotations

import logging
import threading
import urllib.request
from dataclasses import dataclass

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from ..errors import ValidationFailed
from ..services import client_keys, clock, outbound_http, strict_json

log = logging.getLogger(__name__)

MAX_BYTES = 64 * 1024


class JwksUnavailable(Exception):
    """The client's jwks_uri gave no usable keys; the log says why."""


@dataclass(frozen=True)
class _Read:
    keys: KeySet | None
    at: int
    fresh_until: int


class ClientJwks:
    def __init__(self, config):
        self.config = config  # read at each use: a test may change it
        self._reads: dict[str, _Read] = {}
        self._locks: dict[str, threading.Lock] = {}

    def keys(self, client, unknown_kid: bool = False) -> KeySet:
        """The client's keys. `unknown_kid`: an assertion named a key not among those
        returned before; its jwks_uri is read again if the interval allows."""
        if client.jwks is not None:
            return client_keys.key_set(client.jwks)
        uri = client.jwks_uri
        # One read of a URI at a time; the others wait for its keys rather than read too.
        with self._locks.setdefault(uri, threading.Lock()):
            now = clock.timestamp()
            last = self._reads.get(uri)
            interval = self.config["IDP_CLIENT_JWKS_REFETCH_INTERVAL"]
            if last is None or now >= last.fresh_until or (unknown_kid and now - last.at >= interval):
                last = self._reads[uri] = self._read(uri, last, now)
        if last.keys is None:
            raise JwksUnavailable
        return last.keys

    def _read(self, uri: str, last: _Read | None, now: int) -> _Read:
        try:
            keys = client_keys.key_set(client_keys.check_jwks(self._get(uri)))
        except (*outbound_http.ERRORS, ValueError, ValidationFailed, JoseError) as error:
            log.warning("client keys at %s not read: %s", uri, error)
            return _Read(last.keys if last else None, now, now + self.config["IDP_CLIENT_JWKS_REFETCH_INTERVAL"])
        return _Read(keys, now, now + self.config["IDP_CLIENT_JWKS_CACHE_TTL"])

    def _get(self, uri: str):
        request = urllib.request.Request(uri, headers={"Accept": "application/jwk-set+json, application/json",
                                                       "User-Agent": "Tunnus client keys"})
        timeout = self.config["IDP_CLIENT_JWKS_TIMEOUT"]
        with outbound_http.opener(timeout).open(request, timeout=timeout) as response:
            body = response.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError(f"the JWK Set is larger than {MAX_BYTES} bytes")
        return strict_json.loads(body)
