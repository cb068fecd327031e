"""One access line per request, written by the app rather than the server, so it has the
request id, the path with secret parts redacted, the client IP after IDP_PROXY_HOPS and
the chosen log format whatever serves it (a server's own access log prints query
strings, which carry codes and id_token_hint). Answers made before Flask (discovery and
JWKS from oidc/document_cache.py, tokens from oidc/fast_path.py) write theirs through
write_answered().
"""
from __future__ import annotations

import time

from flask import g

from .. import logging_setup
from .request_id import log_fields


def _start() -> None:
    g.access_started = time.perf_counter()


def write(status: int, started: float | None, request: dict) -> None:
    """The access line of one answer to `request`, as request_id.log_fields() describes it."""
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    logging_setup.write_access(
        f'{request["client_ip"]} "{request["method"]} {request["path"]}" {status} {duration_ms}ms',
        {"status": status, "duration_ms": duration_ms, **request})


def write_answered(environ, status: int, started: float, rid: str) -> None:
    """The access line of an answer made before Flask (its request id `rid`)."""
    write(status, started, {"request_id": rid, "method": environ["REQUEST_METHOD"], "path": environ["PATH_INFO"],
                            "client_ip": environ.get("REMOTE_ADDR")})


def _write(response):
    write(response.status_code, g.get("access_started"), log_fields())
    return response


def init_app(app) -> None:
    if app.config["IDP_ACCESS_LOG"]:
        app.before_request(_start)
        app.after_request(_write)
