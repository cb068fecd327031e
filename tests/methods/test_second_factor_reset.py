"""Support resets the second factors of someone who lost their phone and their recovery
codes: `tunnus users reset-second-factors`. Every factor and session goes; the password
alone signs in again, and the person can set up a new factor."""
import json
import threading

from idp.methods import passkey_account, second_factor
from idp.models import AuditEvent, Passkey
from tests.support import passkeys
from tests.support.journeys import sign_in
from tests.support.races import WAIT, clone, row_locks
from tests.support.totp import enrol
from tests.support.webauthn_authenticator import Authenticator


def test_reset_removes_every_factor_and_session(app, runner, browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    enrol(browser, user)
    passkeys.add(browser, user, Authenticator(), "Lost phone")
    browser.get("/account")
    assert "/account" in browser.url

    result = runner.invoke(args=["users", "reset-second-factors", "--email", user.email,
                                 "--reason", "ticket 4711: phone lost, identity checked at the desk", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"email": user.email, "totp": 1, "passkeys": 1, "recovery_codes": 10,
                                         "sessions_ended": 1}

    browser.get("/account")  # the session that might be on the lost phone is gone
    assert "/login" in browser.url
    sign_in(browser, user.email, user.test_password)  # no second-factor step any more
    assert "/account" in browser.url and "/totp" not in browser.url and "/passkey" not in browser.url
    record = AuditEvent.query.filter_by(event="second_factors.reset").one()
    assert record.details["reason"].startswith("ticket 4711") and record.details["passkeys"] == 1


def test_unknown_email_is_said_plainly(runner):
    result = runner.invoke(args=["users", "reset-second-factors", "--email", "nobody@example.fi", "--reason", "x"])
    assert result.exit_code == 1 and "No identity with the email address nobody@example.fi." in result.output


class _Pausing:
    """A stand-in for a module attribute whose `name` waits at a barrier after its first call."""
    def __init__(self, real, name, barrier):
        self._real, self._name, self._barrier, self._first = real, name, barrier, threading.Event()

    def __getattr__(self, attr):
        value = getattr(self._real, attr)
        if attr != self._name:
            return value

        def wrapped(*args, **kwargs):
            result = value(*args, **kwargs)
            if not self._first.is_set():
                self._first.set()
                try:
                    self._barrier.wait()
                except threading.BrokenBarrierError:
                    pass
            return result
        return wrapped


@row_locks
def test_a_reset_and_a_passkey_deleted_at_that_moment_do_not_deadlock(app, browser, runner, user, monkeypatch):
    """Before, the reset deleted the factors first and took the person's row after: the
    person deleting a passkey held their row and waited for the passkey's, and PostgreSQL
    rolled one of them back."""
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    passkeys.add(browser, user, Authenticator(), "Phone")
    passkeys.add(browser, user, Authenticator(), "Key")
    browser.get("/account/passkeys")
    target = Passkey.query.order_by(Passkey.id).first().id
    form = browser.form(f"/account/passkeys/{target}/delete")
    barrier = threading.Barrier(2, timeout=WAIT)
    # the reset: after its DELETEs (recovery_codes.left comes right after them); the page: after the person's row
    monkeypatch.setattr(second_factor, "recovery_codes", _Pausing(second_factor.recovery_codes, "left", barrier))
    monkeypatch.setattr(passkey_account, "Identity", _Pausing(passkey_account.Identity, "lock", barrier))
    results = {}

    def page():
        results["page"] = clone(app, browser).post(form["action"], data={**form["fields"],
                                                                        "current_password": user.test_password})

    def support():
        with app.app_context():
            results["cli"] = runner.invoke(args=["users", "reset-second-factors", "--email", user.email,
                                                 "--reason", "ticket 1", "--json"])

    threads = [threading.Thread(target=page), threading.Thread(target=support)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cli, page_answer = results["cli"], results["page"]
    assert cli.exit_code == 0 and page_answer.status_code in (200, 302), \
        (cli.exit_code, repr(cli.exception), page_answer.status_code)
