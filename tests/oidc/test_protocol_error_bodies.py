"""Errors the generic handlers answer on the protocol endpoints (a wrong method, a body too
large, a limit, our own failure, the database away) are for programs: an OAuth JSON error
whose error_description is plain ASCII English (RFC 6749 §5.2 allows %x20-21 / %x23-5B /
%x5D-7E only), never cached (Cache-Control: no-store, as every token answer), whatever
language the caller's Accept-Language asks for. People's pages keep their translations."""
import re
from contextlib import contextmanager

import pytest

from idp import create_app
from idp.extensions import limiter
from tests.conftest import IsolatedClient

DESCRIPTION = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]+")
PROTOCOL_PATHS = ["/token", "/par", "/revoke", "/introspect"]


def _finnish(http):
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    return http


def _protocol_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error
    assert DESCRIPTION.fullmatch(body["error_description"]), body
    assert response.headers["Cache-Control"] == "no-store" and response.headers["Pragma"] == "no-cache"
    return body


@contextmanager
def _made(base_config, **settings):
    made = create_app(dict(base_config, **settings))
    made.test_client_class = IsolatedClient
    with made.app_context():
        limiter.reset()
        yield made


@pytest.mark.parametrize("path", PROTOCOL_PATHS)
def test_a_wrong_method_is_an_ascii_json_error_naming_the_allowed_one(app, path):
    response = _finnish(app.test_client()).get(path)
    body = _protocol_error(response, 405, "invalid_request")
    assert body["error_description"] == "Method Not Allowed"
    assert "POST" in response.headers["Allow"]


def test_a_body_too_large_is_an_ascii_json_error(app):
    response = _finnish(app.test_client()).post("/token", data={"grant_type": "client_credentials",
                                                                "x": "a" * 3_000_000})
    _protocol_error(response, 413, "invalid_request")


def test_a_limit_reached_is_an_ascii_json_error_with_retry_after(base_config, app):
    with _made(base_config, IDP_TOKEN_RATE_LIMIT="1 per minute") as made:
        http = _finnish(made.test_client())
        assert http.post("/token", data={"grant_type": "client_credentials"}).status_code == 401
        response = http.post("/token", data={"grant_type": "client_credentials"})
        _protocol_error(response, 429, "slow_down")
        assert int(response.headers["Retry-After"]) >= 1


def test_the_database_away_is_an_ascii_json_error_with_retry_after(base_config, app, tmp_path):
    with _made(base_config, IDP_DATABASE_URL=f"sqlite:///{tmp_path}/missing/tunnus.sqlite3") as made:
        http = _finnish(made.test_client())
        response = http.post("/token", data={"grant_type": "client_credentials", "client_id": "kone",
                                             "client_secret": "s"})
        _protocol_error(response, 503, "temporarily_unavailable")
        assert response.headers["Retry-After"] == "30"


def test_our_own_failure_is_an_ascii_json_error(app):
    # A fault in the view itself, whatever it is: the handler of last resort answers.
    def broken():
        raise RuntimeError("a defect")

    app.view_functions["oidc_token.token"] = broken
    _protocol_error(_finnish(app.test_client()).post("/token"), 500, "server_error")


@pytest.mark.parametrize("method, path", [("POST", "/token"), ("POST", "/par"), ("POST", "/revoke"),
                                          ("POST", "/introspect"), ("GET", "/userinfo")])
def test_plain_http_to_a_host_not_loopback_is_an_ascii_json_error(app, caplog, method, path):
    """A proxy that did not say the request came over https, or a caller going round it:
    Authlib refuses a plain-http URL as the view reads the request, which no view caught."""
    response = _finnish(app.test_client()).open(path, method=method, headers={"Host": "tunnus.example"},
                                                 data={"token": "x"} if method == "POST" else None)
    _protocol_error(response, 400, "insecure_transport")
    assert "unhandled error" not in caplog.text


def test_plain_http_to_a_host_not_loopback_is_a_page_at_authorize(app, rp, caplog):
    response = _finnish(app.test_client()).get(rp.authorize_url(), headers={"Host": "tunnus.example"})
    assert response.status_code == 400 and "Pyyntöä ei voitu käsitellä." in response.get_data(as_text=True)
    assert "unhandled error" not in caplog.text


def test_pages_for_people_keep_their_translated_messages(app):
    response = _finnish(app.test_client()).get("/no-such-page")
    assert response.status_code == 404 and "Etsimääsi sivua ei ole olemassa." in response.get_data(as_text=True)
