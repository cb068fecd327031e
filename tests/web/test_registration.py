"""Registration as a person meets it: the form, the emailed code or link, and the rules that
keep it honest (no account enumeration, single-use expiring proofs, plain mail failures)."""
import re

import pytest

from idp import create_app
from idp.extensions import db
from idp.flows import registration
from idp.models import AuditEvent, Identity
from idp.services import challenges, clock, passwords
from tests.conftest import IsolatedClient
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.legacy import imported
from tests.support.races import at_once, barrier_after, post, race, row_locks
from tests.support.totp import enrol

EMAIL = "uusi.kayttaja@example.fi"
NAME = "Uusi Käyttäjä"
PASSWORD = "purple otter climbs marble stairs"
DAY = 24 * 3600
CHECK_MAIL = "We sent a 6-digit code to"
VOID = "This code can no longer be used"
NOT_SENT = "We could not send the email. Try again in a moment; if it keeps failing, contact customer service."
VERIFIED = "Your email address is verified. You can now sign in."


def register(browser, email=EMAIL, name=NAME, password=PASSWORD, repeat=None, start="/register"):
    browser.get(start)
    return browser.submit("/register/", email=email, name=name, password=password,
                          password_repeat=password if repeat is None else repeat)


def enter_code(browser, code):
    return browser.submit("/verify", code=code)


def stored(email=EMAIL):
    db.session.expire_all()
    return Identity.by_email(email)


def events():
    return [e.event for e in AuditEvent.query.order_by(AuditEvent.id)]


def test_register_from_the_login_page_and_verify_by_code(browser, mailbox):
    browser.get("/login")
    link = re.search(r'href="([^"]+)">Create one<', browser.text).group(1)
    browser.get(link.replace("&amp;", "&"))
    browser.submit("/register/", email=EMAIL, name=NAME, password=PASSWORD, password_repeat=PASSWORD)
    assert CHECK_MAIL in browser.text and EMAIL in browser.text
    assert 'autocomplete="one-time-code"' in browser.text and 'inputmode="numeric"' in browser.text
    assert stored() is None  # no account before the address is proven

    mail = mailbox.last(EMAIL)
    assert mail["Subject"] == "Confirm your email address"
    assert re.search(r"\b\d{3} \d{3}\b", mailbox.text(mail))  # readable: "123 456"
    enter_code(browser, mailbox.code(EMAIL))
    assert "Your account" in browser.text and EMAIL in browser.text and "Log out" in browser.text
    identity = stored()
    assert identity.email_verified and identity.name == NAME and identity.locale == "en"
    assert {"registration.started", "email.verified", "session.started"} <= set(events())


def test_the_name_is_kept_on_one_line_without_control_characters(browser, mailbox):
    """Pasted from a document, a name brings its line breaks and tabs; typed on purpose, an
    escape sequence that would recolour the terminal of an operator listing people."""
    register(browser, name=" Uusi\r\n\tKäyttäjä\x1b[2J ")
    enter_code(browser, mailbox.code(EMAIL))
    assert stored().name == "Uusi Käyttäjä[2J"
    browser.get("/account")
    assert "Uusi Käyttäjä[2J" in browser.text and "\x1b" not in browser.text


def test_the_name_keeps_no_control_that_would_reverse_the_text_after_it(browser, mailbox):
    """A right-to-left override in a name shows what follows it backwards, wherever the name
    is shown (an organisation's member table, a kiosk's list): "Maija" followed by an
    override and "nenialäkieM" reads as another person's name. Dropping a control
    leaves no double space behind."""
    register(browser, name="Maija\u202e nenialäkieM\u202c \u2067Matti\u2069 \x07 Virtanen")
    enter_code(browser, mailbox.code(EMAIL))
    assert stored().name == "Maija nenialäkieM Matti Virtanen"


@pytest.mark.parametrize("email", ["\u0130" * 200 + "@x.fi", "\u0958" * 250 + "@x.fi",
                                   "maija@" + ".".join(["\u0436" * 20] * 12) + ".fi"],
                         ids=["longer in lower case", "longer composed", "longer IDNA-encoded"])
def test_an_address_that_would_be_stored_longer_than_an_address_may_be_is_refused(browser, email):
    """Within 320 characters as typed, beyond them as stored (lower-cased 'İ' is two, some
    characters compose into two, an IDNA-encoded domain is longer). Before, on PostgreSQL,
    registering with one was a 500 (and on SQLite it was stored beyond the column)."""
    assert len(email) <= 320
    register(browser, email=email)
    assert "Enter a valid email address, such as name@example.com." in browser.text
    assert Identity.query.count() == 0


