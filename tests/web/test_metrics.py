"""Metrics an operator scrapes: logins by result, tokens by grant, latency, outbox depth."""
import re

from tests.support.journeys import sign_in


def _value(text, name, **labels):
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    match = re.search(rf"^{name}\{{{re.escape(wanted)}\}} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_logins_tokens_and_latency(browser, user, rp):
    before = browser.client.get("/metrics").get_data(as_text=True)
    browser.get("/login")
    sign_in(browser, user.email, "wrong")
    browser.submit("/password", password=user.test_password)
    rp.token_request(grant_type="client_credentials")
    after = browser.client.get("/metrics").get_data(as_text=True)
    for result in ("success", "failure"):
        assert _value(after, "tunnus_events_total", event="login.password", result=result) == \
            _value(before, "tunnus_events_total", event="login.password", result=result) + 1
    assert _value(after, "tunnus_token_requests_total", grant_type="client_credentials", status="400") >= 1
    assert 'tunnus_request_seconds_bucket{endpoint="/login",le="' in after
    assert "tunnus_mail_outbox_pending 0.0" in after


def test_with_a_metrics_token_only_the_scraper_reads_them(app):
    app.config["IDP_METRICS_TOKEN"] = "scrape-7f3c9b2e41d8a6"
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer scrape-wrong"}, {"Authorization": "Basic c2NyYXBl"},
                    {"Authorization": "Bearer scrape-7f3c9b2e41d8a6x"}):
        refused = client.get("/metrics", headers=headers)
        assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"', headers
        assert "tunnus_" not in refused.get_data(as_text=True)
    allowed = client.get("/metrics", headers={"Authorization": "Bearer scrape-7f3c9b2e41d8a6"})
    assert allowed.status_code == 200 and "tunnus_mail_outbox_pending 0.0" in allowed.get_data(as_text=True)


def test_methods_a_client_makes_up_add_no_series(app):
    """Before, each made-up method (answered 405) was a histogram of its own: anyone could
    grow every worker's metrics and every scrape without end."""
    client = app.test_client()
    before = client.get("/metrics").get_data(as_text=True)
    for n in range(20):
        assert client.open("/healthz", method=f"MADEUP{n}").status_code == 405
    after = client.get("/metrics").get_data(as_text=True)
    assert "MADEUP" not in after
    assert _value(after, "tunnus_request_seconds_count", endpoint="unmatched", method="other") == \
        _value(before, "tunnus_request_seconds_count", endpoint="unmatched", method="other") + 20
