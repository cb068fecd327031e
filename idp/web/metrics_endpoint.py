"""/metrics for Prometheus, and per-request latency measurement.

The outbox depths are facts of the database, read at scrape time by a collector of this
scrape alone: a Gauge would be kept per worker in PROMETHEUS_MULTIPROC_DIR, so the series
of workers long gone (one killed with kill -9 too) would be added up with the live one.
The database not answering (or slow to) costs those numbers, never the scrape: the
process metrics are what an operator needs most during an outage."""
from __future__ import annotations

import hmac
import logging
import os
import time

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import REGISTRY, multiprocess
from flask import Blueprint, Response, current_app, g, request
from prometheus_client.core import GaugeMetricFamily

from ..extensions import db
from ..metrics import LATENCY
from ..services import backchannel, mail

log = logging.getLogger(__name__)

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
    read = CollectorRegistry()
    read.register(_Outboxes())
    return Response(generate_latest(counted) + generate_latest(read), mimetype=CONTENT_TYPE_LATEST,
                    headers={"Cache-Control": "no-store"})


class _Outboxes:
    """What waits in the database, or tunnus_database_up 0 and nothing else when it does not answer."""

    def collect(self):
        try:
            depths = {"tunnus_mail_outbox_pending": ("Mails waiting in the outbox.", mail.pending_count()),
                      "tunnus_logout_outbox_pending": ("Back-channel logout notifications waiting to be delivered.",
                                                       backchannel.pending_count())}
        except sa.exc.SQLAlchemyError as error:
            log.warning("metrics: outbox depths not read, the database did not answer: %s", type(error).__name__)
            try:
                db.session.rollback()
            except sa.exc.SQLAlchemyError:
                pass  # the connection is gone; the pool replaces it once the database is back
            depths = {}
        for name, (doc, value) in depths.items():
            yield GaugeMetricFamily(name, doc, value=value)
        yield GaugeMetricFamily("tunnus_database_up", "1 when this scrape could read the database, else 0.",
                                value=1 if depths else 0)


def _scraper(authorization: str | None) -> bool:
    expected = current_app.config["IDP_METRICS_TOKEN"]
    if not expected:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())


# A method is any token a client writes: each one it made up would be a histogram of its own
# in every worker and every scrape. The methods HTTP defines are labels; the rest is one.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"})


def _method_label() -> str:
    return request.method if request.method in KNOWN_METHODS else "other"


def init_app(app) -> None:
    @app.before_request
    def _start_timer():
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(request.url_rule.rule if request.url_rule else "unmatched", _method_label()).observe(
                time.perf_counter() - started)
        return response