def test_a_name_of_only_invisible_characters_is_no_name(browser):
    """Before, it was stored, and blank on every page and in every ID token."""
    register(browser, name="\u200b\u2060\ufeff")
    assert "Enter your name." in browser.text and stored() is None


def test_a_name_of_more_than_200_characters_is_refused(browser, mailbox):
    register(browser, name="Ä" * 201)
    assert "Use at most 200 characters in your name." in browser.text and stored() is None
    register(browser, name="Ä" * 200 + "  ")
    enter_code(browser, mailbox.code(EMAIL))
    assert stored().name == "Ä" * 200


def test_the_name_typed_at_registration_is_not_put_into_the_mail_to_the_unproven_address(browser, mailbox):
    """Anyone may register anyone's address: a name of their choosing would be their words
    in a mail from Tunnus to that address."""
    register(browser, name="Asiakas. TILISI SULJETAAN: vahvista tietosi osoitteessa https://huijaus.example")
    mail = mailbox.last(EMAIL)
    assert "huijaus" not in mailbox.text(mail) and "huijaus" not in mailbox.html(mail)
    assert "\nHello,\n" in mailbox.text(mail).replace("\r\n", "\n")


def test_code_may_be_typed_with_a_space(browser, mailbox):
    register(browser)
    code = mailbox.code(EMAIL)
    enter_code(browser, f"{code[:3]} {code[3:]}")
    assert "Your account" in browser.text


