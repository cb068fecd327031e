"""Two-step verification (TOTP) as a person meets it: set up from the account page,
asked after the password at every login (a password reset included), single-use codes,
a lock after 5 wrong codes, recovery codes, and turning it off."""
from idp.extensions import db
from idp.methods import totp
from idp.methods.levels import ACR_MULTI_FACTOR
from idp.models import AuditEvent, TotpCredential
from idp.services import account, clock, secrets_box
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in
from tests.support.races import barrier_after, race, row_locks
from tests.support.totp import (app_code, enrol, enrolled, new_recovery_codes, recovery_codes_on, secret_on,
                                sign_in_to_code_step, wrong_code)

NOT_CORRECT = "The code is not correct."


def events(name):
    return [e.result for e in AuditEvent.query.filter_by(event=name).order_by(AuditEvent.id)]


def signed_in_browser(app, user):
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert "Your account" in browser.text
    return browser


def test_setup_shows_a_qr_code_and_the_key_and_refuses_a_wrong_first_code(app, user):
    browser = signed_in_browser(app, user)
    assert "Two-step verification" in browser.text and "Set up two-step verification" in browser.text
    browser.get("/account/totp/setup")
    assert '<img class="qr" src="data:image/svg+xml' in browser.text
    assert 'alt="QR code for your authenticator app"' in browser.text
    secret = secret_on(browser.text)
    assert len(secret) == 32
    browser.get("/account/totp/setup")  # a reload keeps the key the app may already have scanned
    assert secret_on(browser.text) == secret

    browser.submit("/account/totp/setup", code=wrong_code(secret), current_password=user.test_password)
    assert browser.page.status_code == 400 and "The code is not correct" in browser.text
    browser.submit("/account/totp/setup", code=app_code(secret), current_password="not my password")
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    browser.get("/account")
    assert "Set up two-step verification" in browser.text

    browser.get("/account/totp/setup")
    browser.submit("/account/totp/setup", code=app_code(secret), current_password=user.test_password)
    assert "Two-step verification is on." in browser.text and "they are not shown again" in browser.text
    codes = recovery_codes_on(browser.text)
    assert len(set(codes)) == 10
    browser.get("/account")
    assert "10 recovery codes left." in browser.text and "Manage two-step verification" in browser.text
    assert events("totp.enrolled") == ["failure", "success"]


def test_the_secret_is_stored_encrypted(app, user):
    browser = signed_in_browser(app, user)
    secret, _ = enrol(browser, user)
    stored = db.session.execute(db.select(TotpCredential).filter_by(identity_id=user.id)).scalar_one()
    assert secret not in stored.secret_encrypted and secret.lower() not in stored.secret_encrypted.lower()
    assert stored.confirmed_at is not None
    assert secrets_box.decrypt(stored.secret_encrypted) == secret


def test_login_asks_for_the_code_after_the_password(app, browser, user):
    secret, _ = enrolled(app, user)
    page = sign_in_to_code_step(browser, user)
    assert 'autocomplete="one-time-code"' in browser.text and 'inputmode="numeric"' in browser.text
    assert "Use a recovery code instead" in browser.text and page.status_code == 200
    browser.get("/account")
    assert "/login" in browser.url and "Your account" not in browser.text  # not signed in yet

    sign_in_to_code_step(browser, user)
    browser.submit("/totp", code=wrong_code(secret))
    assert browser.page.status_code == 400 and NOT_CORRECT in browser.text
    browser.submit("/totp", code=app_code(secret))
    assert "Your account" in browser.text and user.email in browser.text
    assert events("login.totp") == ["failure", "success"]


def test_a_used_code_is_refused_in_its_window(app, browser, user):
    secret, _ = enrolled(app, user)
    sign_in_to_code_step(browser, user)
    code = app_code(secret)
    browser.submit("/totp", code=code)
    assert "Your account" in browser.text

    other = Browser(app)
    sign_in_to_code_step(other, user)
    other.submit("/totp", code=code)
    assert other.page.status_code == 400 and "That code was already used" in other.text
    other.submit("/totp", code=app_code(secret, -1))  # the step before is over too
    assert other.page.status_code == 400
    clock.advance(30)
    other.submit("/totp", code=app_code(secret))
    assert "Your account" in other.text


