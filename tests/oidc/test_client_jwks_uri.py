"""A private_key_jwt client whose public keys Tunnus reads from its jwks_uri: read once and
kept, read again when an assertion names a new key (rotation without a restart), but never
more often than IDP_CLIENT_JWKS_REFETCH_INTERVAL, whatever kids the requests name."""
import json
import threading
import time

import pytest
from joserfc.jwk import ECKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from idp.models import AuditEvent
from idp.services import clock
from tests.support.raw_http import RawAnswers
from tests.support.rp import RelyingParty


class KeysServer:
    """A relying service's jwks_uri on a real port: serves the keys given to `publish`,
    after `delay` seconds; counts its reads."""

    def __init__(self, *keys, delay=0.0):
        self.publish(*keys)
        self.delay = delay
        self.reads = 0
        self.server = make_server("127.0.0.1", 0, self._app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}/jwks.json"

    @Request.application
    def _app(self, request):
        self.reads += 1
        time.sleep(self.delay)
        return Response(json.dumps({"keys": self.jwks}), content_type="application/jwk-set+json")

    def publish(self, *keys, private=False):
        self.jwks = [key.as_dict(private=private) for key in keys]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def old_key():
    return ECKey.generate_key("P-256", auto_kid=True)


@pytest.fixture
def published(old_key):
    server = KeysServer(old_key)
    yield server
    server.stop()


@pytest.fixture
def machine(app, published, old_key):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=old_key,
                                 jwks_uri=published.url)


def _token(machine, key=None):
    return machine.token_request(grant_type="client_credentials", client_assertion=machine.assertion(key=key))


def test_keys_are_read_once_and_a_rotated_key_is_picked_up(app, machine, published, old_key):
    assert [_token(machine).status_code for _ in range(3)] == [200, 200, 200]
    assert published.reads == 1

    new_key = ECKey.generate_key("P-256", auto_kid=True)
    published.publish(old_key, new_key)  # the service adds its next key, then signs with it
    clock.advance(app.config["IDP_CLIENT_JWKS_REFETCH_INTERVAL"])
    assert _token(machine, new_key).status_code == 200
    assert published.reads == 2
    published.publish(new_key)
    assert _token(machine, new_key).status_code == 200 and published.reads == 2


def test_unknown_kids_read_the_keys_again_at_most_once_an_interval(app, machine, published):
    assert _token(machine).status_code == 200
    strangers = [_token(machine, ECKey.generate_key("P-256", auto_kid=True)) for _ in range(5)]
    assert [answer.status_code for answer in strangers] == [401] * 5
    assert {e.details["reason"][:35] for e in AuditEvent.query.filter_by(event="client.assertion_refused")} == {
        "none of the client's keys has the k"}
    assert published.reads == 1  # read for the first request; the interval had not passed since
    clock.advance(app.config["IDP_CLIENT_JWKS_REFETCH_INTERVAL"])
    assert _token(machine, ECKey.generate_key("P-256", auto_kid=True)).status_code == 401
    assert _token(machine, ECKey.generate_key("P-256", auto_kid=True)).status_code == 401
    assert published.reads == 2


def test_keys_are_read_again_when_they_have_been_kept_long_enough(app, machine, published):
    assert _token(machine).status_code == 200
    clock.advance(app.config["IDP_CLIENT_JWKS_CACHE_TTL"])
    assert _token(machine).status_code == 200 and published.reads == 2


def test_a_jwks_uri_too_slow_to_answer_is_invalid_client_and_the_keys_read_before_stay(app, machine, published):
    app.config["IDP_CLIENT_JWKS_TIMEOUT"] = 1
    published.delay = 3
    started = time.monotonic()
    response = _token(machine)
    assert time.monotonic() - started < 2.5
    reason = AuditEvent.query.filter_by(event="client.assertion_refused").one().details["reason"]
    assert response.status_code == 401 and "keys could not be read from its jwks_uri" in reason
    assert "timed out" not in reason  # what happened at the client's own URL is only logged
    published.delay = 0
    assert _token(machine).status_code == 401  # not read again before the interval
    clock.advance(app.config["IDP_CLIENT_JWKS_REFETCH_INTERVAL"])
    assert _token(machine).status_code == 200


def test_private_keys_published_at_the_jwks_uri_are_not_used(app, machine, published, old_key, caplog):
    published.publish(old_key, private=True)
    response = _token(machine)
    assert response.status_code == 401
    assert "could not be read" in AuditEvent.query.filter_by(event="client.assertion_refused").one().details["reason"]
    assert "holds private parts" in caplog.text  # told to the operator, in the log


BROKEN_ANSWERS = {
    "no HTTP": b"garbage\r\n\r\n",
    "HTTP/2 status line": b"HTTP/2.0 200 OK\r\n\r\n",
    "bad chunk size": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    "closed in a chunk": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n{\"keys\"",
    "150 headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: a\r\n" % i for i in range(150)) + b"\r\n{}",
    "header line of 70 kB": b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000 + b"\r\n\r\n",
}


@pytest.mark.parametrize("answer", BROKEN_ANSWERS.values(), ids=list(BROKEN_ANSWERS))
def test_a_jwks_uri_answering_what_is_no_http_is_invalid_client_read_once_an_interval(app, old_key, answer):
    """Before, each was a 500 with no audit record, and the URI was read again at every
    request: anyone naming the client in an assertion made Tunnus read it."""
    broken = RawAnswers(answer)
    try:
        machine = RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=old_key,
                                        jwks_uri=broken.url("/jwks.json"))
        assert [_token(machine).status_code for _ in range(3)] == [401] * 3
    finally:
        broken.stop()
    reasons = {e.details["reason"] for e in AuditEvent.query.filter_by(event="client.assertion_refused")}
    assert reasons == {"the client's keys could not be read from its jwks_uri"} and len(broken.requests) == 1


def test_keys_read_before_stay_in_use_when_the_answer_breaks_off(app, old_key):
    """The service restarting as its keys are read: its clients go on with those read
    before (README). Before, each of their requests was a 500."""
    body = json.dumps({"keys": [old_key.as_dict(private=False)]}).encode()
    keys = RawAnswers(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    try:
        machine = RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"], key=old_key,
                                        jwks_uri=keys.url("/jwks.json"))
        assert _token(machine).status_code == 200
        keys.answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % len(body) + body[:20]
        clock.advance(app.config["IDP_CLIENT_JWKS_CACHE_TTL"])
        assert [_token(machine).status_code for _ in range(2)] == [200, 200]
    finally:
        keys.stop()
    assert len(keys.requests) == 2
