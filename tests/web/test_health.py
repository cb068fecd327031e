"""Health endpoints as the load balancer calls them."""
import sqlalchemy as sa

from idp import create_app, schema_migrations
from idp.extensions import db


def test_healthz_answers(browser):
    response = browser.client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readyz_checks_database_redis_and_keys(app, browser):
    body = browser.client.get("/readyz").get_json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == "ok" and body["checks"]["keys"] == "ok"
    assert body["checks"]["redis"] == ("ok" if app.config["IDP_REDIS_URL"] else "not configured")


def test_readyz_reports_but_survives_unreachable_redis(app, browser):
    app.config["IDP_REDIS_URL"] = "redis://127.0.0.1:1/0"
    response = browser.client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["checks"]["redis"].startswith("error")


def _schema_at(revision):
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision})


def test_readyz_fails_while_the_schema_is_behind_the_code(app, browser):
    try:
        _schema_at("0025_erasures")
        response = browser.client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"]["schema"] == (
            f"error: at 0025_erasures, this release needs {schema_migrations.HEAD}; run `tunnus db upgrade`")
        _schema_at("9999_later")  # a later release migrated it: this one keeps serving meanwhile
        response = browser.client.get("/readyz")
        assert response.status_code == 200 and response.get_json()["checks"]["schema"].startswith("ahead")
    finally:
        _schema_at(schema_migrations.HEAD)
    assert browser.client.get("/readyz").get_json()["checks"]["schema"] == "ok"


def test_readyz_fails_on_a_database_never_migrated(base_config, tmp_path):
    made = create_app(dict(base_config, IDP_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.db'}"))
    with made.app_context():
        response = made.test_client().get("/readyz")
        db.engine.dispose()
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "schema": "error: not migrated; run `tunnus db upgrade`",
                                             "redis": "ok" if base_config["IDP_REDIS_URL"] else "not configured",
                                             "keys": "ok"}
