"""Client authentication at every endpoint that authenticates clients (/token, /par,
/revoke, /introspect): a malformed Basic header and a request naming another client
than the one that authenticated are refused as invalid_client, 401 (RFC 6749 §2.3, §5.2)."""
import base64

import pytest

from tests.support.rp import RelyingParty

ENDPOINTS = ["/token", "/par", "/revoke", "/introspect"]


@pytest.fixture
def machine(app):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"])


def _request(rp, path, **extra):
    """A request to `path` that would succeed with rp's own credentials."""
    data = {"/token": {"grant_type": "client_credentials"}, "/revoke": {"token": "never-issued"},
            "/introspect": {"token": "never-issued"}}.get(path)
    if data is None:  # /par: the request the relying service would push
        return rp.push(**extra)
    return rp.token_request_to(path, **data, **extra)


def _basic(raw: bytes) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def _refused_invalid_client(response):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("raw", [b":\xff", b"\xff:secret"], ids=["secret", "client_id"])
def test_basic_credentials_that_are_not_utf8_are_invalid_client(machine, path, raw):
    response = machine.http.post(path, data={"grant_type": "client_credentials", "token": "x"},
                                 headers=_basic(machine.client_id.encode() + raw if raw[:1] == b":" else raw))
    _refused_invalid_client(response)
    assert "UTF-8" in response.get_json()["error_description"]


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_basic_header_that_is_not_ascii_is_invalid_client(machine, path):
    response = machine.http.post(path, data={"grant_type": "client_credentials", "token": "x"},
                                 headers={"Authorization": "Basic cnAxOnNlY3LDqXQ=\u00e9"})
    _refused_invalid_client(response)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_client_id_naming_another_client_than_basic_is_invalid_client(app, rp, machine, path):
    sender = rp if path == "/par" else machine  # /par is for clients of the code flow
    other = RelyingParty.register(app, name="Toinen", grant_types=["client_credentials"])
    assert _request(sender, path).status_code in (200, 201)
    response = _request(sender, path, client_id=other.client_id)  # Basic as sender, the body in other's name
    _refused_invalid_client(response)
    assert response.get_json()["error_description"] == "client_id names another client than the Basic credentials"
    # Its own client_id beside Basic stays fine (RFC 6749 §2.3.1 does not forbid it).
    assert _request(sender, path, client_id=sender.client_id).status_code in (200, 201)


@pytest.mark.parametrize("path", ENDPOINTS)
def test_an_unknown_client_and_a_wrong_secret_get_the_same_answer(machine, path):
    """Nobody learns which client_ids exist: the same 401 and words whether the id is
    unknown or the secret wrong, in the header or in the body."""
    data = {"grant_type": "client_credentials", "token": "x", "scope": "openid",
            "redirect_uri": "https://rp.example/cb", "response_type": "code"}
    answers = [machine.http.post(path, data=data, headers=_basic(raw))
               for raw in (f"{machine.client_id}:wrong".encode(), b"no-such-client:wrong")]
    answers += [machine.http.post(path, data=dict(data, client_id=client_id, **secret))
                for client_id in (machine.client_id, "no-such-client")
                for secret in ({"client_secret": "wrong"}, {})]
    for response in answers:
        assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"
    assert len({response.get_json()["error_description"] for response in answers}) == 1
    assert "none" not in answers[0].get_json()["error_description"].split()
