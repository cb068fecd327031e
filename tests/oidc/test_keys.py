"""Signing keys: published at jwks_uri, rotated without breaking tokens in flight."""
import base64
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from idp.extensions import db
from idp.models import AuditEvent
from idp.oidc import claims as claims_module
from idp.services import clock, identities
from idp.services.keys import KeyStore
from tests.conftest import running_app
from tests.support.browser import Browser
from tests.support.journeys import authorize, tokens_for
from tests.support.rp import POST_LOGOUT_URI, RelyingParty

REPOSITORY = Path(__file__).resolve().parents[2]


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
    [rotated] = db.session.scalars(db.select(AuditEvent).filter_by(event="keys.rotated")).all()
    assert set(rotated.details["kids"]) == published - old_kids and rotated.user_agent.startswith("tunnus-cli")

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


def test_an_id_token_from_before_a_rotation_still_hints_and_logs_out_while_its_session_lasts(app, runner, browser,
                                                                                            rp, user):
    tokens = tokens_for(browser, rp, user)
    assert runner.invoke(args=["keys", "rotate"]).exit_code == 0
    clock.advance(app.config["IDP_KEY_PUBLISH_DELAY"] + app.config["IDP_ID_TOKEN_TTL"] + 60)
    assert _header_kid(tokens["id_token"]) not in _kids(rp)  # its key has left the JWK Set

    browser.get(rp.authorize_url(prompt="none", id_token_hint=tokens["id_token"]))
    assert "code" in rp.callback_params(browser.url)  # the session is still on, and the hint names its person
    browser.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI,
                                        "state": "bye"}))
    assert browser.url.startswith(POST_LOGOUT_URI) and "state=bye" in browser.url
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"


def test_keys_list_says_when_each_key_starts_or_stops_signing(app, runner):
    clock.advance(app.config["IDP_KEY_PUBLISH_DELAY"] + 1)  # any rotation before has taken effect
    rotated = json.loads(runner.invoke(args=["keys", "rotate", "--json"]).output)
    switch = rotated[0]["signs_from"]
    lines = {line.split()[1]: line for line in runner.invoke(args=["keys", "list"]).output.splitlines()}
    for key in rotated:
        assert lines.pop(key["kid"]).endswith(f" published, signs from {switch}")
    signing_now = [line for line in lines.values() if " signing, stops signing at " in line]
    assert len(signing_now) == len(rotated) and all(line.endswith(switch) for line in signing_now)

    clock.advance(app.config["IDP_KEY_PUBLISH_DELAY"] + 1)
    lines = {line.split()[1]: line for line in runner.invoke(args=["keys", "list"]).output.splitlines()}
    assert all(lines[key["kid"]].endswith(" signing") for key in rotated)
    assert sum(line.endswith(f" published, stopped signing at {switch}") for line in lines.values()) == len(rotated)


def test_a_json_file_in_the_keys_folder_that_is_no_key_is_left_out_with_a_warning(app, runner, browser, rp, user,
                                                                                   keys_dir, caplog):
    """A client's JWK Set copied there, an empty file, a key file edited by hand: before,
    each stopped every command (`tunnus keys rotate` too) and every request signing or
    publishing keys with a 500."""
    published = _kids(rp)
    strays = {Path(keys_dir) / name: text for name, text in (
        ("client-jwks.json", '{"keys": []}'), ("empty.json", ""),
        ("edited.json", json.dumps({"jwk": json.loads((next(Path(keys_dir).glob("*.json"))).read_text())["jwk"],
                                    "alg": "RS256", "activates_at": "now", "retired_at": None})))}
    try:
        for path, text in strays.items():
            path.write_text(text)
        time.sleep(1.1)  # the folder is looked at once a second
        with caplog.at_level(logging.WARNING, logger="idp.services.keys"):
            listed = runner.invoke(args=["keys", "list"])
            assert _kids(rp) == published and tokens_for(browser, rp, user)["id_token"]
        assert listed.exit_code == 0 and {line.split()[1] for line in listed.output.splitlines()} >= published
        for path in strays:
            assert f"{path} is no signing key of Tunnus's, left out" in caplog.text
    finally:
        for path in strays:
            path.unlink(missing_ok=True)


