"""`tunnus legacy import` as an operator runs it, and the legacy ids a linked service sees."""
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import bcrypt
import sqlalchemy as sa

from idp.extensions import db
from idp.models import Client, Identity, LegacyAccount
from idp.services import clients, legacy_import, organisations
from idp.services.legacy_import import writer
from tests.support.journeys import tokens_for
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "legacy_accounts.jsonl")
TUNNUS = [sys.executable, "-c", "from idp.cli import main; main()"]


def count(table) -> int:
    with db.engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_import_prints_a_summary_and_writes_the_report(app, runner, tmp_path):
    report_path = tmp_path / "report.json"
    result = runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "kirjasto", "--report", str(report_path)])

    assert result.exit_code == 0, result.output
    assert "12 rows from" in result.output and "identities created:      10" in result.output
    assert "invalid_email: 1" in result.output and f"Full report: {report_path}" in result.output
    assert "Importing" not in result.output  # no progress bar when nobody watches a terminal
    report = json.loads(report_path.read_text())
    assert report["counts"]["accounts_created"] == 12 and report["warnings"][0]["legacy_id"] == "10010"


def test_a_report_file_that_cannot_be_written_is_refused_before_anything_is_imported(app, runner, tmp_path):
    result = runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "kirjasto",
                                 "--report", str(tmp_path / "no" / "report.json")])

    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert f"Invalid value for --report: no folder {tmp_path / 'no'}" in result.output
    assert count(LegacyAccount.__table__) == 0 and count(Identity.__table__) == 0


def test_json_prints_only_the_report(app, runner):
    result = runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "kirjasto", "--json"])

    report = json.loads(result.output)
    assert report["system"] == "kirjasto" and report["counts"]["rows"] == 12
    again = json.loads(runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "kirjasto", "--json"]).output)
    assert again["counts"]["unchanged"] == 12 and again["counts"]["accounts_created"] == 0


def test_dry_run_changes_nothing(app, runner):
    result = runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "kirjasto", "--dry-run", "--json"])

    assert json.loads(result.output)["counts"]["identities_created"] == 10
    assert count(LegacyAccount.__table__) == 0 and count(Identity.__table__) == 0


def test_a_bad_system_name_is_an_error(app, runner):
    result = runner.invoke(args=["legacy", "import", EXAMPLE, "--system", "Kirjasto Oy"])
    assert result.exit_code != 0 and "system name" in result.output


def test_clients_create_links_a_legacy_system(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "Kirjasto", "--redirect-uri",
                                 "https://kirjasto.example/cb", "--legacy-system", "kirjasto", "--json"])
    assert json.loads(result.output)["legacy_system"] == "kirjasto"
    assert Client.by_client_id(json.loads(result.output)["client_id"]).legacy_system == "kirjasto"


def test_legacy_ids_go_only_to_the_service_linked_to_that_system(app, browser, user, tmp_path):
    rows = [{"legacy_id": legacy_id, "login_name": login, "email": "MAIJA.meikalainen@example.fi",
             "password_hash": bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode(), "hash_scheme": "bcrypt"}
            for legacy_id, login in (("10099", "maija2"), ("10001", "maija"))]
    path = tmp_path / "kirjasto.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    legacy_import.run(str(path), "kirjasto")
    legacy_import.run(str(path), "verkkokauppa")
    library = RelyingParty(app, *clients.create("Kirjasto", [REDIRECT_URI], [POST_LOGOUT_URI],
                                                legacy_system="kirjasto"))
    other = RelyingParty.register(app, name="Uimahalli")

    library_tokens = tokens_for(browser, library, user)
    other_tokens = tokens_for(browser, other, user)

    assert library.verify_id_token(library_tokens["id_token"])["legacy_ids"] == ["10001", "10099"]
    assert library.userinfo(library_tokens["access_token"]).get_json()["legacy_ids"] == ["10001", "10099"]
    assert "legacy_ids" not in other.verify_id_token(other_tokens["id_token"])
    assert "legacy_ids" not in other.userinfo(other_tokens["access_token"]).get_json()


def _environment(base_config, tmp_path) -> dict:
    env = dict(os.environ)
    for name in ("IDP_DATABASE_URL", "IDP_KEYS_DIR", "IDP_SECRET_KEY", "IDP_ISSUER"):
        env[name] = base_config[name]
    env["TMPDIR"] = str(tmp_path)  # where a killed import leaves its scratch files
    return env