def test_code_may_be_typed_with_a_phone_keyboards_own_digits(browser, mailbox):
    register(browser)
    enter_code(browser, mailbox.code(EMAIL).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")))
    assert "Your account" in browser.text


def open_link(browser, link):
    browser.get(link)
    if browser.page.status_code == 200 and "/verify/" in browser.text:
        browser.submit("/verify/")


def test_link_in_another_browser_verifies_but_signs_in_only_there_by_password(app, browser, mailbox):
    register(browser)
    phone = Browser(app)
    open_link(phone, mailbox.link(EMAIL, "/verify/"))
    assert VERIFIED in phone.text and "Log out" not in phone.text
    assert stored().email_verified

    browser.get(browser.url)  # the registering browser reloads the code page
    assert VERIFIED in browser.text and "Log out" not in browser.text
    phone.get("/login")
    sign_in(phone, EMAIL, PASSWORD)
    assert "Your account" in phone.text


def test_link_in_the_same_browser_signs_in(browser, mailbox):
    register(browser, start="/register?return_to=/account")
    open_link(browser, mailbox.link(EMAIL, "/verify/"))
    assert "Your account" in browser.text and "Log out" in browser.text


def test_existing_email_gets_a_note_and_the_same_page(app, browser, mailbox, user):
    register(Browser(app), email="somebody.else@example.fi")
    new_address_page = Browser(app)
    register(new_address_page, email="somebody.new@example.fi")
    register(browser, email=" MAIJA.meikalainen@example.fi ", name="Hijacker")

    def comparable(page, email):
        text = page.text.replace(email, "EMAIL")
        text = re.sub(r'name="csrf_token" value="[^"]*"', "", text)
        return re.sub(r"/register/[\w-]+/", "/register/ID/", text)

    assert browser.page.status_code == new_address_page.page.status_code == 200
    assert comparable(browser, "MAIJA.meikalainen@example.fi") == comparable(new_address_page, "somebody.new@example.fi")

    note = mailbox.last(user.email)
    assert note["Subject"] == "You already have a Tunnus account"
    text = mailbox.text(note)
    assert "http://localhost/login" in text and "/verify/" not in text  # a code, and no link to open
    assert db.session.query(Identity).filter_by(email_normalized=user.email_normalized).count() == 1
    assert "registration.existing_email" in events()

    # Without the owner's code the stranger's password gets nowhere.
    for left, guess in zip((4, 3), ("000000", "123456")):
        enter_code(browser, guess)
        assert f"The code is wrong. {left} tries left." in browser.text
    assert "Log out" not in browser.text
    other = Browser(app)
    other.get("/login")
    sign_in(other, user.email, user.test_password)  # the owner's password is unchanged
    assert "Your account" in other.text and "Hijacker" not in other.text


def test_the_owner_typing_the_code_makes_the_password_chosen_theirs(app, browser, mailbox, user):
    """Someone who forgot they have an account (or whose account was imported from an old
    service) creates one as told: the code mailed to the owner finishes it as a reset would."""
    elsewhere = Browser(app)
    elsewhere.get("/login")
    sign_in(elsewhere, user.email, user.test_password)
    register(browser, email=user.email, name="Maija")
    enter_code(browser, mailbox.code(user.email))
    assert "Your account" in browser.text and "Log out" in browser.text

    elsewhere.get("/account")
    assert "Your account" not in elsewhere.text  # signed out everywhere else, as after a reset
    old, new = Browser(app), Browser(app)
    for page, password in ((old, user.test_password), (new, PASSWORD)):
        page.get("/login")
        sign_in(page, user.email, password)
    assert "Your account" not in old.text and "Your account" in new.text
    notice = mailbox.last(user.email)
    assert notice["Subject"] == "Your Tunnus password was changed"
    assert events().count("identity.password_changed") == 1


def test_a_registration_whose_address_got_an_account_meanwhile_finishes_as_the_owners(app, browser, mailbox):
    """An import or an operator made the account while the code was on its way: the code
    typed here proves the address as the owner's would, and the password chosen here
    becomes the account's. Before, it was "Something went wrong", and "send a new code"
    mailed another code refused the same way, for ever."""
    from idp.services import identities

    register(browser)
    first = mailbox.code(EMAIL)
    identities.create(EMAIL, None, "Maija")
    enter_code(browser, first)
    assert "Your account" in browser.text and stored().email_verified

    again = Browser(app)
    register(again, email="toinen@example.fi")
    identities.create("toinen@example.fi", None, "Toinen")
    again.submit("/resend")
    assert mailbox.last("toinen@example.fi")["Subject"] == "You already have a Tunnus account"
    enter_code(again, mailbox.code("toinen@example.fi"))
    assert "Your account" in again.text


def test_a_link_opened_elsewhere_after_the_address_got_an_account_sets_nothing(app, browser, mailbox):
    """Nobody typed the password where the link was opened: it stays the owner's."""
    from idp.services import identities

    register(browser)
    link = mailbox.link(EMAIL, "/verify/")
    identities.create(EMAIL, None, "Maija")
    phone = Browser(app)
    open_link(phone, link)
    assert phone.page.status_code == 409 and "You already have an account" in phone.text
    assert "This address has an account already." in phone.text and stored().password_hash is None


def test_the_owners_code_changes_nothing_of_an_account_with_a_second_factor(app, browser, mailbox, user):
    """As a reset by email does not: whoever reads the mailbox must not set a password of
    their own, nor log the owner out everywhere, with it alone. Before, the code did both."""
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, user.email, user.test_password)
    enrol(owner, user)
    register(browser, email=user.email, name="Tunkeilija")
    enter_code(browser, mailbox.code(user.email))
    assert browser.page.status_code == 409 and "protected by two-step verification" in browser.text
    assert "Log out" not in browser.text
    owner.get("/account")
    assert "Your account" in owner.text
    db.session.expire_all()
    assert passwords.verify(db.session.get(Identity, user.id).password_hash, user.test_password)
    assert "identity.password_changed" not in events() and "registration.claim_refused" in events()


def test_the_owners_code_opens_nothing_once_the_account_has_moved_to_another_address(app, mailbox, user):
    """Whoever reads the old address (a shared or recycled mailbox) must not take the
    account with a code mailed there before the owner moved away from it."""
    stranger = Browser(app)
    register(stranger, email=user.email, name="Stranger")
    code = mailbox.code(user.email)
    user.set_email("maija.uusi@example.fi")  # the owner moves: the code stays in the old mailbox
    db.session.commit()
    enter_code(stranger, code)
    assert "Log out" not in stranger.text
    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, "maija.uusi@example.fi", user.test_password)
    assert "Your account" in owner.text


def test_an_imported_customer_creating_the_account_as_told_can_finish(app, browser, mailbox, tmp_path):
    """Notice 002: "first create an account with the email in your order details"; the
    import made one already, with the old service's password."""
    imported(tmp_path, "extranet", "asiakas123", "kaija@koti.fi", "Kaija Koti")
    register(browser, email="kaija@koti.fi", name="Kaija Koti")
    assert CHECK_MAIL in browser.text
    enter_code(browser, mailbox.code("kaija@koti.fi"))
    assert "Your account" in browser.text
    kaija = Identity.by_email("kaija@koti.fi")
    assert kaija.email_verified and kaija.name == "Kaija Koti"
    old = Browser(app)
    old.get("/login")
    sign_in(old, "asiakas123", "Kesaloma2019")  # the old password moved over: it opens no more
    assert "Your account" not in old.text