@pytest.fixture
def own_keys_app(base_config, migrated, tmp_path):
    """An app with a keys folder of its own: a rotation here leaves the session's keys alone."""
    folder = tmp_path / "keys"
    KeyStore(str(folder), 900, 3600).rotate()
    with running_app(dict(base_config, IDP_KEYS_DIR=str(folder))) as app:
        yield app


def test_an_id_token_made_as_a_new_key_begins_signing_is_signed_by_the_key_its_header_names(own_keys_app,
                                                                                            monkeypatch):
    """A request under way as the second turns in which a rotated key begins signing.
    Before, the header named the old key and the new one signed: no service could verify it."""
    app = own_keys_app
    user = identities.create("maija@example.fi", "correct horse battery staple", "Maija", verified=True)
    user.test_password = "correct horse battery staple"
    rp = RelyingParty.register(app, name="Kirjasto")
    browser = Browser(app)
    assert app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0
    switch = app.extensions["idp.keys"].signing_key("RS256").retired_at
    jwks = KeySet.import_key_set(rp.http.get("/jwks").get_json())
    clock.advance(app.config["IDP_KEY_PUBLISH_DELAY"] - 60)
    callback = authorize(browser, rp, user)
    clock.advance(switch - 1 + 0.05 - (time.time() + clock._offset.total_seconds()))  # its last second
    claims_for = claims_module.for_grant

    def a_second_later(*args, **kwargs):  # the second turns while the claims are read
        clock.advance(1)
        return claims_for(*args, **kwargs)

    monkeypatch.setattr(claims_module, "for_grant", a_second_later)
    id_token = rp.redeem(callback["code"]).get_json()["id_token"]
    header = id_token.split(".")[0]
    kid = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]
    jws.deserialize_compact(id_token, jwks.get_by_kid(kid), algorithms=["RS256", "ES256"])


SERVER_USER = 65534  # nobody
READ_KEYS = f"""
import sys
sys.path.insert(0, {str(REPOSITORY)!r})
from idp.services.keys import KeyStore
store = KeyStore(sys.argv[1], 900, 3600)
store.signing_key("RS256"); store.signing_key("ES256"); print(len(store.public_jwks()["keys"]))
"""


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_keys_rotated_under_sudo_stay_readable_by_the_servers_user(base_config, migrated):
    """Before, `sudo tunnus keys rotate` left every key file root's, 0600: at its next look
    at the folder, every instance could read no key (503 at /token and /jwks)."""
    folder = Path(tempfile.mkdtemp(prefix="tunnus-keys-"))  # /tmp: the server's user may enter it
    os.chmod(folder, 0o755)
    os.chown(folder, SERVER_USER, SERVER_USER)

    def as_server(code):
        return subprocess.run(["setpriv", f"--reuid={SERVER_USER}", f"--regid={SERVER_USER}", "--clear-groups",
                               sys.executable, "-c", code, str(folder)], capture_output=True, text=True)

    try:
        made = as_server(f"import sys; sys.path.insert(0, {str(REPOSITORY)!r}); "
                         "from idp.services.keys import KeyStore; KeyStore(sys.argv[1], 900, 3600).rotate()")
        if any(cause in made.stderr for cause in ("ModuleNotFoundError", "PermissionError", "Permission denied")):
            pytest.skip(f"the server's user cannot read this checkout: {made.stderr[-200:]}")
        assert made.returncode == 0, made.stderr
        with running_app(dict(base_config, IDP_KEYS_DIR=str(folder))) as app:
            assert app.test_cli_runner().invoke(args=["keys", "rotate"]).exit_code == 0  # as root
        after = as_server(READ_KEYS)
        assert after.returncode == 0 and after.stdout.strip() == "4", after.stderr[-600:]
        assert {p.stat().st_uid for p in folder.glob("*.json")} == {SERVER_USER}
    finally:
        shutil.rmtree(folder)
