"""What an operator's log collector receives from Tunnus served by serve.py (granian): one JSON object a
line (or readable text), every line of a request tied to it by the request id, the client
IP as the proxy gave it, and never a password, token, code, cookie or Authorization header."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.support.browser import _Forms
from tests.support.served import serve

WRONG_PASSWORD = "Sekret-Passw0rd-not-hers"
HINT = "eyJhbGciOiJub25lIn0.SECRET-HINT.x"
LINK_TOKEN = "SECRETLINKTOKEN123"
CLIENT_SECRET = "SECRET-CLIENT-PASSWORD"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def served(app, base_config, database_url, tmp_path, request):
    """serve.py on the test database, behind one (pretend) proxy."""
    out, err = (tmp_path / "stdout.log").open("w+"), (tmp_path / "stderr.log").open("w+")
    server = serve(base_config, database_url, stdout=out, stderr=err, IDP_LOG_FORMAT=request.param,
                   IDP_PROXY_HOPS="1", IDP_ARGON2_MEMORY_KIB="1024")

    def stop() -> list[str]:
        server.stop()
        return [line for f in (out, err) for line in (f.seek(0) or f.read()).splitlines() if line.strip()]

    yield server.base, stop
    server.stop()


def _form(html: str, action: str) -> dict:
    parser = _Forms()
    parser.feed(html)
    return next(form for form in parser.forms if action in form["action"])


def _wrong_password_from(base, user, request_id) -> requests.Response:
    """A person behind the proxy at 203.0.113.7 types a wrong password."""
    browser = requests.Session()
    browser.headers["X-Forwarded-For"] = "203.0.113.7"
    page = browser.get(base + "/login")
    form = _form(page.text, "/identify")
    page = browser.post(base + form["action"], data={**form["fields"], "email": user.email})
    form = _form(page.text, "/password")
    return browser.post(base + form["action"], data={**form["fields"], "password": WRONG_PASSWORD},
                        headers={"X-Request-ID": request_id}, allow_redirects=False)


def _secret_bearing_requests(base, rp):
    requests.get(base + "/logout", params={"id_token_hint": HINT})
    requests.get(base + f"/account/email/some-flow/confirm/{LINK_TOKEN}")
    basic = base64.b64encode(f"{rp.client_id}:{CLIENT_SECRET}".encode()).decode()
    return requests.post(base + "/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"})


@pytest.mark.parametrize("served", ["json"], indirect=True)
def test_json_lines_tie_a_request_together_and_hold_no_secrets(served, user, rp):
    base, stop = served
    answer = _wrong_password_from(base, user, "proxy-req-000042")
    assert answer.headers["X-Request-ID"] == "proxy-req-000042"
    token = _secret_bearing_requests(base, rp)
    assert token.status_code == 401 and len(token.headers["X-Request-ID"]) == 32
    for n in (44, 45):  # the first rendered by Flask, the second answered from the document cache
        requests.get(base + "/jwks", headers={"X-Request-ID": f"proxy-req-0000{n}"})
    lines = stop()

    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= record.keys() for record in records)
    assert any(r["logger"] == "_granian" for r in records)  # the server's own lines too
    of_login = [r for r in records if r.get("request_id") == "proxy-req-000042"]
    audit_line = next(r for r in of_login if r.get("event") == "login.password")
    assert audit_line["result"] == "failure" and audit_line["identity_id"] == user.id
    assert audit_line["client_ip"] == "203.0.113.7" and audit_line["method"] == "POST"
    access = next(r for r in of_login if r["logger"] == "tunnus.access")
    assert access["client_ip"] == "203.0.113.7" and access["path"] == audit_line["path"]
    assert access["path"].endswith("/password") and access["status"] == answer.status_code
    assert isinstance(access["duration_ms"], float) and access["duration_ms"] > 0
    paths = [r["path"] for r in records if r["logger"] == "tunnus.access"]
    assert "/logout" in paths and "/account/email/some-flow/confirm/[redacted]" in paths
    token_line = next(r for r in records if r["logger"] == "tunnus.access" and r["path"] == "/token")
    assert token_line["request_id"] == token.headers["X-Request-ID"] and token_line["status"] == 401
    jwks_lines = [r for r in records if r["logger"] == "tunnus.access" and r["path"] == "/jwks"]
    assert [(r["request_id"], r["status"]) for r in jwks_lines] == [("proxy-req-000044", 200), ("proxy-req-000045", 200)]

    everything = "\n".join(lines)
    for secret in (WRONG_PASSWORD, "SECRET-HINT", LINK_TOKEN, CLIENT_SECRET, "Basic ", "tunnus_session"):
        assert secret not in everything


@pytest.mark.parametrize("served", ["text"], indirect=True)
def test_text_lines_carry_the_request_id_too(served, user, rp):
    base, stop = served
    answer = _wrong_password_from(base, user, "proxy-req-000043")
    _secret_bearing_requests(base, rp)
    lines = stop()
    audit_line = next(line for line in lines if "login.password failure" in line)
    assert " INFO idp.services.audit [proxy-req-000043] " in audit_line
    access = next(line for line in lines if " tunnus.access [proxy-req-000043] " in line)
    assert ' 203.0.113.7 "POST /login/' in access and f'/password" {answer.status_code} ' in access
    everything = "\n".join(lines)
    for secret in (WRONG_PASSWORD, "SECRET-HINT", LINK_TOKEN, CLIENT_SECRET, "Basic ", "tunnus_session"):
        assert secret not in everything



FORGED = "2026-11-29 12:00:00,000 INFO idp.services.audit [-] login.password success"


@pytest.mark.parametrize("served", ["text", "json"], indirect=True)
def test_a_path_writes_no_line_of_its_own_nor_drives_the_terminal(served):
    """Before, "%0a" in a path wrote a whole line the client chose into the text log, "%1b"
    escape sequences reached the terminal showing it, and U+2028 split a JSON line for
    collectors that split there."""
    base, stop = served
    for path in ("/nope%0a" + FORGED.replace(" ", "%20") + "%0a", "/x%1b[2J%1b[31mred", "/y%E2%80%A8z%C2%85"):
        assert requests.get(base + path).status_code == 404
    lines = stop()
    assert FORGED not in lines and not any(c in "\n".join(lines) for c in "\x1b\u2028\u0085")
    written = "\n".join(line for line in lines if "tunnus.access" in line)
    for path in ("/nope%0A2026-11-29%2012:00:00,000%20INFO", "/x%1B[2J%1B[31mred", "/y%E2%80%A8z%C2%85"):
        assert path in written, written


def test_tunnus_db_upgrade_logs_each_migration_in_the_log_format(tmp_path, base_config):
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}",
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": str(tmp_path / "keys"),
           "IDP_LOG_FORMAT": "json"}
    done = subprocess.run([str(Path(sys.executable).with_name("tunnus")), "db", "upgrade"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stderr.splitlines()]  # every line is JSON
    ran = [line["message"] for line in lines if line["message"].startswith("Running upgrade")]
    assert len(ran) == len(list((ROOT / "migrations" / "versions").glob("0*.py"))), ran


def test_a_sender_loop_logs_its_rounds_in_json_and_no_addresses(app, base_config, database_url, tmp_path):
    import signal
    import time

    from idp.extensions import db
    from idp.models import OutboxMail
    from tests.support.smtp import free_port

    db.session.add(OutboxMail(kind="notice", recipient="bob@example.fi", subject="Tervetuloa", text="Hei",
                              html="<p>Hei</p>"))
    db.session.commit()
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": database_url, "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"],
           "IDP_KEYS_DIR": base_config["IDP_KEYS_DIR"], "IDP_LOG_FORMAT": "json", "IDP_MAIL_TIMEOUT": "1",
           "IDP_SMTP_URL": f"smtp://127.0.0.1:{free_port()}"}  # nothing listens: the mail is not delivered
    out, err = (tmp_path / "stdout.log").open("w+"), (tmp_path / "stderr.log").open("w+")
    loop = subprocess.Popen([str(Path(sys.executable).with_name("tunnus")), "mail", "send", "--loop", "--interval",
                             "0.2"], env=env, cwd=ROOT, stdout=out, stderr=err)
    said = lambda: [line for f in (out, err) for line in (f.seek(0) or f.read()).splitlines() if line.strip()]
    try:
        deadline = time.monotonic() + 30
        while not any('"round: ' in line for line in said()):
            assert loop.poll() is None and time.monotonic() < deadline, said()
            time.sleep(0.1)
    finally:
        loop.send_signal(signal.SIGTERM)
        loop.wait(10)
    lines = [json.loads(line) for line in said()]  # every line is JSON
    messages = [line["message"] for line in lines]
    assert any(m.startswith("mail ") and "not delivered" in m for m in messages), messages
    assert any(line["message"].startswith("round: ") and line["counts"]["pending"] == 1 for line in lines), lines
    assert "stopped; nothing left in hand" in messages
    assert not any("bob@example.fi" in line for line in said())