def test_expired_code_and_link_are_rejected(app, browser, mailbox):
    register(browser)
    code, link = mailbox.code(EMAIL), mailbox.link(EMAIL, "/verify/")
    clock.advance(DAY + 1)

    enter_code(browser, code)
    assert VOID in browser.text and "Log out" not in browser.text
    assert "Send a new code" in browser.text
    phone = Browser(app)
    phone.get(link)
    assert phone.page.status_code == 410 and "This link no longer works" in phone.text
    assert stored() is None


def test_used_code_makes_the_link_void_and_a_used_link_stays_used(app, browser, mailbox):
    register(browser)
    link = mailbox.link(EMAIL, "/verify/")
    enter_code(browser, mailbox.code(EMAIL))
    assert "Your account" in browser.text

    phone = Browser(app)
    phone.get(link)
    assert phone.page.status_code == 410 and VERIFIED not in phone.text

    second = Browser(app)
    register(second, email="toinen.uusi@example.fi")
    second_link = mailbox.link("toinen.uusi@example.fi", "/verify/")
    open_link(Browser(app), second_link)
    again = Browser(app)
    again.get(second_link)
    assert again.page.status_code == 410 and "Log out" not in again.text


def test_five_wrong_codes_void_the_code(app, browser, mailbox):
    register(browser)
    right = mailbox.code(EMAIL)
    wrong = "000000" if right != "000000" else "111111"
    for left in (4, 3, 2):
        enter_code(browser, wrong)
        assert browser.page.status_code == 400
        assert f"The code is wrong. {left} tries left." in browser.text
    enter_code(browser, wrong)
    assert "The code is wrong. 1 try left." in browser.text
    enter_code(browser, wrong)
    assert VOID in browser.text and 'name="code"' not in browser.text

    # Even the right code no longer works, posted straight to the form's address.
    csrf = browser.form("/resend")["fields"]["csrf_token"]
    verify_url = browser.form("/resend")["action"].replace("/resend", "/verify")
    response = browser.client.post(verify_url, data={"csrf_token": csrf, "code": right})
    assert VOID in response.get_data(as_text=True) and stored() is None
    assert events().count("verification.code_wrong") >= 5


@row_locks
def test_wrong_codes_typed_at_once_all_count(app, browser, mailbox, monkeypatch):
    """Six wrong codes at once (each checked before any is written) void the code, as six
    typed one after another do: each request re-reads the flow under a row lock."""
    register(browser)
    right = mailbox.code(EMAIL)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    barrier_after(monkeypatch, challenges, "redeem_code", parties=6)
    answers = race(app, browser, "/verify", times=6, code=wrong)
    assert [a.status_code for a in answers] == [400] * 6
    monkeypatch.undo()
    enter_code(browser, right)
    assert VOID in browser.text and stored() is None


@row_locks
def test_a_double_clicked_right_code_signs_in(app, browser, mailbox, monkeypatch):
    """The click that finds the code used by the other sees the page as it now is, not
    "the code is wrong"."""
    register(browser)
    barrier_after(monkeypatch, challenges, "redeem_code")
    answers = race(app, browser, "/verify", code=mailbox.code(EMAIL))
    assert [a.status_code for a in answers] == [302, 302]
    assert stored().email_verified


@row_locks
def test_a_double_clicked_form_makes_one_account_and_one_mail(app, browser, mailbox, monkeypatch):
    browser.get("/register")
    barrier_after(monkeypatch, registration, "_form_problems")
    answers = race(app, browser, "/register/", email=EMAIL, name=NAME, password=PASSWORD, password_repeat=PASSWORD)
    assert [a.status_code for a in answers] == [302, 302]
    [mail] = mailbox.to(EMAIL)
    assert mail["Subject"] == "Confirm your email address"
    browser.get(answers[0].headers["Location"])
    enter_code(browser, mailbox.code(EMAIL))
    assert "Your account" in browser.text


