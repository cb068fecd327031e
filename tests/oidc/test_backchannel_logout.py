"""OIDC Back-Channel Logout 1.0: when a session ends, each relying service that got tokens
in it and registered a back-channel logout URI receives a signed logout token, over real
HTTP, retried after a failure, without holding up the person who logged out."""
from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa
from joserfc import jwt

from idp.extensions import db
from idp.models import AuditEvent, LoginSession, LogoutNotification
from idp.services import backchannel, clients, clock
from tests.support.browser import Browser
from tests.support.journeys import sign_in, tokens_for
from tests.support.kiosk import building, pin_login, resident
from tests.support.logout_receiver import LogoutReceiver
from tests.support.raw_http import RawAnswers
from tests.support.races import at_once, barrier_after, clone, post, row_locks
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty

EVENT = "http://schemas.openid.net/event/backchannel-logout"


@pytest.fixture
def receivers():
    started = []

    def start(**options):
        started.append(LogoutReceiver(**options))
        return started[-1]

    yield start
    backchannel.wait()  # no delivery thread may outlive the test's database
    for receiver in started:
        receiver.stop()


def _listening_rp(app, uri, name="Kirjasto"):
    client, secret = clients.create(name, [REDIRECT_URI], [POST_LOGOUT_URI], backchannel_logout_uri=uri)
    return RelyingParty(app, client, secret)


def _logout(browser, id_token):
    browser.get("/logout?" + urlencode({"id_token_hint": id_token}))
    assert "You have logged out" in browser.text


def _verified(rp, token) -> tuple[dict, dict]:
    decoded = jwt.decode(token, rp.jwks(), algorithms=["RS256", "ES256"])
    jwt.JWTClaimsRegistry(
        now=clock.timestamp,
        iss={"essential": True, "value": rp.app.config["IDP_ISSUER"]},
        aud={"essential": True, "value": rp.client_id},
        iat={"essential": True}, exp={"essential": True}, jti={"essential": True},
    ).validate(decoded.claims)
    return decoded.header, decoded.claims


def test_a_service_answering_with_a_body_after_its_headers_has_been_told(app, browser, user, receivers):
    receiver = receivers(body=b"OK")
    rp = _listening_rp(app, receiver.url)
    _logout(browser, tokens_for(browser, rp, user)["id_token"])
    assert backchannel.wait()
    notification = LogoutNotification.query.one()
    assert (notification.status, notification.attempts, notification.last_error) == ("sent", 1, None)


def test_logout_token_reaches_the_service_signed_and_after_a_retry(app, browser, user, runner, receivers):
    receiver = receivers(statuses=[500])
    rp = _listening_rp(app, receiver.url)
    silent = RelyingParty.register(app, name="Ei kuuntele")
    tokens = tokens_for(browser, rp, user)
    tokens_for(browser, silent, user)
    id_token = rp.verify_id_token(tokens["id_token"])

    _logout(browser, tokens["id_token"])
    assert backchannel.wait()
    assert len(receiver.received) == 1  # answered 500
    notification = LogoutNotification.query.one()
    assert (notification.status, notification.attempts) == ("pending", 1) and "500" in notification.last_error

    result = runner.invoke(args=["logouts", "send", "--json"])
    assert json.loads(result.output)["still_pending"] == 1 and len(receiver.received) == 1  # not due yet
    clock.advance(11)
    result = runner.invoke(args=["logouts", "send", "--json"])
    assert json.loads(result.output) == {"sent": 1, "pending": 0, "failed": 0, "kiosk_sessions_ended": 0,
                                         "still_pending": 0}

    assert len(receiver.received) == 2
    assert receiver.received[1]["content_type"] == "application/x-www-form-urlencoded"
    header, claims = _verified(rp, receiver.tokens()[1])
    assert header["typ"] == "logout+jwt" and header["alg"] == "RS256"
    assert claims["sub"] == id_token["sub"] and claims["sid"] == id_token["sid"]
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims
    assert claims["exp"] - claims["iat"] == 120
    assert claims["jti"] != _verified(rp, receiver.tokens()[0])[1]["jti"]
    delivered = [e for e in AuditEvent.query.all() if e.event == "logout.backchannel"]
    assert [(e.result, e.details["attempts"]) for e in delivered] == [("success", 2)]