# Phone keyboards in Arabic, Persian and other languages type their own digits.
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def test_a_code_typed_in_another_scripts_digits_is_the_same_code(app, user):
    browser = signed_in_browser(app, user)
    browser.get("/account/totp/setup")
    secret = secret_on(browser.text)
    browser.submit("/account/totp/setup", code=app_code(secret).translate(PERSIAN), current_password=user.test_password)
    assert "Two-step verification is on." in browser.text
    clock.advance(30)

    other = Browser(app)
    sign_in_to_code_step(other, user)
    other.submit("/totp", code=wrong_code(secret).translate(ARABIC_INDIC))
    assert other.page.status_code == 400 and NOT_CORRECT in other.text
    other.submit("/totp", code=app_code(secret).translate(ARABIC_INDIC))
    assert "Your account" in other.text
    clock.advance(30)

    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password=user.test_password, code="١٢٣٤٥x")
    assert browser.page.status_code == 400 and NOT_CORRECT in browser.text
    browser.submit("/account/totp/disable", current_password=user.test_password,
                   code=app_code(secret).translate(FULLWIDTH))
    assert "Two-step verification is off." in browser.text


def test_the_code_step_before_the_password_sends_back_to_the_login(app, browser, user):
    enrolled(app, user)
    browser.get("/login")
    login_page = browser.url
    for step in ("/totp", "/totp/recovery"):
        browser.get(login_page + step, follow=False)
        assert browser.page.status_code == 302 and browser.page.headers["Location"].endswith(login_page)


def test_five_wrong_codes_lock_the_step_for_fifteen_minutes(app, browser, user):
    secret, _ = enrolled(app, user)
    sign_in_to_code_step(browser, user)
    for _ in range(4):
        browser.submit("/totp", code=wrong_code(secret))
        assert browser.page.status_code == 400 and NOT_CORRECT in browser.text
    browser.submit("/totp", code=wrong_code(secret))
    assert browser.page.status_code == 429 and "Too many wrong codes. Wait 15 minutes and try again." in browser.text
    browser.submit("/totp", code=app_code(secret))  # even the right code, from any browser
    assert browser.page.status_code == 429
    other = Browser(app)
    sign_in_to_code_step(other, user)
    other.submit("/totp", code=app_code(secret))
    assert other.page.status_code == 429

    clock.advance(14 * 60)
    browser.submit("/totp", code=app_code(secret))
    assert browser.page.status_code == 429
    clock.advance(61)
    browser.submit("/totp", code=app_code(secret))
    assert "Your account" in browser.text
    assert events("totp.locked") == ["success"]


def test_a_recovery_code_works_once_instead_of_the_app(app, browser, user):
    _, codes = enrolled(app, user)
    sign_in_to_code_step(browser, user)
    browser.get(browser.url + "/recovery")
    assert "Recovery code" in browser.text and "Use your authenticator app instead" in browser.text
    browser.submit("/totp/recovery", code=codes[0].upper().replace("-", " "))  # as typed from paper
    assert "Your account" in browser.text and "9 recovery codes left." in browser.text

    other = Browser(app)
    sign_in_to_code_step(other, user)
    other.get(other.url + "/recovery")
    other.submit("/totp/recovery", code=codes[0])
    assert other.page.status_code == 400 and "The recovery code is not correct." in other.text
    assert events("recovery_code.used") == ["success"]


def test_new_recovery_codes_need_the_password_and_replace_the_old_ones(app, user):
    browser = signed_in_browser(app, user)
    _, old_codes = enrol(browser, user)
    new_codes = new_recovery_codes(browser, user, "/account/totp", unused=10)
    assert not set(new_codes) & set(old_codes)
    assert events("recovery_codes.regenerated") == ["failure", "success"]

    fresh = Browser(app)
    sign_in_to_code_step(fresh, user)
    fresh.get(fresh.url + "/recovery")
    fresh.submit("/totp/recovery", code=old_codes[1])
    assert fresh.page.status_code == 400
    fresh.submit("/totp/recovery", code=new_codes[1])
    assert "Your account" in fresh.text


def test_turning_it_off_needs_the_password_and_a_current_code(app, user):
    browser = signed_in_browser(app, user)
    secret, _ = enrol(browser, user)
    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password="not my password", code=app_code(secret))
    assert browser.page.status_code == 400 and "Your current password is not correct." in browser.text
    browser.submit("/account/totp/disable", current_password=user.test_password, code=wrong_code(secret))
    assert browser.page.status_code == 400 and NOT_CORRECT in browser.text
    browser.submit("/account/totp/disable", current_password=user.test_password, code=app_code(secret))
    assert "Two-step verification is off." in browser.text and "Set up two-step verification" in browser.text
    assert events("totp.disabled")[-1] == "success"

    fresh = signed_in_browser(app, user)  # the password alone signs in again
    assert "Your account" in fresh.text


def test_turning_it_off_with_a_recovery_code(app, user):
    browser = signed_in_browser(app, user)
    _, codes = enrol(browser, user)
    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password=user.test_password, code=codes[3])
    assert "Two-step verification is off." in browser.text