@row_locks
def test_one_address_registered_in_three_browsers_at_once_makes_one_account(app, mailbox, monkeypatch):
    """Each registration waits for its own code; the codes typed at once make one account,
    not an error page."""
    browsers = [Browser(app) for _ in range(3)]
    for browser in browsers:
        browser.get("/register")
    barrier_after(monkeypatch, passwords, "hash_password", parties=3)  # in each, right after the check
    answers = at_once(*(post(app, browser, "/register/", email=EMAIL, name=NAME, password=PASSWORD,
                             password_repeat=PASSWORD) for browser in browsers))
    monkeypatch.undo()
    assert [a.status_code for a in answers] == [302] * 3 and stored() is None
    codes = {}
    for mail in mailbox.to(EMAIL):
        assert mail["Subject"] == "Confirm your email address"
        text = mailbox.text(mail)
        flow = re.search(r"/verify/([\w-]+)\?", text).group(1)
        codes[flow] = re.search(r"\b(\d{3} \d{3})\b", text).group(1)
    for browser, answer in zip(browsers, answers):
        browser.get(answer.headers["Location"])
        assert CHECK_MAIL in browser.text

    barrier_after(monkeypatch, challenges, "redeem_code", parties=3)
    answers = at_once(*(post(app, browser, "/verify", code=codes[browser.url.split("/")[-2]])
                        for browser in browsers))
    # One makes the account; the others, proven as much, set their password on it as the
    # owner's code would, each ending the journeys under way of the others (as a reset does).
    assert 302 in [a.status_code for a in answers] and {a.status_code for a in answers} <= {302, 410}
    assert Identity.query.count() == 1 and stored().email_verified


def test_typing_something_else_than_six_digits_costs_no_try(browser, mailbox):
    register(browser)
    enter_code(browser, "12345")
    assert "Type the 6 digits from the email." in browser.text
    enter_code(browser, "000000" if mailbox.code(EMAIL) != "000000" else "111111")
    assert "4 tries left" in browser.text


def test_new_code_works_and_the_old_one_stops_working(browser, mailbox):
    register(browser)
    old = mailbox.code(EMAIL)
    browser.submit("/resend")
    assert len(mailbox.to(EMAIL)) == 2 and "A new code is on its way" in browser.text
    new = mailbox.code(EMAIL)
    if new != old:  # one in a million they are equal
        enter_code(browser, old)
        assert "The code is wrong. 4 tries left." in browser.text
    enter_code(browser, new)
    assert "Your account" in browser.text
    assert "verification.resent" in events()


def test_new_code_after_voiding_works(app, browser, mailbox):
    register(browser)
    clock.advance(DAY + 1)
    browser.get(browser.url)
    assert VOID in browser.text
    browser.submit("/resend")
    enter_code(browser, mailbox.code(EMAIL))
    assert "Your account" in browser.text


@pytest.mark.parametrize("password,repeat,field,message", [
    ("short pass", None, "password", "Use at least 12 characters (now 10)."),
    ("password1234", None, "password", "This password is one of the most common ones; choose something others would not guess."),
    ("kayttaja on paras", None, "password", "Do not use your email address or name in the password."),
    (PASSWORD, PASSWORD + "!", "password_repeat", "The passwords do not match. Type the same password in both fields."),
])
def test_weak_or_mismatched_passwords_say_what_to_change(browser, mailbox, password, repeat, field, message):
    register(browser, password=password, repeat=repeat)
    assert browser.page.status_code == 400
    error = re.search(rf'<div id="{field}-error" class="error" role="alert">(.*?)</div>', browser.text, re.S).group(1)
    assert message in error
    assert f'aria-describedby="{"password-hint " if field == "password" else ""}{field}-error"' in browser.text
    assert EMAIL in browser.text and NAME in browser.text  # kept; the passwords are not
    assert stored() is None and mailbox.messages == []
    focused = re.findall(r'<input id="(\w+)"[^>]* autofocus', browser.text)
    assert focused == [field]  # where the fix is typed


@pytest.mark.parametrize("name,message", [
    ("  ", "Enter your name."),
    ("x" * 201, "Use at most 200 characters in your name."),
])
def test_name_is_required_and_limited(browser, name, message):
    register(browser, name=name)
    assert browser.page.status_code == 400 and message in browser.text and stored() is None


