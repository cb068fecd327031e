"""The account page as its owner meets it: details and language, password, sign-in email
(changed only once the new address is proved), devices signed in, services allowed."""
import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_time

from idp.extensions import db
from idp.flows.email_change import EmailChangeFlow
from idp.models import AuditEvent, Identity
from idp.services import account as account_service, audit, challenges, clock, identities
from tests.support.browser import Browser
from tests.conftest import running_app
from tests.support.forms import made_hours_ago
from tests.support.journeys import authorize, sign_in, tokens_for
from tests.support.orgs import person
from tests.support.races import at_once, barrier_after, clone, meet_after, post, race, row_locks
from tests.support.totp import app_code, enrolled, sign_in_to_code_step

FIREFOX_ON_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_ON_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/126.0.0.0 Mobile Safari/537.36")
SAFARI_ON_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                    "Version/17.5 Mobile/15E148 Safari/604.1")
NEW_PASSWORD = "vihreä kirahvi juoksee aamulla"
NEW_EMAIL = "maija@uusi.example"
OTHER_EMAIL = "maija@toinen.example"


def _browser(app, agent=None):
    browser = Browser(app)
    if agent:
        browser.client.environ_base["HTTP_USER_AGENT"] = agent
    return browser


def _signed_in(app, user, agent=None, email=None, password=None):
    browser = _browser(app, agent)
    browser.get("/account")
    sign_in(browser, email or user.email, password or user.test_password)
    return browser


def _save_profile(browser, **fields):
    # The test browser reads no <select>; a real one always sends the chosen language.
    return browser.submit("/account/profile", **{"locale": "en", **fields})


def _can_sign_in(app, email, password) -> bool:
    browser = _browser(app)
    browser.get("/login")
    sign_in(browser, email, password)
    return browser.page.status_code == 200 and "Your account" in browser.text


def _stored(identity) -> Identity:
    db.session.expire_all()  # read what the requests committed, not this session's copy
    return db.session.get(Identity, identity.id)


def _events():
    return [event.event for event in AuditEvent.query.order_by(AuditEvent.id)]


def test_signed_out_visitor_signs_in_and_comes_back_to_the_account(browser, user):
    browser.get("/account")
    assert "/login/" in browser.url and 'name="email"' in browser.text
    sign_in(browser, user.email, user.test_password)
    assert browser.url.endswith("/account") and "Your account" in browser.text
    assert user.email in browser.text and user.sub in browser.text


def test_profile_update_saves_name_and_normalises_mobile_number(app, user):
    browser = _signed_in(app, user)
    _save_profile(browser, name="  Maija   Virtanen ", phone="040 123 4567")
    assert "Your details were saved." in browser.text
    assert 'value="Maija Virtanen"' in browser.text and 'value="+358401234567"' in browser.text
    stored = _stored(user)
    assert (stored.name, stored.phone) == ("Maija Virtanen", "+358401234567")
    assert "profile.updated" in _events()

    _save_profile(browser, phone="")
    assert _stored(user).phone is None


@pytest.mark.parametrize("typed,stored", [
    ("+358 50 765 4321", "+358507654321"),
    ("00358 40 1234567", "+358401234567"),
    ("+46 70 123 45 67", "+46701234567"),
    ("٠٤٠ ١٢٣ ٤٥٦٧", "+358401234567"),  # typed on an Arabic keyboard
])
def test_mobile_numbers_are_stored_in_international_form(app, user, typed, stored):
    browser = _signed_in(app, user)
    _save_profile(browser, phone=typed)
    assert _stored(user).phone == stored


