"""Native apps (public clients, RFC 8252): a loopback redirect on the port the operating
system gave the app (§7.3), and a private-use scheme of the app's own (§7.1)."""
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from idp.errors import ValidationFailed
from idp.services import clients
from tests.support.journeys import signed_in
from tests.support.rp import pkce_pair


def _authorize(browser, client, redirect_uri):
    verifier, challenge = pkce_pair()
    response = browser.get("/authorize?" + urlencode({
        "response_type": "code", "client_id": client.client_id, "redirect_uri": redirect_uri, "scope": "openid",
        "state": "s1", "code_challenge": challenge, "code_challenge_method": "S256"}), follow=False)
    return response, verifier


def _code(response, redirect_uri):
    assert response.status_code == 302, response.get_data(as_text=True)
    location = response.headers["Location"]
    assert location.startswith(redirect_uri + "?"), location
    return parse_qs(urlsplit(location).query)["code"][0]


def _redeem(app, client, code, redirect_uri, verifier):
    return app.test_client().post("/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
        "client_id": client.client_id, "code_verifier": verifier})


@pytest.mark.parametrize("registered, used", [
    ("http://127.0.0.1/callback", "http://127.0.0.1:49152/callback"),
    ("http://127.0.0.1:8080/callback", "http://127.0.0.1:51000/callback"),
    ("http://[::1]/callback", "http://[::1]:49152/callback"),
])
def test_a_native_app_gets_its_code_on_the_port_it_listens_on(app, user, registered, used):
    app_client, _ = clients.create("Mobiili", [registered], public=True, first_party=True)
    browser = signed_in(app, user)
    response, verifier = _authorize(browser, app_client, used)
    tokens = _redeem(app, app_client, _code(response, used), used, verifier)
    assert tokens.status_code == 200 and tokens.get_json()["id_token"]


@pytest.mark.parametrize("used", [
    "http://127.0.0.1:49152/other",        # another path
    "http://127.0.0.1:49152/callback?x=1",  # another query
    "http://localhost:49152/callback",      # a name, not the loopback address
    "http://127.0.0.2:49152/callback",      # another address
    "https://127.0.0.1:49152/callback",     # another scheme
    "http://127.0.0.1:49152/call\tback",    # a tab, which URL parsing would drop
    "http://127.0.0.1:49152/callback\n",
])
def test_only_the_port_of_a_loopback_redirect_may_differ(app, user, used):
    app_client, _ = clients.create("Mobiili", ["http://127.0.0.1/callback"], public=True, first_party=True)
    response, _ = _authorize(signed_in(app, user), app_client, used)
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_web_service_on_loopback_still_needs_the_exact_port(app, user):
    web, _ = clients.create("Kehitys", ["http://127.0.0.1:8000/callback"], first_party=True)
    response, _ = _authorize(signed_in(app, user), web, "http://127.0.0.1:8001/callback")
    assert response.status_code == 400 and "Location" not in response.headers


def test_a_native_app_may_use_a_private_use_scheme(app, user):
    redirect_uri = "fi.kirjasto.app:/oauth2/callback"
    app_client, _ = clients.create("Kirjastosovellus", [redirect_uri], public=True, first_party=True)
    response, verifier = _authorize(signed_in(app, user), app_client, redirect_uri)
    tokens = _redeem(app, app_client, _code(response, redirect_uri), redirect_uri, verifier)
    assert tokens.status_code == 200


@pytest.mark.parametrize("uri, public", [
    ("fi.kirjasto.app:/callback", False),  # a web service has no scheme of its own
    ("kirjasto:/callback", True),          # not named after a domain: apps would collide
    ("fi.kirjasto.app:/callback#x", True),
])
def test_private_use_schemes_are_for_native_apps_named_after_a_domain(app, uri, public):
    with pytest.raises(ValidationFailed):
        clients.create("Sovellus", [uri], public=public)


def test_the_cli_registers_a_native_apps_scheme(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "Kirjastosovellus", "--public",
                                 "--redirect-uri", "fi.kirjasto.app:/callback"])
    assert result.exit_code == 0, result.output
