"""Discovery document: what a relying service reads to configure itself."""


def test_discovery_describes_the_provider(rp):
    response = rp.http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    meta = response.get_json()
    assert meta["issuer"] == "http://localhost"
    for name in ("authorization", "token", "userinfo", "revocation", "introspection", "end_session"):
        assert meta[f"{name}_endpoint"].startswith("http://localhost/")
    assert meta["jwks_uri"] == "http://localhost/jwks"
    assert meta["response_types_supported"] == ["code"]
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert meta["authorization_response_iss_parameter_supported"] is True
    assert set(meta["scopes_supported"]) == {"openid", "profile", "email", "offline_access", "organizations"}
    assert "RS256" in meta["id_token_signing_alg_values_supported"]


def test_every_advertised_endpoint_exists(rp):
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    for key, url in meta.items():
        if key.endswith("_endpoint") or key == "jwks_uri":
            path = url.removeprefix("http://localhost")
            assert rp.http.get(path).status_code != 404, key


def test_userinfo_is_not_advertised_as_a_signed_jwt(rp):
    # Discovery 1.0 §3: that list names algorithms for userinfo answered as a JWT; Tunnus
    # answers application/json only.
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    assert "userinfo_signing_alg_values_supported" not in meta
