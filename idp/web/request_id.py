"""The request id: one token that ties a request's log lines, its audit records and the
proxy's logs together.

Taken from an incoming X-Request-ID when it is a sane token (a load balancer or the
relying service made it), otherwise generated; echoed in the response's X-Request-ID.
"""
from __future__ import annotations

import re
import uuid

from flask import g, request

from ..logging_setup import safe_path

HEADER = "X-Request-ID"
# Long enough for UUIDs and the ids of common load balancers; nothing that could split a
# log line or smuggle markup.
SANE = re.compile(r"[A-Za-z0-9._:=+-]{8,128}")


def chosen(offered: str | None) -> str:
    """The offered id if it is sane, else a new one."""
    return offered if offered and SANE.fullmatch(offered) else uuid.uuid4().hex


def current() -> str:
    if "request_id" not in g:
        g.request_id = chosen(request.headers.get(HEADER))
    return g.request_id


def loggable_path() -> str:
    rule = request.url_rule.rule if request.url_rule else None
    return safe_path(request.path, rule, request.view_args)


def log_fields() -> dict:
    return {"request_id": current(), "method": request.method, "path": loggable_path(),
            "client_ip": request.remote_addr}


def _echo(response):
    response.headers[HEADER] = current()
    return response


def init_app(app) -> None:
    app.after_request(_echo)
