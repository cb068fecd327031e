"""The client_credentials token and its introspection, answered before Flask: the same
answers as Flask gives, and only for requests that succeed; every other request reaches
the views and gets their answer."""
import base64
import json
import re
import threading
import time

import pytest
import sqlalchemy as sa
from joserfc import jwt
from joserfc.jwk import ECKey
from werkzeug.test import EnvironBuilder

from idp.extensions import db
from idp.oidc.fast_path import FastPath
from tests.support.rp import DPoPKey, RelyingParty

PASSED_ON = 599


@pytest.fixture
def fast(app, machine):
    """The fast path, with Flask behind it recording what it was passed; `machine` known to
    it (ask for this fixture last: registering another client empties the client cache)."""
    _known(machine)
    layer = app.wsgi_app
    assert isinstance(layer, FastPath)
    flask_app, layer.passed = layer.wsgi_app, []

    def recorder(environ, start_response):
        layer.passed.append(environ["PATH_INFO"])
        start_response(f"{PASSED_ON} Passed On", [])
        return [b""]

    layer.wsgi_app = recorder
    yield layer
    layer.wsgi_app = flask_app


@pytest.fixture
def machine(app):
    return _known(RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"]))


@pytest.fixture
def other_machine(app):
    return RelyingParty.register(app, name="Toinen", grant_types=["client_credentials"])


def _known(machine):
    """The machine after its first token request, which Flask answers and which puts the
    client in this process's client cache: the fast path answers only clients held there."""
    assert machine.token_request(grant_type="client_credentials").status_code == 200
    return machine


def _basic(client_id, secret):
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def _token(machine):
    return machine.token_request(grant_type="client_credentials").get_json()["access_token"]


def test_answers_equal_flasks(app, machine):
    fast = app.wsgi_app
    answered_first = machine.token_request(grant_type="client_credentials", scope="organizations")
    fast.answers, answers = {}, fast.answers  # now everything goes to Flask
    try:
        by_flask = machine.token_request(grant_type="client_credentials", scope="organizations")
        flask_token = by_flask.get_json()["access_token"]
        introspected_by_flask = machine.introspect(flask_token)
    finally:
        fast.answers = answers
    first_token = answered_first.get_json()["access_token"]
    introspected_first = machine.introspect(first_token)

    for ours, theirs in ((answered_first, by_flask), (introspected_first, introspected_by_flask)):
        assert ours.status_code == theirs.status_code == 200
        assert sorted(ours.headers.keys()) == sorted(theirs.headers.keys())
        for name in ("Content-Type", "Cache-Control", "Pragma", "X-Frame-Options", "Referrer-Policy"):
            assert ours.headers[name] == theirs.headers[name]
        assert ours.get_json().keys() == theirs.get_json().keys()
    assert {k: v for k, v in answered_first.get_json().items() if k != "access_token"} == \
        {k: v for k, v in by_flask.get_json().items() if k != "access_token"}
    ours, theirs = (jwt.decode(t, machine.jwks(), algorithms=["ES256"]) for t in (first_token, flask_token))
    assert ours.header == theirs.header and ours.claims.keys() == theirs.claims.keys()
    assert ours.claims["scope"] == "organizations" and ours.claims["sub"] == machine.client_id
    unchanging = ("active", "client_id", "sub", "aud", "iss", "scope", "token_type")
    assert {k: introspected_first.get_json()[k] for k in unchanging} == \
        {k: introspected_by_flask.get_json()[k] for k in unchanging}


def test_succeeding_requests_are_answered_before_flask(machine, fast):
    token_response = machine.token_request(grant_type="client_credentials")
    assert token_response.status_code == 200
    token = token_response.get_json()["access_token"]
    assert machine.token_request(auth="post", grant_type="client_credentials").status_code == 200
    assert machine.introspect(token).get_json()["active"] is True
    assert machine.introspect(token, token_type_hint="access_token").status_code == 200
    assert fast.passed == []


def _in_a_server_thread(layer, path, form, headers) -> tuple[str, dict]:
    """Calls the layer as a server's thread does: in a thread of its own, outside the
    test's app context (context variables do not follow a new thread)."""
    environ = EnvironBuilder(path=path, method="POST", data=form, headers=headers).get_environ()
    answer = {}

    def call():
        body = b"".join(layer(environ, lambda status, _headers: answer.update(status=status)))
        answer["body"] = json.loads(body)

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(10)
    return answer["status"], answer["body"]


def test_a_server_thread_gets_both_answers_without_an_app_context(machine, fast):
    auth = _basic(machine.client_id, machine.secret)
    status, token = _in_a_server_thread(fast, "/token", {"grant_type": "client_credentials"}, auth)
    assert status == "200 OK" and token["token_type"] == "Bearer"
    status, introspected = _in_a_server_thread(fast, "/introspect", {"token": token["access_token"]}, auth)
    assert status == "200 OK" and introspected["active"] is True
    assert fast.passed == []


@pytest.fixture
def passes(app):
    """The paths the fast path passed on to Flask, which still answers them."""
    layer = app.wsgi_app
    flask_app, seen = layer.wsgi_app, []

    def forward(environ, start_response):
        seen.append(environ["PATH_INFO"])
        return flask_app(environ, start_response)

    layer.wsgi_app = forward
    yield seen
    layer.wsgi_app = flask_app


def test_a_client_authenticating_with_an_assertion_is_answered_by_flask_every_time(app, passes):
    key = ECKey.generate_key("P-256", auto_kid=True)
    signer = RelyingParty.register(app, name="Avain", grant_types=["client_credentials"], key=key)
    # The second request comes from a client the fast path holds in its cache.
    answers = [signer.token_request(grant_type="client_credentials") for _ in range(2)]
    assert [a.status_code for a in answers] == [200] * 2
    assert signer.introspect(answers[1].get_json()["access_token"]).get_json()["active"] is True
    assert passes == ["/token", "/token", "/introspect"]


def test_a_client_not_held_yet_is_answered_by_flask_then_before_it(app, passes):
    newcomer = RelyingParty.register(app, name="Uusi", grant_types=["client_credentials"])
    answers = [newcomer.token_request(grant_type="client_credentials") for _ in range(3)]
    assert [a.status_code for a in answers] == [200] * 3
    assert passes == ["/token"]


def test_an_unknown_client_is_looked_up_once(app, machine):
    with app.app_context():
        engine = db.engine
    statements = []

    def seen(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        answer = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                   headers=_basic("no-such-client", "guess"))
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert answer.status_code == 401 and answer.get_json()["error"] == "invalid_client"
    assert len([s for s in statements if "FROM clients" in s]) == 1


def test_anything_else_is_passed_to_flask(machine, other_machine, rp, fast):
    token = _token(machine)
    fast.passed.clear()
    refused = [
        machine.http.post("/token", data={"grant_type": "client_credentials"},
                          headers=_basic(machine.client_id, "wrong")),
        machine.http.post("/token", data={"grant_type": "client_credentials"}, headers=_basic("unknown", "x")),
        machine.http.post("/token", data={"grant_type": "client_credentials"}),
        machine.http.post("/token", data={"grant_type": "client_credentials", "client_id": machine.client_id,
                                          "client_secret": machine.secret}, headers=_basic(machine.client_id,
                                                                                            machine.secret)),
        machine.token_request(grant_type="client_credentials", scope="openid"),
        machine.token_request(grant_type="client_credentials", scope="everything"),
        machine.token_request(grant_type="client_credentials", resource="https://api.example.fi"),
        machine.http.post("/token", data="grant_type=client_credentials&grant_type=client_credentials",
                          content_type="application/x-www-form-urlencoded",
                          headers=_basic(machine.client_id, machine.secret)),
        machine.http.post("/token", json={"grant_type": "client_credentials"},
                          headers=_basic(machine.client_id, machine.secret)),
        machine.token_request(grant_type="refresh_token", refresh_token="x"),
        rp.token_request(grant_type="client_credentials"),  # not registered for it
        other_machine.introspect(token),  # not its token
        machine.introspect(token, token_type_hint="refresh_token"),
        machine.introspect("not-a-token"),
        machine.http.post("/token", data={"grant_type": "client_credentials"},
                          headers={"Authorization": "Basic %%%"}),
    ]
    assert [r.status_code for r in refused] == [PASSED_ON] * len(refused)
    assert len(fast.passed) == len(refused)


def test_a_token_request_with_a_dpop_proof_is_passed_to_flask(machine, fast):
    response = machine.token_request(grant_type="client_credentials", dpop=DPoPKey())
    assert response.status_code == PASSED_ON and fast.passed == ["/token"]


def test_a_client_that_must_bind_its_tokens_is_refused_a_bearer_token(app, machine):
    from idp.models import Client
    from idp.services import clients

    clients.set_dpop_required(Client.by_client_id(machine.client_id), True)
    for _ in range(2):  # the first request, refused by the views, puts the client in the cache
        refused = machine.token_request(grant_type="client_credentials")
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_dpop_proof"


def test_a_bound_tokens_introspection_names_its_key_before_flask_too(machine, passes):
    key = DPoPKey()
    token = machine.token_request(grant_type="client_credentials", dpop=key).get_json()["access_token"]
    info = machine.introspect(token).get_json()
    assert info["active"] is True and info["token_type"] == "DPoP" and info["cnf"] == {"jkt": key.jkt}
    assert passes == ["/token"]  # the token by Flask (RFC 9449 §5), its introspection before it


def test_flask_answers_what_is_passed_on(machine, other_machine):
    token = _token(machine)
    wrong = machine.http.post("/token", data={"grant_type": "client_credentials"},
                              headers=_basic(machine.client_id, "wrong"))
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    user_scope = machine.token_request(grant_type="client_credentials", scope="openid")
    assert user_scope.status_code == 400 and user_scope.get_json()["error"] == "invalid_scope"
    assert other_machine.introspect(token).get_json() == {"active": False}
    assert machine.introspect(token, token_type_hint="refresh_token").get_json()["active"] is True


def test_a_revoked_token_is_inactive_at_once(machine):
    token = _token(machine)
    assert machine.introspect(token).get_json()["active"] is True
    assert machine.revoke(token).status_code == 200
    assert machine.introspect(token).get_json() == {"active": False}


def test_the_access_line_and_request_id(app, machine, caplog, capfd):
    caplog.set_level("INFO", logger="tunnus.access")  # the migrations' logging.ini made it WARNING
    response = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                 headers={**_basic(machine.client_id, machine.secret),
                                          "X-Request-ID": "lb-request-0001"})
    assert response.headers["X-Request-ID"] == "lb-request-0001"
    written, deadline = "", time.monotonic() + 5
    while " tunnus.access " not in written and time.monotonic() < deadline:  # lines go out in batches
        time.sleep(0.05)
        written += capfd.readouterr().err
    line = [line for line in written.splitlines() if " tunnus.access " in line][-1]
    assert re.search(r'INFO tunnus\.access \[lb-request-0001\] 127\.0\.0\.1 "POST /token" 200 [\d.]+ms$', line)
    assert json.loads(response.data)["token_type"] == "Bearer"