@pytest.mark.parametrize("phone", ["12345", "09 123 4567", "+358 9 1234567", "040 123 4567 ext 2"])
def test_bad_mobile_number_is_explained_next_to_the_field(app, user, phone):
    browser = _signed_in(app, user)
    _save_profile(browser, name="Maija Virtanen", phone=phone)
    assert browser.page.status_code == 400
    assert "Enter a mobile number, such as 040 123 4567" in browser.text
    # The field is described by its error and takes the focus (the error was there as the page loaded).
    assert 'aria-invalid="true" autofocus aria-describedby="phone-error phone-hint"' in browser.text
    assert 'id="phone-error" class="error" role="alert"' in browser.text
    assert f'value="{phone}"' in browser.text  # what was typed stays for correcting
    assert _stored(user).name == "Maija Meikäläinen"  # nothing saved


def test_name_is_required(app, user):
    browser = _signed_in(app, user)
    _save_profile(browser, name="   ")
    assert browser.page.status_code == 400 and "Enter your name." in browser.text


def test_chosen_language_is_used_and_given_to_services_as_locale(app, rp, user):
    browser = _signed_in(app, user)
    _save_profile(browser, locale="sv")
    assert '<html lang="sv">' in browser.text
    assert _stored(user).locale == "sv"

    tokens = tokens_for(browser, rp, user)
    assert rp.verify_id_token(tokens["id_token"])["locale"] == "sv"
    assert rp.userinfo(tokens["access_token"]).get_json()["locale"] == "sv"
    assert "locale" in rp.http.get("/.well-known/openid-configuration").get_json()["claims_supported"]


def test_a_change_is_confirmed_in_the_section_it_was_made_in(app, user):
    """The page comes back scrolled to that section: a message above the heading would be out of sight."""
    browser = _signed_in(app, user)
    _save_profile(browser, name="Maija Virtanen")
    assert browser.url.endswith("/account#profile")
    profile = re.search(r'<section id="profile".*?</section>', browser.text, re.S).group(0)
    assert '<p class="notice" role="status">Your details were saved.</p>' in profile
    assert browser.text.count("Your details were saved.") == 1

    _signed_in(app, user)  # on another device
    browser.get("/account")
    browser.submit("/account/sessions/end-others")
    sessions = re.search(r'<section id="sessions".*?</section>', browser.text, re.S).group(0)
    assert "1 other device was logged out." in sessions


@pytest.mark.parametrize("hours", [3, 23])
def test_a_form_left_open_for_hours_still_saves(app, user, hours):
    browser = _signed_in(app, user)
    with made_hours_ago(hours):
        browser.get("/account")
    _save_profile(browser, name="Maija Virtanen")
    assert browser.page.status_code == 200 and _stored(user).name == "Maija Virtanen"


def test_a_form_left_open_over_a_day_is_refused_and_try_again_leads_back_to_it(app, user):
    browser = _signed_in(app, user)
    browser.get("/language/fi?next=/account")
    with made_hours_ago(25):
        browser.get("/account")
    _save_profile(browser, name="Maija Virtanen")
    assert browser.page.status_code == 400 and _stored(user).name != "Maija Virtanen"
    assert "<h1>Lomake vanhentui</h1>" in browser.text
    again = re.search(r'<a href="([^"]*)"[^>]*>Yritä uudelleen</a>', browser.text).group(1)
    assert again == "/account"

    browser.get(again)  # the same form, with a fresh token, posts
    _save_profile(browser, name="Maija Virtanen")
    assert browser.page.status_code == 200 and _stored(user).name == "Maija Virtanen"


def test_an_operator_may_keep_forms_for_a_shorter_time(base_config, migrated):
    with running_app(dict(base_config, IDP_CSRF_TOKEN_TTL=3600)) as app:
        maija = person("maija@example.fi")
        browser = _signed_in(app, maija)
        with made_hours_ago(2):
            browser.get("/account")
        _save_profile(browser, name="Maija Virtanen")
        assert browser.page.status_code == 400 and "The form expired" in browser.text


def test_without_profile_scope_there_is_no_locale(app, rp, user):
    browser = _signed_in(app, user)
    _save_profile(browser, locale="fi")
    tokens = tokens_for(browser, rp, user, scope="openid email")
    assert "locale" not in rp.verify_id_token(tokens["id_token"])


