"""The production server: granian (WSGI) serving Tunnus. `python serve.py`

Chosen over gunicorn by bench/compare.sh (README, *Performance*): granian parses HTTP in
Rust and keeps connections alive, so a worker spends far less per request on anything but
Tunnus itself. Settings from the environment:

    TUNNUS_BIND                 127.0.0.1:5000
    TUNNUS_WORKERS              number of CPUs: processes, each one Python interpreter
    TUNNUS_THREADS              4: Python threads per worker, so a request waiting for
                                PostgreSQL or Redis does not hold up the others
    TUNNUS_ACCESS_LOG           on; empty turns it off
    TUNNUS_FORWARDED_ALLOW_IPS  127.0.0.1: the TLS-terminating proxy whose X-Forwarded-Proto
                                is believed ("*": any); from elsewhere the header is ignored

Workers share nothing but PostgreSQL, Redis and the key folder; metrics from all of them
are summed through PROMETHEUS_MULTIPROC_DIR. A worker that dies is started again.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from werkzeug.middleware.proxy_fix import ProxyFix

ROOT = Path(__file__).resolve().parent


class TrustedProxy:
    """wsgi.url_scheme from X-Forwarded-Proto, only for requests from the proxy: Authlib
    refuses OAuth over plain http, and the issuer's https is the proxy's."""

    def __init__(self, wsgi_app, allowed: str):
        self.wsgi_app = wsgi_app
        self.forwarded = ProxyFix(wsgi_app, x_for=0, x_proto=1, x_host=0, x_port=0, x_prefix=0)
        self.allowed = {ip.strip() for ip in allowed.split(",") if ip.strip()}

    def __call__(self, environ, start_response):
        if "*" in self.allowed or environ.get("REMOTE_ADDR") in self.allowed:
            return self.forwarded(environ, start_response)
        return self.wsgi_app(environ, start_response)


def _application():
    from wsgi import app

    return TrustedProxy(app, os.environ.get("TUNNUS_FORWARDED_ALLOW_IPS", "127.0.0.1"))


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    host, _, port = os.environ.get("TUNNUS_BIND", "127.0.0.1:5000").rpartition(":")
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tunnus-metrics-"))
    Granian(
        "serve:_application",
        factory=True,
        address=host,
        port=int(port),
        interface=Interfaces.WSGI,
        workers=int(os.environ.get("TUNNUS_WORKERS", os.cpu_count() or 1)),
        blocking_threads=int(os.environ.get("TUNNUS_THREADS", 4)),
        log_access=bool(os.environ.get("TUNNUS_ACCESS_LOG", "1")),
        respawn_failed_workers=True,
        workers_kill_timeout=20,
        working_dir=ROOT,
    ).serve()


if __name__ == "__main__":
    main()