def test_prompt_create_sends_people_to_registration_and_back_to_the_service(browser, mailbox, rp):
    browser.get(rp.authorize_url(prompt="create"))
    assert "Create an account" in browser.text and 'name="password_repeat"' in browser.text
    browser.submit("/register/", email=EMAIL, name=NAME, password=PASSWORD, password_repeat=PASSWORD)
    enter_code(browser, mailbox.code(EMAIL))
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    callback = rp.callback_params(browser.url)
    assert callback["state"] == rp.state
    tokens = rp.redeem(callback["code"]).get_json()
    claims = rp.verify_id_token(tokens["id_token"])
    assert claims["email"] == EMAIL and claims["email_verified"] is True


def test_discovery_lists_the_prompt_values_authorize_takes(browser):
    browser.get("/.well-known/openid-configuration")
    assert browser.page.get_json()["prompt_values_supported"] == ["none", "login", "consent", "select_account",
                                                                  "create"]


def test_mail_failure_is_said_plainly(browser, mailbox, smtp_down):
    register(browser)
    assert NOT_SENT in browser.text and CHECK_MAIL not in browser.text


def test_mail_failure_for_an_existing_address_looks_the_same(browser, mailbox, user, smtp_down):
    register(browser, email=user.email)
    assert NOT_SENT in browser.text and CHECK_MAIL not in browser.text


def test_an_address_registered_but_never_proven_has_no_account_to_sign_in_to(app, browser, mailbox, user):
    """Signing in with the password chosen is answered as for an address nobody registered,
    and as for one whose account was there before: so registering an address, then signing
    in, does not tell whether it had an account. Before, the account was made with the
    form, so that sign-in asked for the mailed code instead."""
    register(browser)  # and never proven
    register(Browser(app), email=user.email)  # an address with an account of its own
    answers = []
    for email in (EMAIL, user.email, "nobody@example.fi"):
        later = Browser(app)
        later.get("/account")
        sign_in(later, email, PASSWORD)
        answers.append((later.page.status_code, "The email address or password is incorrect" in later.text))
    assert answers == [(401, True)] * 3
    assert len(mailbox.to(EMAIL)) == 1 and stored() is None
    enter_code(browser, mailbox.code(EMAIL))  # the mail still proves it, later
    assert "Your account" in browser.text and stored().email_verified


def _unproven(email=EMAIL, password=PASSWORD):
    """An account whose address is not proven: imported, or registered before an account
    waited for its proof."""
    from idp.services import identities

    identities.create(email, password, NAME)


def test_unverified_account_must_verify_before_signing_in(app, browser, mailbox):
    _unproven()
    browser.get("/account")
    sign_in(browser, EMAIL, PASSWORD)
    assert CHECK_MAIL in browser.text and "Log out" not in browser.text
    assert "If you did not just sign in to Tunnus" in mailbox.text(mailbox.last(EMAIL))
    enter_code(browser, mailbox.code(EMAIL))
    assert "Your account" in browser.text and browser.url.endswith("/account")
    assert stored().email_verified


def test_unverified_login_continues_the_authorization(app, browser, mailbox, rp):
    _unproven()
    browser.get(rp.authorize_url())
    sign_in(browser, EMAIL, PASSWORD)
    open_link(browser, mailbox.link(EMAIL, "/verify/"))
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)


def test_registration_stores_the_ui_language(browser, mailbox):
    browser.get("/language/sv?next=/register")
    browser.submit("/register/", email=EMAIL, name=NAME, password=PASSWORD, password_repeat=PASSWORD)
    enter_code(browser, mailbox.code(EMAIL))
    assert stored().locale == "sv"


def test_mail_sending_posts_are_rate_limited_but_form_mistakes_are_not(app, base_config, mailbox):
    limited = create_app(dict(base_config, IDP_MAIL_RATE_LIMIT="2 per minute"))
    limited.test_client_class = IsolatedClient
    browser = Browser(limited)
    for _ in range(3):
        register(browser, password="short")
    browser.submit("/register/", email=EMAIL, name=NAME, password=PASSWORD, password_repeat=PASSWORD)
    assert CHECK_MAIL in browser.text
    browser.submit("/resend")
    assert "A new code is on its way" in browser.text
    blocked = browser.submit("/resend")
    assert blocked.status_code == 429 and "Too many attempts" in browser.text
    assert len(mailbox.to(EMAIL)) == 2


def test_a_mail_scanner_opening_the_link_does_not_use_it_up(app, browser, mailbox):
    register(browser)
    link = mailbox.link(EMAIL, "/verify/")
    Browser(app).get(link)  # what a scanner does: fetch, never press the button
    assert stored() is None
    open_link(browser, link)
    assert "Your account" in browser.text
