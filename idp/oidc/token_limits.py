"""The limits of the endpoints clients call: /token (IDP_TOKEN_RATE_LIMIT per client IP,
IDP_TOKEN_CLIENT_RATE_LIMIT per client_id as sent) and /par (IDP_PAR_RATE_LIMIT,
IDP_PAR_CLIENT_RATE_LIMIT), counted in batches.

Machines ask for tokens thousands of times a minute, and a Redis round trip per request
cost more than issuing the token. So each process adds up its hits and sends them to the
limit store (the `limits` library's storage that Flask-Limiter uses: fixed windows, in
Redis or in memory) at most every FLUSH_EVERY seconds, one increment per key. It decides
with the store's count as last seen plus its own unsent hits; a request that would break
a limit sends everything first and decides again on the fresh count, so only the store
refuses. Several processes may together let through what they count between two sends
beyond a limit (at most FLUSH_EVERY seconds of their traffic), never refuse early: fine
for limits meant to stop a runaway client. The login and code limits, which stop
guessing, stay exact (Flask-Limiter, one round trip per request).

When the store fails, counting goes on in this process (logged once) and the store is
tried again after 1, 2, 4 ... 32 seconds, as Flask-Limiter does for the other limits.
"""
from __future__ import annotations

import functools
import logging
import threading
import time

from joserfc import jws
from joserfc.errors import JoseError
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from werkzeug.exceptions import TooManyRequests

from ..models.client import could_be_client_id
from ..services import strict_json
from . import basic_credentials

log = logging.getLogger(__name__)

FLUSH_EVERY = 0.1


class BatchedWindows:
    def __init__(self, storage: Storage):
        self.storage = storage
        self.batched = not isinstance(storage, MemoryStorage)
        self.local = MemoryStorage()  # while the store is unreachable
        self._failures = 0
        self._retry_at = 0.0
        self._pending: dict[str, tuple[RateLimitItem, int]] = {}
        self._seen: dict[str, int] = {}  # the store's count after this process's last send
        self._sent_at = time.monotonic()
        self._lock = threading.Lock()

    def hit(self, checks: tuple[tuple[RateLimitItem, str], ...]) -> int | None:
        """Counts one request against every (limit, key); None, or seconds until it may try again."""
        with self._lock:
            for item, key in checks:
                _item, count = self._pending.get(key, (item, 0))
                self._pending[key] = (item, count + 1)
            over = any(self._count(key) > item.amount for item, key in checks)
            if over or not self.batched or time.monotonic() - self._sent_at >= FLUSH_EVERY:
                self._send()
                over = any(self._count(key) > item.amount for item, key in checks)
            if not over:
                return None
            return max(self._wait(item, key) for item, key in checks if self._count(key) > item.amount)

    def _count(self, key: str) -> int:
        return self._seen.get(key, 0) + self._pending.get(key, (None, 0))[1]

    def _store(self) -> Storage:
        if self._failures and time.monotonic() >= self._retry_at:
            if self._healthy():
                log.warning("Rate limit storage recovered: /token and /par limits count there again")
                self._failures = 0
            else:
                self._give_up_for_now()
        return self.local if self._failures else self.storage

    def _send(self) -> None:
        pending, self._pending = self._pending, {}
        self._sent_at = time.monotonic()
        store = self._store()
        for key, (item, count) in pending.items():
            try:
                self._seen[key] = store.incr(key, item.get_expiry(), amount=count)
            except Exception as error:  # any failure of the store: Redis down, hanging, refusing
                if store is self.local:
                    raise
                log.warning("Rate limit storage unreachable - /token and /par limits count in this process: %s", error)
                self._give_up_for_now()
                store = self.local
                self._seen[key] = store.incr(key, item.get_expiry(), amount=count)
        # A key not sent again for a whole window has run out there too.
        if len(self._seen) > 10_000:
            self._seen = {key: self._seen[key] for key in pending}

    def _wait(self, item: RateLimitItem, key: str) -> int:
        try:
            reset_at = (self.local if self._failures else self.storage).get_expiry(key)
        except Exception:
            return item.get_expiry()  # a fair upper bound beats an error
        return max(1, int(reset_at - time.time()) + 1)

    def _healthy(self) -> bool:
        try:
            return bool(self.storage.check())
        except Exception:
            return False

    def _give_up_for_now(self) -> None:
        self._failures += 1
        self._retry_at = time.monotonic() + min(2 ** (self._failures - 1), 32)


def client_id_sent(authorization: str | None, form) -> str | None:
    """The client_id a request names, before it is authenticated: in Basic (RFC 6749
    §2.3.1), as a form field, or as the sub of a client assertion that comes without one
    (RFC 7523 §3 makes the field optional), unverified."""
    try:
        client_id, _secret = basic_credentials.read(authorization)
    except basic_credentials.Malformed:
        client_id = None  # refused at authentication (server.py); counted by what else it names
    return client_id or form.get("client_id") or _assertion_subject(form.get("client_assertion"))


def _assertion_subject(assertion: str | None) -> str | None:
    try:
        sub = strict_json.loads(jws.extract_compact(assertion.encode("ascii")).payload).get("sub")
    except (AttributeError, JoseError, TypeError, ValueError):
        return None
    return sub if could_be_client_id(sub) else None  # half a character is no Redis key


class ClientLimits:
    """One endpoint's limits per client IP and per client_id, counted under `prefix`."""

    def __init__(self, app, windows: BatchedWindows, prefix: str, per_ip_setting: str, per_client_setting: str):
        # A mistyped value stops the start, not every request.
        per_ip, per_client = (parse_many(app.config[setting]) for setting in (per_ip_setting, per_client_setting))
        self.windows = windows
        # Built once per (address, client): a machine asks from the same address again and again.
        self._checks = functools.lru_cache(maxsize=4096)(functools.partial(_checks, prefix, per_ip, per_client))

    def hit(self, remote_addr: str | None, client_id: str | None) -> int | None:
        """Counts one request; None, or the Retry-After seconds of a limit it breaks."""
        return self.windows.hit(self._checks(remote_addr or "-", client_id[:64] if client_id else None))

    def check(self, request) -> None:
        """Counts a request to this endpoint; 429 with Retry-After when it breaks a limit.
        Per client_id as sent, before authentication: a runaway or attacked client is
        slowed down without affecting the others behind the same IP."""
        wait = self.hit(request.remote_addr, client_id_sent(request.headers.get("Authorization"), request.form))
        if wait is not None:
            raise TooManyRequests(retry_after=wait)


def _checks(prefix: str, per_ip: list[RateLimitItem], per_client: list[RateLimitItem], address: str,
            client_id: str | None) -> tuple[tuple[RateLimitItem, str], ...]:
    checks = [(item, item.key_for(prefix, "ip", address)) for item in per_ip]
    if client_id:
        checks += [(item, item.key_for(prefix, "client", client_id)) for item in per_client]
    return tuple(checks)


def init_app(app) -> None:
    windows = BatchedWindows(storage_from_string(app.config["RATELIMIT_STORAGE_URI"],
                                                 **app.config["RATELIMIT_STORAGE_OPTIONS"]))
    app.extensions["idp.token_limits"] = ClientLimits(app, windows, "tunnus/token", "IDP_TOKEN_RATE_LIMIT",
                                                      "IDP_TOKEN_CLIENT_RATE_LIMIT")
    app.extensions["idp.par_limits"] = ClientLimits(app, windows, "tunnus/par", "IDP_PAR_RATE_LIMIT",
                                                    "IDP_PAR_CLIENT_RATE_LIMIT")