def _big_file(tmp_path, rows: int) -> str:
    hashed = bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()
    path = tmp_path / "iso.jsonl"
    with path.open("w") as out:
        for n in range(rows):
            email = None if n % 20 == 0 else f"henkilo.{n % 40_000}@example.fi"  # people with two accounts
            out.write(json.dumps({"legacy_id": str(n), "login_name": f"user{n}", "email": email,
                                  "name": f"Henkilö {n}", "password_hash": hashed, "hash_scheme": "bcrypt"}) + "\n")
    return str(path)


def _state():
    """Both tables as a clean import leaves them, without ids, times and random subs."""
    with db.engine.connect() as conn:
        identities = sorted(conn.execute(sa.select(
            Identity.email_normalized, Identity.email, Identity.name, Identity.phone, Identity.email_verified,
            Identity.password_hash)).all())
        accounts = sorted(conn.execute(
            sa.select(*[c for c in LegacyAccount.__table__.c if c.name not in ("id", "identity_id", "imported_at")],
                      Identity.email_normalized)
            .outerjoin(Identity, Identity.id == LegacyAccount.identity_id)).all())
    return identities, accounts


def test_an_import_started_while_another_runs_is_refused_and_the_first_reports_what_it_did(app, runner, tmp_path,
                                                                                           monkeypatch):
    """An operator starts the same import again in another terminal: the second says so
    and stops, and the first one's report counts what it did (two at once each counted
    what the other wrote, or died on the organisation the other created)."""
    hashed = bcrypt.hashpw(b"x", bcrypt.gensalt(4)).decode()
    path = tmp_path / "extranet.jsonl"
    path.write_text("".join(json.dumps({
        "legacy_id": str(n), "login_name": f"user{n}", "email": f"henkilo.{n}@alfa.fi", "password_hash": hashed,
        "hash_scheme": "bcrypt", "org_business_id": "0737546-2", "org_role": "admin" if n == 0 else "member"}) + "\n"
        for n in range(30)))
    writing, second_done = threading.Event(), threading.Event()
    write = writer.write

    def first_waits(*args, **kwargs):  # the first import's first batch waits for the second import
        if not writing.is_set():
            writing.set()
            second_done.wait(30)
        return write(*args, **kwargs)

    monkeypatch.setattr(writer, "write", first_waits)
    first = {}

    def import_first():
        with app.app_context():
            first["report"] = legacy_import.run(str(path), "extranet")

    running = threading.Thread(target=import_first)
    running.start()
    assert writing.wait(30)
    second = runner.invoke(args=["legacy", "import", str(path), "--system", "extranet"])
    second_done.set()
    running.join(60)

    assert second.exit_code == 1 and "Traceback" not in second.output
    assert "another import is running; run this one again when it has finished" in second.output
    counts = first["report"].counts
    assert counts["accounts_created"] == 30 and counts["identities_created"] == 30
    assert first["report"].memberships_created == 30
    db.session.expire_all()
    assert len(organisations.members(organisations.by_business_id("0737546-2"))) == 30


def test_an_import_killed_half_way_ends_like_a_clean_one_when_run_again(app, base_config, tmp_path):
    path = _big_file(tmp_path, 60_000)
    command = TUNNUS + ["legacy", "import", path, "--system", "kirjasto", "--batch-size", "1000", "--json"]
    env = _environment(base_config, tmp_path)
    killed = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while count(LegacyAccount.__table__) == 0 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait()
    committed = count(LegacyAccount.__table__)
    assert killed.returncode == -signal.SIGKILL and 0 < committed < 60_000, killed.stderr.read()

    rerun = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    resumed = json.loads(rerun.stdout)["counts"]
    assert resumed["unchanged"] == committed
    assert resumed["accounts_created"] == 60_000 - committed
    after_rerun = _state()

    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    clean = legacy_import.run(path, "kirjasto")

    assert _state() == after_rerun
    people = len({n % 40_000 for n in range(60_000) if n % 20})
    assert clean.counts["accounts_created"] == 60_000 and clean.counts["identities_created"] == people
    assert len(after_rerun[0]) == people and len(after_rerun[1]) == 60_000


def test_a_terminal_sees_a_progress_bar(app, base_config, tmp_path):
    path = _big_file(tmp_path, 3000)
    controller, terminal = pty.openpty()
    done = subprocess.run(TUNNUS + ["legacy", "import", path, "--system", "kirjasto", "--batch-size", "500"],
                          env=_environment(base_config, tmp_path), stdout=subprocess.PIPE, stderr=terminal, text=True,
                          timeout=120)
    os.close(terminal)
    shown = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(controller)

    assert done.returncode == 0
    assert b"Importing" in shown and b"rows/s" in shown and b"3,000 rows" in shown
    assert "3000 rows from" in done.stdout
