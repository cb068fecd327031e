"""Behind reverse proxies (IDP_PROXY_HOPS): the client's IP and the https scheme come
from their X-Forwarded-For/-Proto headers.

Only as many hops as are really in front are trusted, counted from the right, so a
client cannot forge its address by sending the headers itself. The IP is what rate
limits, audit records and log lines see.
"""
from __future__ import annotations

from werkzeug.middleware.proxy_fix import ProxyFix


def init_app(app) -> None:
    hops = app.config["IDP_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
