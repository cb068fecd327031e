"""Input no field can hold, sent to every route: a clear refusal, never the server's error.

PostgreSQL refuses a NUL character in text and an integer beyond a column's range; SQLite
takes both. These sweep the app's own routes, so that a route added later is covered too.
"""
import base64
import re

import pytest

from idp import JSON_PATHS
from tests.support.journeys import signed_in

NUL = "a\x00b"


def _routes(app, with_arguments: bool):
    for rule in app.url_map.iter_rules():
        if bool(rule.arguments) == with_arguments and rule.endpoint != "static":
            yield rule, sorted(rule.methods - {"HEAD", "OPTIONS"})


def _filled(rule, text: str, number: int) -> str:
    def value(match):
        return str(number) if match.group(1) == "int" else text
    return re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>", value, rule.rule)


def test_a_nul_anywhere_in_a_request_is_refused_as_a_bad_request(app, user):
    browser = signed_in(app, user)
    answered = []
    for rule, methods in _routes(app, with_arguments=False):
        for method in methods:
            in_query = browser.client.open(rule.rule, method=method, query_string={"x": NUL})
            in_form = browser.client.open(rule.rule, method=method, data={"email": NUL})
            for response in ([in_query, in_form] if method != "GET" else [in_query]):
                answered.append((method, rule.rule, response.status_code))
                if rule.rule in JSON_PATHS and response.status_code == 400:
                    assert response.get_json()["error"] == "invalid_request", rule.rule
    refused = [a for a in answered if a[2] != 400]
    assert not refused
    assert len(answered) > 60  # every route was reached, not a handful


def test_a_nul_in_a_path_is_refused_and_an_id_beyond_any_row_is_not_found(app, user):
    browser = signed_in(app, user)
    answered = []
    for rule, methods in _routes(app, with_arguments=True):
        for method in methods:
            text_path, number_path = _filled(rule, "a%00b", 1), _filled(rule, "a", 2**31)
            if text_path != _filled(rule, "a", 1):
                answered.append((method, text_path, 400, browser.client.open(text_path, method=method).status_code))
            if number_path != _filled(rule, "a", 1):
                answered.append((method, number_path, 404, browser.client.open(number_path, method=method).status_code))
    assert [a for a in answered if a[2] != a[3]] == []
    assert {a[2] for a in answered} == {400, 404}


def test_the_page_for_a_nul_is_translated(app):
    page = app.test_client().get("/login", query_string={"login_hint": NUL}, headers={"Accept-Language": "fi"})

    assert page.status_code == 400
    assert "Pyyntöä ei hyväksytty" in page.get_data(as_text=True)


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke", "/par"])
def test_a_client_id_with_a_nul_in_basic_credentials_is_an_unknown_client(app, endpoint):
    credentials = base64.b64encode(f"{NUL}:secret".encode()).decode()
    answer = app.test_client().post(endpoint, data={"grant_type": "client_credentials", "token": "t"},
                                    headers={"Authorization": f"Basic {credentials}"})

    assert answer.status_code == 401
    assert answer.get_json()["error"] == "invalid_client"
