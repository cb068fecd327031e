"""/metrics for Prometheus, and per-request latency measurement."""
from __future__ import annotations

import hmac
import os
import time

from flask import Blueprint, Response, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client import REGISTRY, multiprocess

from ..metrics import LATENCY
from ..services import mail

bp = Blueprint("metrics", __name__)


@bp.route("/metrics")
def metrics():
    if not _scraper(request.headers.get("Authorization")):
        return Response("IDP_METRICS_TOKEN is set: send it as a bearer token\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"})
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    # Outbox depth is a fact of the database, read at scrape time rather than counted.
    read = CollectorRegistry()
    Gauge("tunnus_mail_outbox_pending", "Mails waiting in the outbox.", registry=read).set(mail.pending_count())
    return Response(generate_latest(counted) + generate_latest(read), mimetype=CONTENT_TYPE_LATEST)


def _scraper(authorization: str | None) -> bool:
    expected = current_app.config["IDP_METRICS_TOKEN"]
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


def init_app(app) -> None:
    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(request.url_rule.rule if request.url_rule else "unmatched", request.method).observe(
                time.perf_counter() - started)
        return response
