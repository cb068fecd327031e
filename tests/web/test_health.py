"""Health endpoints as the load balancer calls them."""


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
