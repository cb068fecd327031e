"""Support resets the second factors of someone who lost their phone and their recovery
codes: `tunnus users reset-second-factors`. Every factor and session goes; the password
alone signs in again, and the person can set up a new factor."""
import json

from idp.models import AuditEvent
from tests.support import passkeys
from tests.support.journeys import sign_in
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