def test_a_password_reset_still_asks_for_the_code(app, browser, user, mailbox):
    secret, _ = enrolled(app, user)
    browser.get("/recovery")
    browser.submit("/recovery", email=user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    step = browser.url  # before the new password: the mailed code alone changes nothing
    assert "/totp" in step and "Your account" not in browser.text
    assert 'autocomplete="new-password"' not in browser.text
    browser.get("/account")
    assert "Your account" not in browser.text  # the reset alone did not sign in
    browser.get(step)
    browser.submit("/totp", code=app_code(secret))
    browser.submit("/password", password="lumikko juoksee hangella", confirm="lumikko juoksee hangella")
    assert "Your account" in browser.text  # signed in, the code not asked again


def test_the_seed_shown_to_another_session_is_not_the_one_the_person_turns_on(app, rp, user):
    """A session of the person's someone else holds (a stolen cookie, a shared computer)
    opened the setup page. Before, the person was later shown that same seed, turned it on,
    and the other session stepped up with codes made from it."""
    other = Browser(app)
    authorize(other, rp, user)
    other.get("/account/totp/setup")
    seen = secret_on(other.text)
    person = signed_in_browser(app, user)
    person.get("/account/totp/setup")
    scanned = secret_on(person.text)
    assert scanned != seen
    person.submit("/account/totp/setup", code=app_code(scanned), current_password=user.test_password)
    assert len(recovery_codes_on(person.text)) == 10
    clock.advance(30)
    other.get(rp.authorize_url(acr_values=ACR_MULTI_FACTOR))
    other.submit("/login/step-up", code=app_code(seen))
    assert other.page.status_code == 400 and "/login/step-up" in other.url


@row_locks
def test_a_double_clicked_setup_is_answered_as_on_both_times(app, user, monkeypatch):
    """The later click found the code's time step used by the first. Before, it said "The
    code is not correct" though the app was on; if that was the last answer, the person
    believed it off and never saw the recovery codes."""
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/account/totp/setup")
    secret = secret_on(browser.text)
    barrier_after(monkeypatch, account, "confirm_password")
    answers = race(app, browser, "/account/totp/setup", code=app_code(secret), current_password=user.test_password)
    pages = sorted((answer.status_code, answer.get_data(as_text=True)) for answer in answers)
    assert [status for status, _ in pages] == [200, 302]
    assert "Two-step verification is on." in pages[0][1] and "The code is not correct" not in pages[0][1]
    assert AuditEvent.query.filter_by(event="totp.enrolled", result="success").count() == 1


@row_locks
def test_a_double_clicked_turning_off_is_answered_as_off_both_times(app, user, monkeypatch):
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    secret, _ = enrol(browser, user)
    browser.get("/account/totp")
    barrier_after(monkeypatch, account, "confirm_password")
    answers = race(app, browser, "/account/totp/disable", code=app_code(secret), current_password=user.test_password)
    assert [answer.status_code for answer in answers] == [302, 302]
    assert [(e.result, (e.details or {}).get("reason")) for e in AuditEvent.query.filter_by(event="totp.disabled")] \
        == [("success", None)]


@row_locks
def test_a_burst_of_wrong_codes_at_once_checks_no_more_than_the_lock_allows(app, browser, user, monkeypatch):
    """Before, the lock was read before the check and counted after it: each of the codes
    sent together was checked against the app (14 to 18 of a burst of 20)."""
    app.config["IDP_LOGIN_ACCOUNT_RATE_LIMIT"] = "100 per minute"
    secret, _ = enrolled(app, user)
    sign_in_to_code_step(browser, user)
    barrier_after(monkeypatch, totp, "_guard", parties=9)
    race(app, browser, "/totp", times=9, code=wrong_code(secret))
    reasons = [e.details["reason"] for e in AuditEvent.query.filter_by(event="login.totp", result="failure")]
    assert sorted(reasons) == ["locked"] * 4 + ["wrong"] * app.config["IDP_TOTP_LOCK_THRESHOLD"]
    assert AuditEvent.query.filter_by(event="totp.locked").count() == 1


def test_an_app_sealed_under_a_key_no_longer_configured_is_told_not_a_500(app, user, caplog):
    """IDP_SECRET_KEY changed without its earlier value in IDP_SECRET_KEY_FALLBACKS: before,
    every code at the login's step was a 500."""
    secret, _ = enrolled(app, user)
    app.config["IDP_SECRET_KEY"], app.config["IDP_SECRET_KEY_FALLBACKS"] = "another-secret-" + "x" * 40, []
    app.extensions.pop("idp.derived_keys", None)
    browser = Browser(app)
    sign_in_to_code_step(browser, user)
    browser.submit("/totp", code=app_code(secret))
    assert browser.page.status_code == 503 and "Contact support" in browser.text
    assert "sealed under a key neither IDP_SECRET_KEY nor in IDP_SECRET_KEY_FALLBACKS" in caplog.text