def test_password_change_needs_the_current_password(app, user):
    browser = _signed_in(app, user)
    browser.submit("/account/password", current_password="not my password", new_password=NEW_PASSWORD)
    assert browser.page.status_code == 400
    assert "Your current password is not correct." in browser.text
    assert 'aria-describedby="current_password-error"' in browser.text
    assert not _can_sign_in(app, user.email, NEW_PASSWORD)
    assert _can_sign_in(app, user.email, user.test_password)


def test_weak_new_password_is_explained(app, user):
    browser = _signed_in(app, user)
    browser.submit("/account/password", current_password=user.test_password, new_password="salasana123")
    assert browser.page.status_code == 400
    assert "one of the most common" in browser.text and 'id="new_password-error"' in browser.text


def test_password_change_logs_out_other_devices_and_ends_their_tokens(app, rp, user, mailbox):
    other = _browser(app, FIREFOX_ON_WINDOWS)
    theirs = tokens_for(other, rp, user)
    browser = _signed_in(app, user)
    mine = tokens_for(browser, rp, user)

    browser.get("/account")
    browser.submit("/account/password", current_password=user.test_password, new_password=NEW_PASSWORD)
    assert "Your password was changed." in browser.text

    assert rp.refresh(theirs["refresh_token"]).get_json()["error"] == "invalid_grant"
    other.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(other.url)["error"] == "login_required"
    browser.get("/account")
    assert "Your account" in browser.text  # this browser stays signed in
    assert rp.refresh(mine["refresh_token"]).status_code == 200
    assert _can_sign_in(app, user.email, NEW_PASSWORD)
    assert not _can_sign_in(app, user.email, user.test_password)
    assert "identity.password_changed" in _events()
    assert mailbox.last(user.email)["Subject"] == "Your Tunnus password was changed"


