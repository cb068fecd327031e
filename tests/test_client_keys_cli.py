"""`tunnus clients create --auth private_key_jwt` and `tunnus clients keys`: a relying
service registered with its public keys (a file, or the URL it publishes them at), never a
private key or a shared one, and its keys changed while Tunnus runs."""
import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc.jwk import ECKey, OctKey, RSAKey

from idp.models import AuditEvent, Client
from tests.support.rp import RelyingParty

CREATE = ["clients", "create", "--name", "Integraatio", "--grant-type", "client_credentials"]


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", auto_kid=True)


def _rsa_1024() -> dict:
    # Made without joserfc, which warns about such a short key.
    numbers = rsa.generate_private_key(65537, 1024).public_key().public_numbers()
    return {"kty": "RSA", "e": "AQAB",
            "n": base64.urlsafe_b64encode(numbers.n.to_bytes(128, "big")).rstrip(b"=").decode()}


def _file(tmp_path, value, name="jwks.json"):
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return str(path)


def _created(runner, *args):
    result = runner.invoke(args=[*CREATE, *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_client_registered_with_its_public_key_has_no_secret_and_authenticates_with_it(app, runner, tmp_path, key):
    data = _created(runner, "--auth", "private_key_jwt", "--jwks-file", _file(tmp_path, key.as_dict(private=False)))
    assert data["client_secret"] is None and data["token_endpoint_auth_method"] == "private_key_jwt"
    client = Client.by_client_id(data["client_id"])
    assert client.secret_hash is None and client.jwks == {"keys": [key.as_dict(private=False)]}
    machine = RelyingParty(app, client, None, key)
    assert machine.token_request(grant_type="client_credentials").status_code == 200

    by_uri = _created(runner, "--auth", "private_key_jwt", "--jwks-uri", "https://integraatio.example/jwks.json")
    secret = _created(runner)
    listed = json.loads(runner.invoke(args=["clients", "list", "--json"]).output)
    assert [(c["client_id"], c["token_endpoint_auth_method"], c["jwks"], c["jwks_uri"]) for c in listed] == [
        (data["client_id"], "private_key_jwt", {"keys": [key.as_dict(private=False)]}, None),  # before, left out
        (by_uri["client_id"], "private_key_jwt", None, "https://integraatio.example/jwks.json"),
        (secret["client_id"], "client_secret_basic", None, None)]
    assert "\tprivate_key_jwt" in runner.invoke(args=["clients", "list"]).output
    text = runner.invoke(args=[*CREATE, "--auth", "private_key_jwt", "--jwks-uri", "https://x.example/k"]).output
    assert "client_secret" not in text and "aud: http://localhost" in text


@pytest.mark.parametrize("jwk, refusal", [
    (lambda: RSAKey.generate_key(2048).as_dict(private=True), "holds private parts (d, dp, dq, p, q, qi)"),
    (lambda: ECKey.generate_key("P-256").as_dict(private=True), "holds private parts (d)"),
    (lambda: OctKey.generate_key(256).as_dict(), "holds private parts (k)"),
    (lambda: ECKey.generate_key("P-384").as_dict(private=False), "an EC key must be on the curve P-256"),
    (lambda: _rsa_1024(), "at least 2048 bits"),
    (lambda: {**ECKey.generate_key("P-256").as_dict(private=False), "use": "enc"}, "a key for signing"),
    (lambda: {**ECKey.generate_key("P-256").as_dict(private=False), "alg": "HS256"}, "a key for signing"),
    (lambda: {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}, "is not a valid JWK"),
])
def test_a_private_symmetric_or_unusable_key_is_refused(app, runner, tmp_path, jwk, refusal):
    result = runner.invoke(args=[*CREATE, "--auth", "private_key_jwt", "--jwks-file", _file(tmp_path, jwk())])
    assert result.exit_code != 0 and refusal in result.output
    assert Client.query.count() == 0


def test_keys_go_with_private_key_jwt_only(app, runner, tmp_path, key):
    jwks = _file(tmp_path, {"keys": [key.as_dict(private=False)]})
    assert "give the client's public keys" in runner.invoke(args=[*CREATE, "--auth", "private_key_jwt"]).output
    assert "go with --auth private_key_jwt" in runner.invoke(args=[*CREATE, "--jwks-file", jwks]).output
    both = runner.invoke(args=[*CREATE, "--auth", "private_key_jwt", "--jwks-file", jwks, "--jwks-uri", "https://a.b/"])
    assert "one of them" in both.output
    public = runner.invoke(args=["clients", "create", "--name", "Sovellus", "--public", "--redirect-uri",
                                 "fi.sovellus.app:/cb", "--auth", "private_key_jwt", "--jwks-file", jwks])
    assert "exclude each other" in public.output
    plain = runner.invoke(args=[*CREATE, "--auth", "private_key_jwt", "--jwks-uri", "http://keys.example/jwks"])
    assert plain.exit_code != 0 and "use https" in plain.output
    assert Client.query.count() == 0


def test_a_clients_keys_change_and_the_next_request_uses_the_new_ones(app, runner, tmp_path, key):
    data = _created(runner, "--auth", "private_key_jwt", "--jwks-file", _file(tmp_path, key.as_dict(private=False)))
    machine = RelyingParty(app, Client.by_client_id(data["client_id"]), None, key)
    assert machine.token_request(grant_type="client_credentials").status_code == 200  # now in the client cache

    new_key = ECKey.generate_key("P-256", auto_kid=True)
    result = runner.invoke(args=["clients", "keys", "--client-id", data["client_id"], "--jwks-file",
                                 _file(tmp_path, {"keys": [new_key.as_dict(private=False)]}), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["jwks"] == {"keys": [new_key.as_dict(private=False)]}
    assert machine.token_request(grant_type="client_credentials").status_code == 401
    machine.key = new_key
    assert machine.token_request(grant_type="client_credentials").status_code == 200
    event = AuditEvent.query.filter_by(event="client.keys_changed").one()
    assert event.client_id == data["client_id"] and event.details["kids"] == [new_key.kid]


def test_a_client_with_a_secret_gives_it_up_for_keys_only_when_told(app, runner, tmp_path, key):
    machine = RelyingParty.register(app, name="Vanha", grant_types=["client_credentials"])
    keys = ["clients", "keys", "--client-id", machine.client_id, "--jwks-file", _file(tmp_path, key.as_dict(private=True))]
    kept = runner.invoke(args=keys)
    assert kept.exit_code != 0 and "authenticates with a client secret" in kept.output
    refused = runner.invoke(args=[*keys, "--replace-secret"])
    assert refused.exit_code != 0 and "holds private parts" in refused.output
    assert machine.token_request(grant_type="client_credentials").status_code == 200

    keys[-1] = _file(tmp_path, key.as_dict(private=False))

    assert runner.invoke(args=[*keys, "--replace-secret"]).exit_code == 0
    assert machine.token_request(grant_type="client_credentials").status_code == 401
    machine.key = key
    assert machine.token_request(grant_type="client_credentials").status_code == 200
    assert "no client 'nobody'" in runner.invoke(args=["clients", "keys", "--client-id", "nobody", "--jwks-uri",
                                                       "https://a.b/"]).output


@pytest.mark.parametrize("written, refusal", [
    # Python reads NaN and 1e400, and PostgreSQL's json refused to store them (a traceback there)
    (lambda jwk: json.dumps({**jwk, "x5": float("nan")}), "not JSON: NaN is not a JSON number"),
    (lambda jwk: json.dumps(jwk)[:-1] + ', "x5": 1e400}', "not JSON: 1e400 is beyond the range of a number"),
    (lambda jwk: "[" * 100_000, "not JSON: nested too deeply"),
    (lambda jwk: json.dumps({"keys": [{k: v for k, v in jwk.items() if k != "kid"}] * 2}),
     "key 2: give each key a kid, or the keys could not be told apart"),
])
def test_a_keys_file_python_reads_but_no_one_should_is_refused(app, runner, tmp_path, key, written, refusal):
    path = tmp_path / "jwks.json"
    path.write_text(written(key.as_dict(private=False)))
    result = runner.invoke(args=[*CREATE, "--auth", "private_key_jwt", "--jwks-file", str(path)])
    assert result.exit_code != 0 and refusal in result.output, result.output
    assert isinstance(result.exception, SystemExit)
    assert Client.query.count() == 0
