"""Signing keys: published at jwks_uri, rotated without breaking tokens in flight."""

from idp.services import clock
from tests.support.journeys import tokens_for


def _kids(rp):
    return {key["kid"] for key in rp.http.get("/jwks").get_json()["keys"]}


def test_jwks_publishes_public_rs256_and_es256_keys_only(rp):
    keys = rp.http.get("/jwks").get_json()["keys"]
    assert {k["alg"] for k in keys} >= {"RS256", "ES256"}
    for key in keys:
        assert "d" not in key and "p" not in key and key["use"] == "sig" and key["kid"]


def test_rotation_publishes_before_signing_and_keeps_old_keys_until_tokens_expire(app, runner, browser, rp, user):
    before = tokens_for(browser, rp, user)
    old_kids = _kids(rp)

    result = runner.invoke(args=["keys", "rotate", "--json"])
    assert result.exit_code == 0, result.output
    published = _kids(rp)
    assert old_kids < published  # new keys are published at once...

    during = tokens_for(browser, rp, user)
    assert rp.verify_id_token(during["id_token"])  # ...but the old ones still sign
    assert _header_kid(during["id_token"]) in old_kids

    clock.advance(app.config["IDP_KEY_PUBLISH_DELAY"] + 1)
    after = tokens_for(browser, rp, user)
    assert _header_kid(after["id_token"]) in published - old_kids
    for tokens in (before, during, after):
        assert rp.verify_id_token(tokens["id_token"])["sub"] == user.sub

    clock.advance(app.config["IDP_ID_TOKEN_TTL"] + 1)
    assert old_kids.isdisjoint(_kids(rp))  # retired keys leave once their tokens have expired
    assert rp.verify_id_token(tokens_for(browser, rp, user)["id_token"])


def _header_kid(token):
    import base64
    import json

    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
