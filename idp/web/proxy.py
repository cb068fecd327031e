"""Behind reverse proxies (IDP_PROXY_HOPS): the client's IP and the https scheme come
from their X-Forwarded-For/-Proto headers.

Only as many hops as are really in front are trusted, counted from the right, so a
client cannot forge its address by sending the headers itself. The IP is what rate
limits, audit records and log lines see.
"""
from __future__ import annotations

import functools
import ipaddress

from werkzeug.middleware.proxy_fix import ProxyFix

LONGEST_ADDRESS = 45  # an IPv6 address with an IPv4 tail, as written


def init_app(app) -> None:
    hops = app.config["IDP_PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(_addresses_only(app.wsgi_app), x_for=hops, x_proto=hops)


def _addresses_only(wsgi_app):
    """A forwarded "address" that is none (a proxy passing on what a client wrote) is
    replaced by the proxy's own: limits, audit records and kiosk networks take only IPs."""
    def app(environ, start_response):
        forwarded = environ.get("REMOTE_ADDR") or ""
        # The length first: the cache below keeps what it is asked about.
        if len(forwarded) > LONGEST_ADDRESS or not _is_address(forwarded):
            environ["REMOTE_ADDR"] = environ["werkzeug.proxy_fix.orig"]["REMOTE_ADDR"]
        return wsgi_app(environ, start_response)
    return app


# Parsing costs 3-5 us a request; the same clients and proxies come again and again.
@functools.lru_cache(maxsize=4096)
def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
