"""The demo relying service (clients/demo) configured with a private key instead of a
secret (DEMO_PRIVATE_KEY): it signs in a person and refreshes their tokens, proving
itself to Tunnus, served over real HTTP, with a fresh client assertion each time."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from joserfc.jwk import ECKey

from clients.demo.app import create_app as create_demo_app, load_settings
from idp.models import UsedAssertion
from idp.services import clients
from tests.support.browser import Browser
from tests.support.journeys import sign_in

DEMO = "http://127.0.0.1:5001"


@pytest.mark.parametrize("par", [False, True], ids=["redirect", "pushed"])
def test_the_demo_signs_in_and_refreshes_with_its_private_key(app, live_server, user, tmp_path, monkeypatch, par):
    key = ECKey.generate_key("P-256")
    client, secret = clients.create("Demopalvelu", [f"{DEMO}/callback"], [f"{DEMO}/"], first_party=True,
                                    jwks={"keys": [key.as_dict(private=False)]}, require_par=par)
    assert secret is None
    key_file = tmp_path / "demo-key.json"
    key_file.write_text(json.dumps(key.as_dict(private=True)))
    monkeypatch.setenv("DEMO_CONFIG", str(tmp_path / "absent.json"))
    monkeypatch.setenv("DEMO_ISSUER", live_server)
    monkeypatch.setenv("DEMO_CLIENT_ID", client.client_id)
    monkeypatch.setenv("DEMO_PRIVATE_KEY", str(key_file))
    monkeypatch.setenv("DEMO_PAR", "1" if par else "0")
    demo = create_demo_app(load_settings()).test_client()

    to_tunnus = urlsplit(demo.get("/login").headers["Location"])
    if par:  # the request went to /par signed with an assertion too (RFC 9126 §2)
        assert set(parse_qs(to_tunnus.query)) == {"client_id", "request_uri"}
    browser = Browser(app)
    browser.get(f"{to_tunnus.path}?{to_tunnus.query}")
    sign_in(browser, user.email, user.test_password)
    back = urlsplit(browser.url)
    assert f"{back.scheme}://{back.netloc}{back.path}" == f"{DEMO}/callback"

    assert demo.get(f"/callback?{back.query}").status_code == 302
    page = demo.get("/").get_data(as_text=True)
    assert user.email in page
    assert demo.post("/refresh").status_code == 302
    assert "Tokens refreshed" in demo.get("/").get_data(as_text=True)
    assert UsedAssertion.query.count() == 2 + par  # the push, the code exchange and the refresh