def _kiosk_session(app, receiver):
    """A resident signed in on a kiosk that listens for logouts at `receiver`: the kiosk and the session's id."""
    house = building()
    client, secret = clients.create("Porras A", [REDIRECT_URI], [POST_LOGOUT_URI], first_party=True,
                                    kiosk_organisation=house, backchannel_logout_uri=receiver.url)
    screen = RelyingParty(app, client, secret)
    browser = Browser(app)
    pin_login(browser, screen, resident(house, "a12@koivukuja.fi", "A 12"))
    tokens = screen.redeem(screen.callback_params(browser.url)["code"]).get_json()
    return screen, screen.verify_id_token(tokens["id_token"])


def _send_round(runner) -> dict:
    result = runner.invoke(args=["logouts", "send", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_a_kiosk_session_left_idle_is_ended_and_the_kiosk_service_told(app, runner, receivers):
    receiver = receivers()
    screen, id_token = _kiosk_session(app, receiver)

    clock.advance(100)  # still within the two idle minutes
    assert _send_round(runner)["kiosk_sessions_ended"] == 0 and receiver.received == []
    clock.advance(21)
    assert _send_round(runner) == {"sent": 0, "pending": 0, "failed": 0, "kiosk_sessions_ended": 1, "still_pending": 0}
    _, claims = _verified(screen, receiver.tokens()[0])
    assert claims["sid"] == id_token["sid"] and claims["sub"] == id_token["sub"]
    assert [e.details["reason"] for e in AuditEvent.query.filter_by(event="session.ended")] == ["kiosk_idle"]

    assert _send_round(runner)["kiosk_sessions_ended"] == 0 and len(receiver.received) == 1


def test_a_kiosk_session_another_sender_is_ending_is_left_to_it(app, runner, receivers):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no row locks: one writer at a time")
    receiver = receivers()
    _, id_token = _kiosk_session(app, receiver)
    clock.advance(121)
    other = db.engine.connect()  # the other sender, between taking the row and committing its end
    transaction = other.begin()
    other.execute(sa.select(LoginSession.id).where(LoginSession.sid == id_token["sid"]).with_for_update())
    try:
        assert _send_round(runner)["kiosk_sessions_ended"] == 0
    finally:
        other.execute(sa.update(LoginSession).where(LoginSession.sid == id_token["sid"]).values(ended_at=clock.now()))
        transaction.commit()
        other.close()
    assert _send_round(runner)["kiosk_sessions_ended"] == 0
    assert receiver.received == [] and LogoutNotification.query.count() == 0


def test_ending_other_sessions_from_the_account_page_tells_the_service(app, user, receivers):
    receiver = receivers()
    rp = _listening_rp(app, receiver.url)
    laptop, phone = Browser(app), Browser(app)
    sid = rp.verify_id_token(tokens_for(laptop, rp, user)["id_token"])["sid"]

    phone.get("/account")
    sign_in(phone, user.email, user.test_password)
    phone.submit("/account/sessions/end-others")
    assert backchannel.wait()
    _, claims = _verified(rp, receiver.tokens()[0])
    assert claims["sid"] == sid and len(receiver.received) == 1
    assert LogoutNotification.query.one().status == "sent"


@row_locks
def test_a_device_logged_out_from_two_places_at_once_is_told_of_once(app, user, receivers, monkeypatch):
    # A double click on "Log out" of that device, and "Log out other devices" at the same moment.
    receiver = receivers()
    rp = _listening_rp(app, receiver.url)
    sid = rp.verify_id_token(tokens_for(Browser(app), rp, user)["id_token"])["sid"]
    phone = Browser(app)
    phone.get("/account")
    sign_in(phone, user.email, user.test_password)
    laptop = db.session.execute(sa.select(LoginSession.id).filter_by(sid=sid)).scalar_one()
    barrier_after(monkeypatch, backchannel, "notify", parties=3)  # all three have looked before one commits

    answers = at_once(post(app, phone, f"/account/sessions/{laptop}/end"), post(app, phone, f"/account/sessions/{laptop}/end"),
                      post(app, phone, "/account/sessions/end-others"))
    monkeypatch.undo()
    assert [answer.status_code for answer in answers] == [302, 302, 302]
    assert backchannel.wait()
    assert [_verified(rp, token)[1]["sid"] for token in receiver.tokens()] == [sid]
    assert LogoutNotification.query.count() == 1
    # Ended once, by whichever request took the session's row first: one "Log out" of the
    # device, or "Log out other devices" (which, when it comes second, finds none left).
    ended = [e.details["sid"] for e in AuditEvent.query.filter_by(event="session.ended")]
    ended_all = [e.details["sessions_ended"] for e in AuditEvent.query.filter_by(event="session.ended_all")]
    assert (ended, ended_all) in (([sid], [0]), ([], [1]))


@row_locks
def test_a_logout_sent_three_times_at_once_is_told_of_once(app, browser, user, receivers, monkeypatch):
    receiver = receivers()
    rp = _listening_rp(app, receiver.url)
    tokens = tokens_for(browser, rp, user)
    logout = "/logout?" + urlencode({"id_token_hint": tokens["id_token"]})
    barrier_after(monkeypatch, backchannel, "notify", parties=3)

    answers = at_once(*[lambda: clone(app, browser).get(logout)] * 3)
    monkeypatch.undo()
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert backchannel.wait()
    assert len(receiver.received) == 1 and LogoutNotification.query.count() == 1


def test_a_password_reset_tells_the_service_too(app, user, mailbox, receivers):
    receiver = receivers()
    rp = _listening_rp(app, receiver.url)
    laptop = Browser(app)
    sid = rp.verify_id_token(tokens_for(laptop, rp, user)["id_token"])["sid"]

    other = Browser(app)
    other.get("/recovery")
    other.submit("/recovery", email=user.email)
    other.submit("/recovery/", code=mailbox.code(user.email))
    other.submit("/password", password="a brand new long passphrase", confirm="a brand new long passphrase")
    assert backchannel.wait()
    assert [_verified(rp, token)[1]["sid"] for token in receiver.tokens()] == [sid]


def test_a_slow_service_does_not_hold_up_the_logout(app, browser, user, receivers):
    app.config["IDP_BACKCHANNEL_TIMEOUT"] = 1
    receiver = receivers(delay=3)
    rp = _listening_rp(app, receiver.url)
    tokens = tokens_for(browser, rp, user)

    started = time.monotonic()
    _logout(browser, tokens["id_token"])
    assert time.monotonic() - started < 1
    assert backchannel.wait()
    notification = LogoutNotification.query.one()
    assert notification.status == "pending" and "timed out" in notification.last_error


class DrippingReceiver:
    """A service that answers a byte every 0.3 s, for ever: each read gets a byte in time."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.stopped = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}/backchannel-logout"

    def _serve(self):
        connection, _ = self.listener.accept()
        connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        while not self.stopped.wait(0.3):
            try:
                connection.sendall(b"a")
            except OSError:
                return

    def stop(self):
        self.stopped.set()
        self.listener.close()


def test_a_service_answering_a_byte_at_a_time_is_cut_off_and_holds_no_connection(app, browser, user):
    """The time allowed is for the whole answer; and while a post waits, no connection of
    the database pool is held (a slow service must not starve the requests of one)."""
    app.config["IDP_BACKCHANNEL_TIMEOUT"] = 1
    dripping = DrippingReceiver()
    try:
        rp = _listening_rp(app, dripping.url)
        tokens = tokens_for(browser, rp, user)
        checked_out = db.engine.pool.checkedout()
        started = time.monotonic()
        _logout(browser, tokens["id_token"])
        time.sleep(0.5)  # the post is under way
        assert db.engine.pool.checkedout() <= checked_out
        assert backchannel.wait() and time.monotonic() - started < 2.5
    finally:
        dripping.stop()
    notification = LogoutNotification.query.one()
    assert notification.status == "pending" and notification.last_error.startswith("TimeoutError")


@pytest.mark.parametrize("answer, status, said", [
    (b"HTTP/1.1 503 busy\x00\r\nContent-Length: 0\r\n\r\n", "pending", "HTTPError: HTTP Error 503: busy?"),
    (b"HTTP/1.1 400 no\x00\r\nContent-Length: 0\r\n\r\n", "failed", "HTTP 400 no?"),
    (b"\x00garbage\r\n\r\n", "pending", "BadStatusLine: ?garbage")], ids=["retried", "refused", "not HTTP"])
def test_a_nul_in_the_services_answer_is_recorded_without_it(app, browser, user, answer, status, said):
    """Before, on PostgreSQL, the service's words with their NUL could not be stored: the
    outcome was never recorded, the notification stayed `sending` for good and `tunnus
    logouts send` stopped at it, so the services after it were not told either."""
    hostile = RawAnswers(answer)
    try:
        _logout(browser, tokens_for(browser, _listening_rp(app, hostile.url("/logout")), user)["id_token"])
        assert backchannel.wait()
    finally:
        hostile.stop()
    notification = LogoutNotification.query.one()
    assert (notification.status, notification.last_error) == (status, said)
    recorded = AuditEvent.query.filter_by(event="logout.backchannel").all()
    assert [e.details["error"] for e in recorded] == ([said] if status == "failed" else [])


def test_a_uri_that_cannot_be_sent_to_fails_without_stopping_the_others(app, browser, user, receivers, runner):
    receiver = receivers()
    good = _listening_rp(app, receiver.url)
    odd = _listening_rp(app, "https://k.example/logout", name="Outo")
    odd.client.backchannel_logout_uri = "https://" + "a" * 64 + ".example/logout"  # as stored before the check
    db.session.commit()
    tokens_for(browser, good, user)
    id_token = tokens_for(browser, odd, user)["id_token"]
    _logout(browser, id_token)
    assert backchannel.wait()
    assert _send_round(runner)["still_pending"] == 0
    statuses = {n.client_id: n.status for n in LogoutNotification.query}
    assert statuses == {good.client.id: "sent", odd.client.id: "failed"}
    refused = runner.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb",
                                  "--backchannel-logout-uri", "https://" + "a" * 64 + ".example/logout"])
    assert refused.exit_code != 0 and "host" in refused.output


def test_notifications_are_claimed_one_at_a_time(app, browser, user, receivers):
    """A batch claimed at once could outlast its lease behind slow services, and another
    sender would post what is still waiting its turn a second time."""
    seen = []

    def statuses():
        with app.app_context():
            seen.append(sorted(n.status for n in LogoutNotification.query))

    first, second = receivers(on_post=statuses), receivers(on_post=statuses)
    for number, receiver in enumerate((first, second)):
        tokens_for(browser, _listening_rp(app, receiver.url, name=f"Palvelu {number}"), user)
    browser.get("/logout")
    browser.submit("/logout", button=("confirm", "1"))
    assert backchannel.wait()
    assert seen == [["pending", "sending"], ["sending", "sent"]]


def test_a_refused_logout_token_is_not_sent_again(app, browser, user, receivers):
    receiver = receivers(statuses=[400])
    rp = _listening_rp(app, receiver.url)
    _logout(browser, tokens_for(browser, rp, user)["id_token"])
    assert backchannel.wait()
    assert LogoutNotification.query.one().status == "failed"


def test_clients_create_takes_a_backchannel_logout_uri(runner):
    result = runner.invoke(args=["clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://k.example/cb",
                                 "--backchannel-logout-uri", "https://k.example/logout", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["backchannel_logout_uri"] == "https://k.example/logout"
    refused = runner.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", "https://x.example/cb",
                                  "--backchannel-logout-uri", "http://x.example/logout"])
    assert refused.exit_code != 0 and "https" in refused.output


def test_discovery_advertises_back_channel_logout(app):
    metadata = app.test_client().get("/.well-known/openid-configuration").get_json()
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
