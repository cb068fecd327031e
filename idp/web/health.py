"""Liveness and readiness for the load balancer.

/healthz: the process answers. /readyz: it can do its work — the database answers, its
schema is at least at the revision this code needs (a release whose `tunnus db upgrade`
has not run would fail on every page) and a signing key is loaded (503 with the failing
part named). A schema ahead of it is ready: during a release the instances still running
the earlier one keep serving after the database was upgraded. Redis is reported but does
not fail readiness: without it, limits fall back to each process, and taking every
instance out of the load balancer at once would be worse.
"""
from __future__ import annotations

import redis
import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from .. import database_timeouts, schema_migrations
from ..extensions import csrf, db

# A load balancer waits a couple of seconds for an answer: a database slower than this is
# not ready (a new connection may take IDP_DATABASE_CONNECT_TIMEOUT on top).
ANSWER_WITHIN = 1.0

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    database = _database()
    checks = {"database": database, "schema": _schema() if database == "ok" else "unknown", "redis": _redis(),
              "keys": _keys()}
    ready = database == "ok" and not checks["schema"].startswith("error") and checks["keys"] == "ok"
    return jsonify(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503


def _database() -> str:
    try:
        with database_timeouts.answer_within(ANSWER_WITHIN):
            db.session.execute(sa.text("SELECT 1"))
        return "ok"
    except sa.exc.SQLAlchemyError as error:
        db.session.rollback()
        return f"error: {type(error).__name__}"


def _schema() -> str:
    try:
        with database_timeouts.answer_within(ANSWER_WITHIN):
            revision = db.session.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        revision = None
    head = schema_migrations.HEAD
    if revision is None:
        return "error: not migrated; run `tunnus db upgrade`"
    if revision == head:
        return "ok"
    try:
        behind = schema_migrations.number(revision) < schema_migrations.number(head)
    except ValueError:
        return f"error: unknown revision {revision}"
    if behind:
        return f"error: at {revision}, this release needs {head}; run `tunnus db upgrade`"
    return f"ahead: {revision} (a later release)"


def _redis() -> str:
    url = current_app.config["IDP_REDIS_URL"]
    if not url:
        return "not configured"
    try:
        redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1).ping()
        return "ok"
    except redis.RedisError as error:
        return f"error: {type(error).__name__}"


def _keys() -> str:
    try:
        current_app.extensions["idp.keys"].signing_key("RS256")
        current_app.extensions["idp.keys"].signing_key("ES256")
        return "ok"
    except LookupError:
        return "error: no active signing key"