def test_the_password_changed_mail_gives_the_time_in_finnish_time_with_its_offset(app, user, mailbox):
    browser = _signed_in(app, user)
    browser.get("/account")
    before = clock.now()
    browser.submit("/account/password", current_password=user.test_password, new_password=NEW_PASSWORD)
    after = clock.now()
    text = mailbox.text(mailbox.last(user.email))
    helsinki = [moment.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Europe/Helsinki")) for moment in (before, after)]
    # With its offset, as a mail may be read abroad: "3:05 PM (GMT+03:00)".
    shown = {f"{format_time(local, 'short', locale='en')} (GMT+0{local.utcoffset().seconds // 3600}:00)" for local in helsinki}
    assert any(f" {time}. You were signed out" in text for time in shown), text
    assert "UTC" not in text


def _start_email_change(browser, new_email, password):
    browser.get("/account")
    return browser.submit("/account/email", new_email=new_email, current_password=password)


def test_email_changes_only_after_the_code_and_the_old_address_is_told(app, user, mailbox):
    old_email = user.email
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    assert f"We sent a 6-digit code to {NEW_EMAIL}" in browser.text
    assert mailbox.last(NEW_EMAIL)["Subject"] == "Confirm your new sign-in email address"

    assert _can_sign_in(app, old_email, user.test_password)
    assert not _can_sign_in(app, NEW_EMAIL, user.test_password)

    browser.submit("/account/email/", code="000000" if mailbox.code(NEW_EMAIL) != "000000" else "111111")
    assert browser.page.status_code == 400 and "Attempts left: 4" in browser.text
    browser.submit("/account/email/", code=mailbox.code(NEW_EMAIL))
    assert f"Your sign-in email address is now {NEW_EMAIL}." in browser.text
    assert f'class="email">{NEW_EMAIL}<' in browser.text

    assert _can_sign_in(app, NEW_EMAIL, user.test_password)
    assert not _can_sign_in(app, old_email, user.test_password)
    notice = mailbox.last(old_email)
    assert notice["Subject"] == "Your sign-in email was changed"
    assert f"changed to {NEW_EMAIL} on " in mailbox.text(notice) and " (GMT+0" in mailbox.text(notice)
    assert _stored(user).email_verified
    assert {"email_change.requested", "email.changed"} <= set(_events())


def test_a_reset_code_mailed_to_the_old_address_opens_nothing_after_the_change(app, user, mailbox):
    """Whoever still reads the old mailbox is shut out by the move, also mid-reset."""
    old_email = user.email
    stranger = _browser(app)
    stranger.get("/recovery")
    stranger.submit("/recovery", email=old_email)
    code = mailbox.code(old_email)
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    browser.submit("/account/email/", code=mailbox.code(NEW_EMAIL))
    assert f"Your sign-in email address is now {NEW_EMAIL}." in browser.text
    stranger.submit("/recovery/", code=code)
    assert stranger.page.status_code == 410 and "New password" not in stranger.text


def test_a_login_parked_at_the_second_factor_is_told_the_address_changed(app, user, mailbox):
    """A sign-in begun before the move asks its user to sign in again, with the new address."""
    secret, _ = enrolled(app, user)
    parked = _browser(app)
    sign_in_to_code_step(parked, user)
    browser = _browser(app)
    sign_in_to_code_step(browser, user)
    browser.submit("/totp", code=app_code(secret))
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    browser.submit("/account/email/", code=mailbox.code(NEW_EMAIL))

    parked.submit("/totp", code=app_code(secret))
    assert parked.page.status_code == 410
    assert "Sign in again with the new email address." in parked.text and "Your account" not in parked.text


def test_email_change_by_the_link_in_the_mail(app, user, mailbox):
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    link = mailbox.link(NEW_EMAIL, "/confirm/")

    elsewhere = _browser(app)  # e.g. the phone the mail was read on, not signed in
    elsewhere.get(link)
    assert f"Make {NEW_EMAIL} the sign-in email" in elsewhere.text
    assert _stored(user).email == user.email  # opening alone changes nothing
    elsewhere.submit("/confirm/")
    assert "Email address changed" in elsewhere.text
    assert _can_sign_in(app, NEW_EMAIL, user.test_password)

    elsewhere.get(link)
    assert "This link is no longer valid" in elsewhere.text


def test_an_address_taken_before_the_link_is_confirmed_is_said_so_on_the_link_page(app, user, mailbox):
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    link = mailbox.link(NEW_EMAIL, "/confirm/")
    identities.create(NEW_EMAIL, "toisen ihmisen salasana", "Toinen", verified=True)
    db.session.commit()

    elsewhere = _browser(app)
    elsewhere.get(link)
    elsewhere.submit("/confirm/")
    assert elsewhere.page.status_code == 400
    assert "This address now belongs to another account." in elsewhere.text
    assert "too many wrong codes" not in elsewhere.text
    assert _stored(user).email == user.email


def _neutral(page: str, email: str) -> str:
    """The page without what differs anyway: the address typed, the flow id, and the CSRF
    token (signed with the second it was made in)."""
    page = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value="TOKEN"', page.replace(email, "ADDRESS"))
    return re.sub(r"/account/email/[\w-]+", "/account/email/ID", page)


@row_locks
def test_email_change_codes_typed_at_once_all_count(app, user, mailbox, monkeypatch):
    """Six wrong codes at once void the code as six typed one after another do."""
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    right = mailbox.code(NEW_EMAIL)
    barrier_after(monkeypatch, challenges, "redeem_code", parties=6)
    answers = race(app, browser, "/account/email/", times=6, code=f"{(int(right) + 1) % 10**6:06d}")
    assert [a.status_code for a in answers] == [400] * 6
    monkeypatch.undo()
    browser.submit("/account/email/", code=right)
    assert "This code is no longer valid." in browser.text
    assert _stored(user).email == user.email


@row_locks
def test_a_double_clicked_email_change_code_changes_the_address(app, user, mailbox, monkeypatch):
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    barrier_after(monkeypatch, challenges, "redeem_code")
    answers = race(app, browser, "/account/email/", code=mailbox.code(NEW_EMAIL))
    assert [a.status_code for a in answers] == [302, 302]
    assert _stored(user).email == NEW_EMAIL


@row_locks
def test_two_email_changes_of_one_account_confirmed_at_once_one_address_is_taken(app, user, mailbox, monkeypatch):
    """In two tabs the owner asked to move the account to two addresses, and types both codes
    at the same moment. Both are answered, not one with an error: one address becomes the
    sign-in email, and the other change is found over (the one confirmed ends every other
    journey about the account), the address it asked for opening nothing."""
    first = _signed_in(app, user)
    second = Browser(app)
    second.client = clone(app, first)  # another tab of the same browser
    _start_email_change(first, NEW_EMAIL, user.test_password)
    _start_email_change(second, OTHER_EMAIL, user.test_password)
    # Each, once it holds its journey (and the person's row before it), waits for the other's.
    barrier_after(monkeypatch, EmailChangeFlow, "_lock")
    answers = at_once(post(app, first, "/account/email/", code=mailbox.code(NEW_EMAIL)),
                      post(app, second, "/account/email/", code=mailbox.code(OTHER_EMAIL)))
    monkeypatch.undo()

    assert sorted(a.status_code for a in answers) == [302, 410], [a.status_code for a in answers]
    won, lost = (NEW_EMAIL, OTHER_EMAIL) if answers[0].status_code == 302 else (OTHER_EMAIL, NEW_EMAIL)
    assert "Another change of the sign-in email was confirmed" in next(
        a for a in answers if a.status_code == 410).get_data(as_text=True)
    assert _stored(user).email == won
    assert _can_sign_in(app, won, user.test_password) and not _can_sign_in(app, lost, user.test_password)
    assert _events().count("email.changed") == 1


@row_locks
def test_two_accounts_confirming_the_same_new_address_at_once_one_gets_it(app, user, mailbox, monkeypatch):
    """Both find the address free before either has taken it: the later one is told it
    now belongs to another account, as when it was taken a moment earlier."""
    other = person("toinen@example.fi", "Toinen")
    browsers = []
    for identity in (user, other):
        browser = _signed_in(app, identity, password=identity.test_password)
        _start_email_change(browser, NEW_EMAIL, identity.test_password)
        browsers.append((browser, mailbox.code(NEW_EMAIL)))
    barrier_after(monkeypatch, Identity, "by_email")  # each has checked the address is free
    answers = at_once(*(post(app, browser, "/account/email/", code=code) for browser, code in browsers))
    monkeypatch.undo()

    assert sorted(a.status_code for a in answers) == [302, 400]
    won, lost = (user, other) if answers[0].status_code == 302 else (other, user)
    page = next(a for a in answers if a.status_code == 400).get_data(as_text=True)
    assert "This address now belongs to another account." in page
    assert _stored(won).email == NEW_EMAIL and _stored(lost).email != NEW_EMAIL
    assert _can_sign_in(app, NEW_EMAIL, won.test_password)
    assert _can_sign_in(app, lost.email, lost.test_password)


@row_locks
def test_details_saved_as_an_email_change_is_confirmed_in_another_tab_are_answered_both(app, user, mailbox,
                                                                                       monkeypatch):
    """The owner saves a new name in one tab at the moment the code of an email change is
    typed in another. Both are answered, not one with an error: the name is saved and the
    address changed, whichever comes first."""
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    code = mailbox.code(NEW_EMAIL)
    details = Browser(app)
    details.client = clone(app, browser)  # another tab of the same browser
    details.get("/account")
    # The change holds its journey (and the person's row before it) as the save has its
    # audit record ready; then each goes on.
    meet_after(monkeypatch, (EmailChangeFlow, "_lock"), (audit, "record"))
    saved, changed = at_once(post(app, details, "/account/profile", name="Maija Virtanen", locale="en"),
                             post(app, browser, "/account/email/", code=code))
    monkeypatch.undo()

    assert (saved.status_code, changed.status_code) == (302, 302), (saved.status_code, changed.status_code)
    stored = _stored(user)
    assert (stored.name, stored.email) == ("Maija Virtanen", NEW_EMAIL)
    assert _can_sign_in(app, NEW_EMAIL, user.test_password)
    assert {"profile.updated", "email.changed"} <= set(_events())


def test_email_change_to_an_address_in_use_looks_the_same_and_tells_its_owner(app, user, mailbox):
    identities.create("toinen@example.fi", "toinen salasana 123", "Toinen", verified=True)
    browser = _signed_in(app, user)
    free = _neutral(_start_email_change(browser, NEW_EMAIL, user.test_password).get_data(as_text=True), NEW_EMAIL)
    status_free = browser.page.status_code
    taken = _neutral(_start_email_change(browser, "Toinen@Example.fi", user.test_password).get_data(as_text=True),
                     "Toinen@Example.fi")
    assert browser.page.status_code == status_free and taken == free

    notice = mailbox.last("toinen@example.fi")
    assert notice["Subject"] == "This address already has a Tunnus account"
    assert not re.search(r"\b\d{3} ?\d{3}\b", mailbox.text(notice))
    browser.submit("/account/email/", code="123456")
    assert _stored(user).email == user.email
    assert _can_sign_in(app, "toinen@example.fi", "toinen salasana 123")


def test_email_change_asks_the_current_password(app, user, mailbox):
    """A stolen session alone must not move the account to another address."""
    browser = _signed_in(app, user)
    for password in ("", "wrong password"):
        _start_email_change(browser, NEW_EMAIL, password)
        assert browser.page.status_code == 400 and 'id="email_current_password-error"' in browser.text
        assert "Your current password is not correct." in browser.text
        assert 'id="current_password-error"' not in browser.text  # not under the password change form
    assert not mailbox.messages
    assert [e for e in AuditEvent.query.filter_by(event="email_change.requested").order_by(AuditEvent.id)][0].result == "failure"


def test_wrong_current_passwords_make_the_account_wait_as_at_login(app, user, mailbox):
    """Someone holding a stolen session guessed the password here from many addresses, with
    no wait; a right guess then moved the account to their address."""
    browser = _signed_in(app, user)
    for n in range(app.config["IDP_LOGIN_DELAY_AFTER"] + 1):
        browser.client.environ_base["REMOTE_ADDR"] = f"203.0.113.{n + 1}"
        _start_email_change(browser, NEW_EMAIL, f"guess {n}")
    browser.client.environ_base["REMOTE_ADDR"] = "203.0.113.99"
    _start_email_change(browser, NEW_EMAIL, user.test_password)  # right, but the account waits
    assert browser.page.status_code == 400 and "Too many attempts. Try again in 1 minute." in browser.text
    assert not mailbox.messages and AuditEvent.query.filter_by(event="identity.locked").count() == 1
    clock.advance(61)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    assert mailbox.last(NEW_EMAIL)


def test_the_email_change_form_names_whose_password_it_asks(app, user):
    """Password managers take the field marked username, else the field before the password
    (here the new address) as the account the current password belongs to."""
    browser = _signed_in(app, user)
    form = browser.form("/account/email")
    assert form["fields"]["username"] == user.email


def test_email_change_to_the_current_address_or_nonsense_is_explained(app, user, mailbox):
    browser = _signed_in(app, user)
    _start_email_change(browser, user.email.lower(), user.test_password)
    assert browser.page.status_code == 400 and "already your sign-in email" in browser.text
    _start_email_change(browser, "not an address", user.test_password)
    assert 'id="new_email-error"' in browser.text and "Enter a valid email address" in browser.text


def test_undeliverable_code_is_said_plainly(app, user, smtp_down):
    browser = _signed_in(app, user)
    _start_email_change(browser, NEW_EMAIL, user.test_password)
    assert "We could not send the message right now." in browser.text


def test_sessions_list_shows_other_devices_and_logs_one_out(app, rp, user):
    other = _browser(app, FIREFOX_ON_WINDOWS)
    theirs = tokens_for(other, rp, user)
    browser = _signed_in(app, user, CHROME_ON_ANDROID)
    browser.get("/account")
    assert "Firefox on Windows" in browser.text
    assert re.search(r"Chrome on Android</strong>\s*<span class=\"tag\">This device", browser.text)
    assert "IP address 127.0.0.1" in browser.text

    session_id = re.search(r'id="session-(\d+)">Firefox on Windows', browser.text).group(1)
    browser.submit(f"/account/sessions/{session_id}/end")
    assert "The device was logged out." in browser.text and "Firefox on Windows" not in browser.text
    other.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(other.url)["error"] == "login_required"
    assert rp.refresh(theirs["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert "session.ended" in _events()


def test_log_out_all_other_devices(app, rp, user):
    others = [_signed_in(app, user, FIREFOX_ON_WINDOWS), _signed_in(app, user, SAFARI_ON_IPHONE)]
    browser = _signed_in(app, user, CHROME_ON_ANDROID)
    assert "Safari on iPhone" in browser.text
    browser.submit("/account/sessions/end-others")
    assert "2 other devices were logged out." in browser.text
    assert "Safari on iPhone" not in browser.text and "Chrome on Android" in browser.text
    for other in others:
        other.get("/account")
        assert "/login/" in other.url


def test_log_out_all_other_devices_counts_only_the_devices_listed(app, user):
    """Sessions that ran out are not listed; they are ended too, but not counted. Before,
    the page said 4 other devices were logged out, of 1 listed."""
    for _ in range(3):  # yesterday's visits, each in a browser since closed
        _signed_in(app, user, SAFARI_ON_IPHONE)
    clock.advance(13 * 3600)
    _signed_in(app, user, FIREFOX_ON_WINDOWS)
    browser = _signed_in(app, user)
    assert "Safari on iPhone" not in browser.text and browser.text.count('id="session-') == 2
    browser.submit("/account/sessions/end-others")
    assert "1 other device was logged out." in browser.text


def test_a_device_logged_out_already_is_answered_as_logged_out(app, user):
    """A double click, or a list left open while the device logged itself out. Before, the
    second click was "Page not found"."""
    _signed_in(app, user, FIREFOX_ON_WINDOWS)
    browser = _signed_in(app, user)
    session_id = re.search(r'id="session-(\d+)">Firefox on Windows', browser.text).group(1)
    form = browser.form(f"/account/sessions/{session_id}/end")
    answers = [browser.client.post(form["action"], data=form["fields"]) for _ in range(2)]
    assert [a.status_code for a in answers] == [302, 302]
    browser.get(answers[1].headers["Location"])
    assert "The device was logged out." in browser.text
    assert _events().count("session.ended") == 1


def test_logging_out_this_device_from_the_list_signs_out(app, user):
    browser = _signed_in(app, user)
    session_id = re.search(r'id="session-(\d+)"', browser.text).group(1)
    browser.submit(f"/account/sessions/{session_id}/end")
    assert "/login/" in browser.url


def test_nobody_can_end_someone_elses_session(app, user):
    stranger = identities.create("vieras@example.fi", "vieraan salasana 99", "Vieras", verified=True)
    theirs = _signed_in(app, stranger, email="vieras@example.fi", password="vieraan salasana 99")
    their_id = re.search(r'id="session-(\d+)"', theirs.text).group(1)
    browser = _signed_in(app, user)
    response = browser.client.post(f"/account/sessions/{their_id}/end",
                                   data={"csrf_token": browser.form("/account/profile")["fields"]["csrf_token"]})
    assert response.status_code == 404
    theirs.get("/account")
    assert "Your account" in theirs.text


def test_allowed_services_are_listed_and_access_can_be_removed(app, browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    browser.get("/account")
    assert "Kirjasto" in browser.text and "Remove access" in browser.text
    browser.submit("/account/services/")
    assert "Kirjasto can no longer use your account." in browser.text
    assert 'id="service-' not in browser.text

    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    browser.get(rp.authorize_url())
    assert "Kirjasto wants to use your Tunnus account" in browser.text
    assert "consent.revoked" in _events()


def test_a_code_issued_before_access_was_removed_gets_no_tokens_after(app, browser, rp, user):
    tokens_for(browser, rp, user)  # consented once
    unredeemed = authorize(browser, rp, user)["code"]  # the service had not yet exchanged it
    browser.get("/account")
    browser.submit("/account/services/")
    assert "Kirjasto can no longer use your account." in browser.text
    assert rp.redeem(unredeemed).get_json()["error"] == "invalid_grant"


def test_forms_without_csrf_token_are_refused(app, user):
    browser = _signed_in(app, user)
    response = browser.client.post("/account/profile", data={"name": "Hijacked"})
    assert response.status_code == 400
    assert _stored(user).name == "Maija Meikäläinen"


@pytest.mark.parametrize("agent,shown", [
    (FIREFOX_ON_WINDOWS, "Firefox on Windows"),
    (CHROME_ON_ANDROID, "Chrome on Android"),
    (SAFARI_ON_IPHONE, "Safari on iPhone"),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
     "Safari/537.36 Edg/126.0", "Edge on macOS"),
    ("curl/8.5.0", "Unknown device"),
])
def test_devices_are_named_briefly(app, user, agent, shown):
    browser = _signed_in(app, user, agent)
    assert f">{shown}</strong>" in browser.text


@row_locks
def test_two_password_changes_at_once_from_two_devices_let_only_the_first_stand(app, user, monkeypatch):
    """Signed in on two devices (the owner's, and one the owner wants shut out, its holder
    knowing the old password), both change the password at the same moment. The first to
    finish stands and logs the other device out; the other was checked against a password
    that no longer is the account's, and is refused (before, it replaced the first one)."""
    devices = [_signed_in(app, user) for _ in range(2)]
    for device in devices:
        device.get("/account")
    # Both have checked the current password before either saves its new one.
    barrier_after(monkeypatch, account_service, "confirm_password")
    answers = at_once(*(post(app, device, "/account/password", current_password=user.test_password,
                             new_password=new) for device, new in zip(devices, ("first new passphrase 1",
                                                                                 "second new passphrase 2"))))
    monkeypatch.undo()

    assert sorted(answer.status_code for answer in answers) == [302, 400], [a.status_code for a in answers]
    won, lost = ("first new passphrase 1", "second new passphrase 2")[::1 if answers[0].status_code == 302 else -1]
    refused = next(answer for answer in answers if answer.status_code == 400).get_data(as_text=True)
    assert "Your current password is not correct." in refused
    assert _can_sign_in(app, user.email, won)
    assert not _can_sign_in(app, user.email, lost)


@row_locks
def test_a_double_clicked_removal_of_a_service_is_recorded_once(app, browser, rp, user, monkeypatch):
    tokens_for(browser, rp, user)
    browser.get("/account")
    barrier_after(monkeypatch, Identity, "lock")  # both have found the service before either removes it
    answers = race(app, browser, "/account/services/")
    assert [answer.status_code for answer in answers] == [302, 302]
    assert AuditEvent.query.filter_by(event="consent.revoked").count() == 1
