"""A person who had their account deleted stays deleted when an old system's file is
imported again (GDPR Art. 17), as the operator sees it: the import's summary and report,
`audit search`, and `legacy allow-import` for someone who came back and asks for their
old accounts."""
import json
from pathlib import Path

import sqlalchemy as sa

from idp.extensions import db
from idp.models import Erasure, Identity, LegacyAccount
from tests.support.browser import Browser
from tests.web.test_registration import enter_code, register

EXAMPLE = str(Path(__file__).resolve().parent.parent / "examples" / "legacy_accounts.jsonl")
MAIJA = "maija.meikalainen@example.fi"


def _import(runner, *more, path=EXAMPLE):
    result = runner.invoke(args=["legacy", "import", path, "--system", "kirjasto", *more])
    assert result.exit_code == 0, result.output
    return result.output


def _deleted(runner, email=MAIJA):
    _import(runner)
    result = runner.invoke(args=["users", "delete", "--email", email, "--reason", "ticket 7"])
    assert result.exit_code == 0, result.output


def _old_password_opens(app) -> bool:
    browser = Browser(app)
    browser.get("/login")
    browser.submit("/identify", email="maija.m")
    if "/password" not in browser.text:
        return False
    browser.submit("/password", password="Kesäloma2019")
    return browser.page.status_code == 200 and "Wrong" not in browser.text and "/password" not in browser.url


def test_importing_the_file_again_does_not_bring_back_a_person_deleted_at_their_request(app, runner, tmp_path):
    _deleted(runner)

    summary = _import(runner, "--report", str(tmp_path / "report.json"))

    assert "identities created:      0" in summary
    assert "skipped:                 1\n    deleted at the person's request: 1" in summary
    assert Identity.by_email(MAIJA) is None
    assert db.session.execute(sa.select(LegacyAccount).filter_by(system="kirjasto", legacy_id="10001")).first() is None
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["counts"]["skipped"] == 1 and report["skipped_by_reason"] == {"deleted_on_request": 1}
    [skipped] = report["skipped"]
    assert (skipped["line"], skipped["legacy_id"], skipped["reason"]) == (1, "10001", "deleted_on_request")
    assert "deleted at their request" in skipped["detail"]
    searched = runner.invoke(args=["audit", "search", "--email", MAIJA, "--since", "1d"])
    assert "Its account was deleted at" in searched.output


def test_the_erasure_holds_no_data_of_the_person(app, runner):
    _deleted(runner)

    stored = " ".join(str(value) for row in db.session.execute(sa.select(Erasure.key_hash)).all() for value in row)

    assert db.session.query(Erasure).count() == 3  # the email, and kirjasto's legacy id and user name
    for data in ("maija", "Meikalainen", "10001", "kirjasto", "+358401234567"):
        assert data.lower() not in stored.lower()


def test_a_newer_export_with_another_address_or_another_system_is_skipped_too(app, runner, tmp_path):
    _deleted(runner)
    rows = [{"legacy_id": "10001", "login_name": "maija.m", "email": "maija@uusi.example"},
            {"legacy_id": "77", "login_name": "mm", "email": "Maija.Meikalainen@example.fi"}]
    path = tmp_path / "newer.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))

    summary = _import(runner, path=str(path))

    assert "deleted at the person's request: 2" in summary
    assert Identity.by_email("maija@uusi.example") is None and Identity.by_email(MAIJA) is None
    other = runner.invoke(args=["legacy", "import", str(path), "--system", "kauppa", "--json"])
    assert json.loads(other.output)["skipped_by_reason"] == {"deleted_on_request": 1}  # by the address
    assert Identity.by_email(MAIJA) is None


def test_a_person_who_registers_again_is_not_merged_with_their_old_accounts_until_an_operator_allows_it(
        app, runner, browser, mailbox):
    _deleted(runner)
    register(browser, email=MAIJA, name="Maija", password="purple otter climbs marble stairs")
    enter_code(browser, mailbox.code(MAIJA))
    again = Identity.by_email(MAIJA)
    assert again is not None and again.email_verified

    summary = _import(runner)

    assert "deleted at the person's request: 1" in summary
    assert db.session.execute(sa.select(LegacyAccount.id).filter_by(identity_id=again.id)).first() is None
    assert not _old_password_opens(app)
    searched = runner.invoke(args=["audit", "search", "--email", MAIJA, "--since", "1d"])
    assert searched.exit_code == 0 and "identity.deleted" in searched.output
    assert "An earlier account with this address was deleted at" in searched.output
    as_json = json.loads(runner.invoke(args=["audit", "search", "--email", MAIJA, "--since", "1d", "--json"]).output)
    assert as_json[0]["event"] == "identity.deleted" and as_json[0]["details"]["reason"] == "ticket 7"

    allowed = runner.invoke(args=["legacy", "allow-import", "--email", MAIJA, "--reason", "asked back, ticket 9"])
    assert allowed.exit_code == 0, allowed.output
    assert "identities created:      0" in _import(runner) and db.session.query(Erasure).count() == 0
    [old] = db.session.execute(sa.select(LegacyAccount).filter_by(identity_id=again.id)).scalars()
    assert old.legacy_id == "10001"
    nothing = runner.invoke(args=["legacy", "allow-import", "--email", MAIJA, "--reason", "x"])
    assert nothing.exit_code != 0 and "was deleted at the person's request" in nothing.output
