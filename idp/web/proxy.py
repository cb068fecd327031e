"""Behind reverse proxies (IDP_PROXY_HOPS): the client's IP and the https scheme come
from their X-Forwarded-For/-Proto headers.

Only as many hops as are really in front are trusted, counted from the right, so a
client cannot forge its address by sending the headers itself. The IP is what rate
limits, audit records and log lines see.
"""
from __future__ import annotations

import logging

from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger(__name__)


def init_app(app) -> None:
    hops = app.config["IDP_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    elif app.config["IDP_ISSUER"].startswith("https://"):
        # serve.py speaks plain HTTP: an https issuer has TLS ended in front of it. Without
        # the hops every person has the proxy's address, and one address's limits (20
        # passwords a minute) would hold back everyone at once.
        log.warning("IDP_ISSUER is https but IDP_PROXY_HOPS is 0: client addresses are the proxy's, and the "
                    "per-address limits count everyone together; set IDP_PROXY_HOPS to the proxies in front")
