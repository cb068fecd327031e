"""Faults, done for real: Redis stopped mid-run, PostgreSQL stopped mid-run, a worker
process killed in the middle of a token request.

Each test owns the server it breaks (a redis-server, a PostgreSQL cluster made with
initdb, the production server), so other test runs on this machine are not disturbed.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
import redis

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.models import AuthorizationCode, Identity, LogoutNotification, OutboxMail, Token
from idp.services import audit, backchannel, clients, clock, identities, keys, sessions
from tests.conftest import IsolatedClient
from tests.support.browser import Browser
from tests.support.journeys import authorize, tokens_for
from tests.support.logout_receiver import LogoutReceiver
from tests.support.owned_servers import PostgresCluster, RedisServer
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty
from tests.support.served import serve

PASSWORD = "correct horse battery staple"


def _person(email="maija@example.fi"):
    person = identities.create(email, PASSWORD, "Maija", verified=True)
    person.test_password = PASSWORD
    return person


def _rp(made, name="Kirjasto", **options):
    client, secret = clients.create(name, [REDIRECT_URI], [POST_LOGOUT_URI], **options)
    return RelyingParty(made, client, secret)


# Redis

@pytest.fixture
def redis_server():
    if RedisServer.missing():
        pytest.skip(RedisServer.missing())
    server = RedisServer().start()
    yield server
    server.stop()


def _recovered(machine, server) -> bool:
    """Counting in Redis again: a request leaves its count there."""
    machine.token_request(grant_type="client_credentials")
    return bool(redis.Redis.from_url(server.url).keys("*tunnus*"))


def test_redis_stopped_mid_run_logins_and_tokens_keep_working_and_it_recovers(app, base_config, redis_server,
                                                                             caplog):
    made = create_app(dict(base_config, IDP_REDIS_URL=redis_server.url, IDP_TOKEN_CLIENT_RATE_LIMIT="3 per minute"))
    made.test_client_class = IsolatedClient
    person, rp = _person(), _rp(made)  # stored through the `app` fixture's context: the same database
    machine = RelyingParty(made, *clients.create("Kone", [], grant_types=["client_credentials"]))
    tokens = tokens_for(Browser(made), rp, person)
    assert redis.Redis.from_url(redis_server.url).keys("*tunnus*")

    redis_server.stop()
    caplog.set_level(logging.WARNING)
    again = tokens_for(Browser(made), rp, person)
    assert rp.refresh(tokens["refresh_token"]).status_code == 200
    assert rp.userinfo(again["access_token"]).status_code == 200
    assert "Rate limit storage unreachable" in caplog.text
    # Limits still hold, counted in this process meanwhile.
    statuses = [machine.token_request(grant_type="client_credentials").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]

    redis_server.start()
    deadline = time.monotonic() + 60
    while not _recovered(machine, redis_server):
        assert time.monotonic() < deadline, "rate limits did not go back to Redis"
        time.sleep(0.5)
    assert tokens_for(Browser(made), rp, person)["access_token"]


# PostgreSQL

@pytest.fixture(scope="module")
def cluster():
    if PostgresCluster.missing():
        pytest.skip(PostgresCluster.missing())
    owned = PostgresCluster().init().start()
    yield owned
    owned.remove()


@pytest.fixture
def pg_app(cluster, base_config):
    made = create_app(dict(base_config, IDP_DATABASE_URL=cluster.url, IDP_REDIS_URL=None))
    made.test_client_class = IsolatedClient
    with made.app_context():
        schema_migrations.upgrade()
        yield made
        if not cluster.running:
            cluster.start()
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.engine.dispose()
    clock.reset()


def _stop_database(cluster):
    db.session.remove()  # the test's own session keeps no connection to the server it stops
    cluster.stop("immediate")


def _unavailable_json(response):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json()["error"] == "temporarily_unavailable" and "Retry-After" in response.headers


def test_postgresql_stopped_gives_503_everywhere_and_nothing_half_written(pg_app, cluster):
    person, rp = _person(), _rp(pg_app)
    browser = Browser(pg_app)
    tokens = tokens_for(browser, rp, person)
    code = authorize(browser, rp, person, prompt="none")["code"]
    http = pg_app.test_client()

    _stop_database(cluster)
    for path in ("/account", "/login", f"/authorize?client_id={rp.client_id}"):
        page = browser.get(path)
        assert page.status_code == 503 and "temporarily unavailable" in browser.text
        assert "Traceback" not in browser.text and 'role="alert"' in browser.text
    _unavailable_json(rp.redeem(code))
    _unavailable_json(rp.refresh(tokens["refresh_token"]))
    _unavailable_json(rp.userinfo(tokens["access_token"]))
    _unavailable_json(rp.introspect(tokens["access_token"]))
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("error")
    assert http.get("/healthz").status_code == 200

    cluster.start()
    assert http.get("/readyz").status_code == 200
    assert browser.get("/account").status_code == 200 and person.email in browser.text
    # The exchange that failed consumed nothing: the code works once, the refresh token was not rotated.
    assert rp.redeem(code).status_code == 200
    assert rp.redeem(code).get_json()["error"] == "invalid_grant"
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_metrics_still_answer_with_postgresql_stopped(pg_app, cluster):
    http = pg_app.test_client()
    assert "tunnus_database_up 1.0" in http.get("/metrics").get_data(as_text=True)

    _stop_database(cluster)
    scraped = http.get("/metrics")
    text = scraped.get_data(as_text=True)
    assert scraped.status_code == 200, text
    assert 'tunnus_request_seconds_count{endpoint="/metrics",method="GET"}' in text
    assert "tunnus_database_up 0.0" in text and "outbox_pending" not in text


def _libpq(cluster) -> str:
    return cluster.url.replace("postgresql+psycopg", "postgresql")


def _waiting_backend(admin) -> int | None:
    row = admin.execute("SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND query ILIKE 'INSERT INTO tokens%'").fetchone()
    return row[0] if row else None


def _until_storing_tokens(admin) -> int:
    """The backend of a token request that consumed its code, signed its tokens and now
    waits to store them (behind a lock the test holds)."""
    deadline = time.monotonic() + 20
    while (backend := _waiting_backend(admin)) is None:
        assert time.monotonic() < deadline, "the token request never reached the INSERT"
        time.sleep(0.05)
    return backend


def _nothing_issued(rp) -> bool:
    db.session.remove()
    tokens = db.session.execute(db.select(Token).filter_by(client_id=rp.client.id)).first()
    return tokens is None and db.session.execute(db.select(AuthorizationCode.used_at)).scalar_one() is None


def test_postgresql_stopped_during_a_token_request_answers_503_and_writes_nothing(pg_app, cluster):
    person, rp = _person(), _rp(pg_app)
    code = authorize(Browser(pg_app), rp, person)["code"]
    blocker = psycopg.connect(_libpq(cluster))
    blocker.execute("LOCK TABLE tokens IN SHARE MODE")
    admin = psycopg.connect(_libpq(cluster), autocommit=True)
    outcome = {}
    request = threading.Thread(target=lambda: outcome.update(response=rp.redeem(code)))
    request.start()
    _until_storing_tokens(admin)

    _stop_database(cluster)
    request.join(30)
    _unavailable_json(outcome["response"])
    cluster.start()
    assert _nothing_issued(rp)
    assert rp.redeem(code).status_code == 200


# The mail loop, PostgreSQL stopped under it

def test_the_mail_loop_outlives_postgresql_stopping_and_delivers_once_it_is_back(pg_app, cluster, base_config,
                                                                                mailbox, tmp_path):
    env = {**os.environ, "IDP_DATABASE_URL": cluster.url, "IDP_SMTP_URL": base_config["IDP_SMTP_URL"],
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": base_config["IDP_KEYS_DIR"]}
    env.pop("IDP_REDIS_URL", None)
    stderr = (tmp_path / "stderr.log").open("w+")
    loop = subprocess.Popen([str(Path(sys.executable).with_name("tunnus")), "mail", "send", "--loop",
                             "--interval", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)

    def said() -> str:
        stderr.seek(0)
        return stderr.read()

    try:
        _stop_database(cluster)
        deadline = time.monotonic() + 20
        while "database unavailable" not in said():
            assert loop.poll() is None, said()
            assert time.monotonic() < deadline, "the loop said nothing of the database"
            time.sleep(0.1)
        time.sleep(1)  # several rounds against the stopped database
        assert loop.poll() is None, said()

        cluster.start()
        db.session.add(OutboxMail(kind="notice", recipient="maija@example.fi", subject="Tervetuloa",
                                  text="Hei Maija", html="<p>Hei Maija</p>"))
        db.session.commit()
        deadline = time.monotonic() + 20
        while db.session.scalars(db.select(OutboxMail.status)).all() != ["sent"]:
            assert loop.poll() is None and time.monotonic() < deadline, "no delivery after the database came back"
            db.session.rollback()  # the loop's commit is seen by the next transaction
            time.sleep(0.1)
        assert len(mailbox.to("maija@example.fi")) == 1
    finally:
        loop.terminate()
        loop.wait(10)


# A worker killed during a token request

@pytest.fixture
def server(pg_app, cluster, base_config):
    """The production server (serve.py) with one worker."""
    served = serve(base_config, cluster.url)
    yield served
    served.stop()


def _post_token(base, rp, code):
    data = urlencode({"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
                      "code_verifier": rp.verifier}).encode()
    auth = base64.b64encode(f"{rp.client_id}:{rp.secret}".encode()).decode()
    request = urllib.request.Request(base + "/token", data=data, headers={"Authorization": f"Basic {auth}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_worker_killed_during_a_token_request_leaves_no_half_issued_grant(pg_app, cluster, server):
    base = server.base
    person, rp = _person(), _rp(pg_app)
    code = authorize(Browser(pg_app), rp, person)["code"]
    blocker = psycopg.connect(_libpq(cluster))
    blocker.execute("LOCK TABLE tokens IN SHARE MODE")
    admin = psycopg.connect(_libpq(cluster), autocommit=True)
    outcome = {}
    request = threading.Thread(target=lambda: outcome.update(result=_catch(_post_token, base, rp, code)))
    request.start()
    backend = _until_storing_tokens(admin)
    [worker] = server.workers()
    os.kill(worker, signal.SIGKILL)
    request.join(30)
    blocker.rollback()
    blocker.close()
    deadline = time.monotonic() + 20
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone():
        assert time.monotonic() < deadline, "the killed worker's transaction did not end"
        time.sleep(0.05)
    admin.close()

    assert isinstance(outcome["result"], OSError)  # the client got no tokens...
    assert _nothing_issued(rp)  # ...and none exist: the code is not even used up
    # The restarted worker lets the client simply retry, exactly once.
    deadline = time.monotonic() + 30
    while not _answers(base):
        assert time.monotonic() < deadline, "no worker was started again"
        time.sleep(0.1)
    status, body = _catch(_post_token, base, rp, code)
    assert status == 200 and body["access_token"]
    status, body = _post_token(base, rp, code)
    assert status == 400 and body["error"] == "invalid_grant"


def _answers(base) -> bool:
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=2):
            return True
    except OSError:
        return False


def _catch(function, *args):
    try:
        return function(*args)
    except OSError as error:
        return error


# The keys folder lost while running (a mount gone)

def _until(check, what, seconds=10):
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def test_a_lost_keys_folder_answers_503_everywhere_keys_are_used_and_they_come_back(app, base_config, tmp_path):
    # A folder of its own to take away, with the suite's keys: a deployment makes none itself.
    shutil.copytree(base_config["IDP_KEYS_DIR"], tmp_path / "keys")
    made = create_app(dict(base_config, IDP_KEYS_DIR=str(tmp_path / "keys")))
    made.test_client_class = IsolatedClient
    person, rp = _person(), _rp(made)
    machine = RelyingParty(made, *clients.create("Kone", [], grant_types=["client_credentials"]))
    browser = Browser(made)
    tokens = tokens_for(browser, rp, person)
    code = authorize(browser, rp, person, prompt="none")["code"]
    http = made.test_client()
    assert http.get("/jwks").status_code == 200

    (tmp_path / "keys").rename(tmp_path / "keys.away")
    _until(lambda: http.get("/readyz").status_code == 503, "/readyz did not notice the keys are gone")
    jwks = http.get("/jwks")
    assert jwks.status_code == 503 and jwks.headers["Cache-Control"] == "no-store", jwks.headers
    assert jwks.get_json()["error"] == "temporarily_unavailable"
    assert http.get("/.well-known/openid-configuration").status_code == 200
    _unavailable_json(rp.redeem(code))
    _unavailable_json(rp.refresh(tokens["refresh_token"]))
    _unavailable_json(machine.token_request(grant_type="client_credentials"))
    page = browser.get(f"/logout?id_token_hint={tokens['id_token']}")
    assert page.status_code == 503 and "temporarily unavailable" in browser.text and "Traceback" not in browser.text

    (tmp_path / "keys.away").rename(tmp_path / "keys")
    _until(lambda: http.get("/readyz").status_code == 200, "/readyz did not see the keys again")
    assert http.get("/jwks").get_json()["keys"]
    # The exchange that failed consumed nothing.
    assert rp.redeem(code).status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 200


def test_the_logout_sender_waits_out_a_lost_keys_folder_and_delivers_once_it_is_back(app, base_config, tmp_path):
    """A logout token is signed: without keys the loop warns and keeps going, the ended
    session's notification stays due, and is delivered when the keys return."""
    shutil.copytree(base_config["IDP_KEYS_DIR"], tmp_path / "keys")
    made = create_app(dict(base_config, IDP_KEYS_DIR=str(tmp_path / "keys")))
    made.test_client_class = IsolatedClient
    receiver = LogoutReceiver()
    person, rp = _person(), _rp(made, backchannel_logout_uri=receiver.url)
    tokens_for(Browser(made), rp, person)
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": base_config["IDP_DATABASE_URL"],
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": str(tmp_path / "keys"),
           "IDP_ISSUER": "https://tunnus.example.fi"}  # a deployment: it makes no keys of its own
    stderr = (tmp_path / "stderr.log").open("w+")
    loop = subprocess.Popen([str(Path(sys.executable).with_name("tunnus")), "logouts", "send", "--loop",
                             "--interval", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    said = lambda: stderr.seek(0) or stderr.read()
    try:
        # A first notification, delivered with the keys there: the loop is up.
        db.session.add(LogoutNotification(client_id=rp.client.id, sid="earlier", sub=person.sub, status="pending",
                                          attempts=0, next_attempt_at=clock.now()))
        db.session.commit()
        _until(lambda: len(receiver.received) == 1 or loop.poll() is not None, "the loop delivered nothing", 30)
        (tmp_path / "keys").rename(tmp_path / "keys.away")
        with made.app_context():
            _until(lambda: made.test_client().get("/readyz").status_code == 503, "the keys are still seen")
            time.sleep(keys.FOLDER_CHECK_EVERY + 0.5)  # the loop's process looks at the folder as seldom
            sessions.end_all(db.session.get(Identity, person.id), origin=audit.SYSTEM, reason="password_reset")
            db.session.commit()
            backchannel.wait()
        _until(lambda: "signing keys unavailable" in said() or loop.poll() is not None, "the loop said nothing")
        time.sleep(1)  # several rounds without keys
        assert loop.poll() is None and "Traceback" not in said(), said()
        assert len(receiver.received) == 1

        (tmp_path / "keys.away").rename(tmp_path / "keys")
        _until(lambda: len(receiver.received) == 2, "nothing delivered once the keys were back")
    finally:
        loop.terminate()
        loop.wait(10)
        receiver.stop()
    db.session.remove()
    assert db.session.scalars(db.select(LogoutNotification.status)).all() == ["sent", "sent"]


# PostgreSQL hung: its processes stopped, connections still accepted by the kernel

def _postgres_processes(cluster) -> list[int]:
    postmaster = int((cluster.data / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
    return [postmaster, *map(int, children)]


def _timed(function, *args):
    """(seconds taken, result), or (None, None) when it took more than 30 s."""
    outcome = {}

    def run():
        started = time.monotonic()
        result = function(*args)
        outcome.update(seconds=time.monotonic() - started, result=result)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(30)
    return outcome.get("seconds"), outcome.get("result")


def test_a_hung_postgresql_costs_a_request_seconds_and_a_503_not_the_whole_wait(pg_app, cluster, base_config):
    made = create_app(dict(base_config, IDP_DATABASE_URL=cluster.url, IDP_REDIS_URL=None,
                           IDP_DATABASE_STATEMENT_TIMEOUT=2, IDP_DATABASE_CONNECT_TIMEOUT=2))
    made.test_client_class = IsolatedClient
    person, rp = _person(), _rp(made)
    browser = Browser(made)
    tokens = tokens_for(browser, rp, person)
    code = authorize(browser, rp, person, prompt="none")["code"]
    http = made.test_client()
    assert http.get("/readyz").status_code == 200
    db.session.remove()

    stopped = _postgres_processes(cluster)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    try:
        seconds, ready = _timed(http.get, "/readyz")
        assert seconds is not None and seconds < 4, seconds
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"].startswith("error")
        # Statement limit 2 s (+2 s for a server that says nothing), then a new connection, 2 s.
        seconds, answer = _timed(rp.redeem, code)
        assert seconds is not None and seconds < 8, seconds
        _unavailable_json(answer)
        seconds, page = _timed(browser.get, "/account")
        assert seconds is not None and seconds < 8, seconds
        assert page.status_code == 503 and "temporarily unavailable" in browser.text
    finally:
        for pid in stopped:
            os.kill(pid, signal.SIGCONT)

    _until(lambda: http.get("/readyz").status_code == 200, "not ready after the database came back", 30)
    assert rp.redeem(code).status_code == 200
    assert rp.refresh(tokens["refresh_token"]).status_code == 200
