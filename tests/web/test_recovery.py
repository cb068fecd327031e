"""Forgotten password as a person meets it: ask by email, prove it with the mailed code or
link (once, for 30 minutes, 5 wrong codes at most), choose a new password, and every
other session and token ends."""
import re
from urllib.parse import urljoin

import pytest

from idp.models import AuditEvent
from idp.services import clock, mail, password_policy
from tests.support.browser import Browser
from tests.support.journeys import sign_in, tokens_for
from tests.support.races import at_once, barrier_after, clone, row_locks

NEW_PASSWORD = "lumikko juoksee hangella"
OTHER_PASSWORD = "kettu kiipeää kuusen latvaan"
SENT = "If an account exists for this address, we sent a code to it."
NOT_SAVED = "You already chose a new password with this code or link, so the password typed here was not saved."
CHANGED = "Your Tunnus password was changed"


def ask_reset(browser, email):
    browser.get("/recovery")
    return browser.submit("/recovery", email=email)


def choose_password(browser, password=NEW_PASSWORD, confirm=None):
    return browser.submit("/password", password=password, confirm=password if confirm is None else confirm)


def signs_in(app, email, password) -> bool:
    fresh = Browser(app)
    fresh.get("/login")
    sign_in(fresh, email, password)
    return "Your account" in fresh.text


def events():
    return [(e.event, e.result) for e in AuditEvent.query.order_by(AuditEvent.id)]


def test_reset_by_code_signs_in_and_only_the_new_password_works(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    assert browser.page.status_code == 200 and SENT in browser.text
    assert 'autocomplete="one-time-code"' in browser.text and 'inputmode="numeric"' in browser.text
    reset_mail = mailbox.last(user.email)
    assert "30 minutes" in mailbox.text(reset_mail) and "If you did not ask for this, ignore this message" in mailbox.text(reset_mail)
    assert re.search(r"Your code: \d{3} \d{3}\n", mailbox.text(reset_mail).replace("\r\n", "\n"))  # as every mailed code

    browser.submit("/recovery/", code=mailbox.code(user.email))
    assert browser.text.count('autocomplete="new-password"') == 2
    choose_password(browser)
    assert "Your account" in browser.text and user.email in browser.text
    assert mailbox.last(user.email)["Subject"] == "Your Tunnus password was changed"
    assert not signs_in(app, user.email, user.test_password)
    assert signs_in(app, user.email, NEW_PASSWORD)
    assert {("recovery.requested", "success"), ("recovery.completed", "success"),
            ("identity.password_changed", "success")} <= set(events())


def test_reset_by_link_opened_in_another_browser(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    elsewhere = Browser(app)
    elsewhere.get(mailbox.link(user.email, "/link"))
    elsewhere.submit("/link")
    choose_password(elsewhere)
    assert "Your account" in elsewhere.text
    assert signs_in(app, user.email, NEW_PASSWORD)

    browser.get(browser.url)  # the page that asked for the code
    assert browser.page.status_code == 410 and "already been used" in browser.text


def test_a_new_password_posted_again_after_the_reset_says_it_was_not_saved(app, browser, user, mailbox):
    """The back button and the form sent once more: the reset is done, and the page says
    which password now opens the account."""
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    form, back = browser.form("/password"), clone(app, browser)
    choose_password(browser)
    assert "Your account" in browser.text

    answer = back.post(urljoin(browser.url, form["action"]),
                       data={**form["fields"], "password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD})
    assert answer.status_code == 409 and NOT_SAVED in answer.get_data(as_text=True)
    assert signs_in(app, user.email, NEW_PASSWORD) and not signs_in(app, user.email, OTHER_PASSWORD)
    assert [m["Subject"] for m in mailbox.to(user.email)].count(CHANGED) == 1


@row_locks
def test_new_passwords_sent_from_two_tabs_at_once_change_it_once(app, browser, user, mailbox, monkeypatch):
    """Both tabs' passwords pass the checks before either is set: one is set and signs in,
    the other tab says the reset was done already, its password not saved, and is not
    signed in by it."""
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    form = browser.form("/password")
    url, tabs = urljoin(browser.url, form["action"]), [clone(app, browser), clone(app, browser)]
    barrier_after(monkeypatch, password_policy, "check")
    answers = at_once(*(lambda tab=tab, password=password: tab.post(url, data={**form["fields"], "password": password,
                                                                               "confirm": password})
                        for tab, password in zip(tabs, (NEW_PASSWORD, OTHER_PASSWORD))))
    monkeypatch.undo()

    assert sorted(a.status_code for a in answers) == [302, 409]
    won = 0 if answers[0].status_code == 302 else 1
    assert NOT_SAVED in answers[1 - won].get_data(as_text=True)
    assert "Your account" in tabs[won].get("/account").get_data(as_text=True)
    assert tabs[1 - won].get("/account").status_code == 302  # to sign in
    passwords = (NEW_PASSWORD, OTHER_PASSWORD)
    assert signs_in(app, user.email, passwords[won]) and not signs_in(app, user.email, passwords[1 - won])
    assert [m["Subject"] for m in mailbox.to(user.email)].count(CHANGED) == 1
    assert [e for e, _ in events()].count("identity.password_changed") == 1
    assert [e for e, _ in events()].count("recovery.completed") == 1


def test_a_mail_scanner_fetching_the_link_does_not_use_it_up(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    link = mailbox.link(user.email, "/link")
    Browser(app).get(link)  # scanners only fetch; the person confirms with a post
    person = Browser(app)
    person.get(link)
    person.submit("/link")
    assert 'name="confirm"' in person.text


def _normalised(browser, email):
    text = browser.text.replace(email, "EMAIL")
    text = re.sub(r'name="csrf_token" value="[^"]*"', "", text)
    return re.sub(r"/recovery/[\w-]+", "/recovery/ID", text)


def test_unknown_email_gets_the_same_page_and_a_mail_that_no_account_uses_it(app, user, mailbox):
    known, unknown = Browser(app), Browser(app)
    ask_reset(known, user.email)
    ask_reset(unknown, "nobody@example.fi")
    assert unknown.page.status_code == known.page.status_code == 200
    assert _normalised(unknown, "nobody@example.fi") == _normalised(known, user.email)
    # Mailed as an account is (so the answer takes as long), with where to go instead.
    [note] = mailbox.to("nobody@example.fi")
    assert note["Subject"] == "No Tunnus account uses this address"
    body = mailbox.text(note)
    assert {"http://localhost/recovery", "http://localhost/register"} <= set(body.split())
    assert not re.search(r"\b\d{3} ?\d{3}\b", body) and "/link" not in body
    assert len(mailbox.to(user.email)) == 1

    unknown.submit("/recovery/", code="123456")
    assert unknown.page.status_code == 400 and "The code is wrong. 4 tries left." in unknown.text
    assert ("recovery.requested", "failure") in events()


@pytest.mark.parametrize("email", ["a,b@example.fi", "pekka<maija@example.fi", 'a"b@example.fi',
                                   "g:maija@example.fi", "a;b@example.fi"])
def test_an_address_the_mail_headers_would_read_as_another_is_no_address(app, browser, mailbox, email):
    """Before, asking a reset for "a,b@example.fi" was a 500 (the mail was read as to two
    addresses) and its mail stopped `tunnus mail send`; "pekka<maija@example.fi" went to
    maija@example.fi."""
    ask_reset(browser, email)
    assert browser.page.status_code == 400
    assert "Enter a valid email address, such as name@example.com." in browser.text
    assert mailbox.messages == []


def test_the_no_account_mail_is_in_the_language_of_the_page(app, mailbox):
    swedish = Browser(app)
    swedish.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    ask_reset(swedish, "ingen@example.fi")
    assert mailbox.last("ingen@example.fi")["Subject"] == "Inget Tunnus-konto använder den här adressen"


def test_expired_code_and_link_are_rejected(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    code, link = mailbox.code(user.email), mailbox.link(user.email, "/link")
    clock.advance(30 * 60 + 1)
    browser.submit("/recovery/", code=code)
    assert browser.page.status_code == 410 and "expired" in browser.text
    elsewhere = Browser(app)
    elsewhere.get(link)
    assert elsewhere.page.status_code == 410 and 'name="confirm"' not in elsewhere.text
    assert signs_in(app, user.email, user.test_password)


def test_code_and_link_work_only_once(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    code, link = mailbox.code(user.email), mailbox.link(user.email, "/link")
    elsewhere = Browser(app)
    elsewhere.get(link)
    elsewhere.submit("/link")

    browser.submit("/recovery/", code=code)
    assert browser.page.status_code == 410 and "already been used" in browser.text
    choose_password(elsewhere)
    again = Browser(app)
    again.get(link)
    assert again.page.status_code == 410 and "already been used" in again.text


def test_a_code_mistyped_as_letters_is_explained_and_uses_up_no_try(browser, user, mailbox):
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code="abc")
    assert browser.page.status_code == 400 and "Type the 6 digits from the email." in browser.text
    browser.submit("/recovery/", code="000000" if mailbox.code(user.email) != "000000" else "111111")
    assert "The code is wrong. 4 tries left." in browser.text  # the slip did not count
    browser.submit("/recovery/", code=" ".join(mailbox.code(user.email)[i:i + 3] for i in (0, 3)))
    assert browser.page.status_code == 200 and "new password" in browser.text.lower()


def test_five_wrong_codes_void_the_code(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    right = mailbox.code(user.email)
    wrong = f"{(int(right) + 1) % 10**6:06d}"
    form = browser.form("/recovery/")
    for left in (4, 3, 2):
        browser.submit("/recovery/", code=wrong)
        assert browser.page.status_code == 400 and f"The code is wrong. {left} tries left." in browser.text
    browser.submit("/recovery/", code=wrong)
    assert "The code is wrong. 1 try left." in browser.text
    browser.submit("/recovery/", code=wrong)
    assert browser.page.status_code == 410 and "entered wrongly too many times" in browser.text

    response = browser.client.post(form["action"], data={**form["fields"], "code": right})
    assert response.status_code == 410 and "entered wrongly too many times" in response.get_data(as_text=True)
    elsewhere = Browser(app)
    elsewhere.get(mailbox.link(user.email, "/link"))
    assert elsewhere.page.status_code == 410
    assert events().count(("recovery.code_wrong", "failure")) == 5


def test_reset_ends_other_sessions_and_refresh_tokens(app, browser, rp, user, mailbox):
    online = tokens_for(browser, rp, user)
    offline = tokens_for(browser, rp, user, scope="openid offline_access")
    elsewhere = Browser(app)
    ask_reset(elsewhere, user.email)
    elsewhere.submit("/recovery/", code=mailbox.code(user.email))
    choose_password(elsewhere)

    for tokens in (online, offline):
        refused = rp.refresh(tokens["refresh_token"])
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "login_required"
    elsewhere.get("/account")
    assert "Your account" in elsewhere.text


def test_weak_mismatched_and_old_passwords_are_rejected_next_to_the_field(app, browser, user, mailbox):
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))

    choose_password(browser, "dragon1", confirm="dragon2")
    assert browser.page.status_code == 400
    assert "Use at least 12 characters (now 7)." in browser.text
    assert "This password is one of the most common ones; choose something others would not guess." in browser.text
    assert "The passwords do not match." in browser.text
    assert 'aria-describedby="password-rules password-error"' in browser.text
    # A screen reader hears the problems as a list inside the alert.
    assert re.search(r'<div id="password-error" class="error" role="alert"><ul>\s*<li>', browser.text)

    choose_password(browser, "kolme eri sanaa", confirm="kolme eri sanaaa")
    assert re.search(r'<input id="confirm"[^>]* autofocus', browser.text)  # the field to type again
    assert not re.search(r'<input id="password"[^>]* autofocus', browser.text)

    choose_password(browser, user.test_password)
    assert browser.page.status_code == 400
    assert "Choose a password different from your current one." in browser.text
    assert signs_in(app, user.email, user.test_password)


def test_mail_failure_says_so_and_never_claims_it_was_sent(app, browser, user, mailbox, smtp_down, base_config):
    ask_reset(browser, user.email)
    assert browser.page.status_code == 503
    assert "could not be sent" in browser.text and "contact customer service" in browser.text
    assert "we sent" not in browser.text.lower() and 'name="code"' not in browser.text

    # Not delivered later either: the page said it was not sent.
    app.config["IDP_SMTP_URL"] = base_config["IDP_SMTP_URL"]
    clock.advance(3600)
    mail.deliver_due()
    assert not mailbox.to(user.email)


def test_forgot_password_links_on_both_login_steps_prefill_the_email(browser, user):
    browser.get("/login")
    assert re.search(r'href="/recovery\?flow=[\w-]+">Forgot your password\?', browser.text)
    browser.submit("/identify", email=user.email)
    link = re.search(r'href="([^"]+)">Forgot your password\?', browser.text).group(1).replace("&amp;", "&")
    browser.get(link)
    assert f'value="{user.email}"' in browser.text


def test_reset_from_a_pending_login_continues_to_the_relying_service(browser, rp, user, mailbox):
    browser.get(rp.authorize_url())
    browser.submit("/identify", email=user.email)
    browser.get(re.search(r'href="([^"]+)">Forgot your password\?', browser.text).group(1))
    browser.submit("/recovery")
    browser.submit("/recovery/", code=mailbox.code(user.email))
    choose_password(browser)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)


def test_reset_requests_are_rate_limited_per_address(base_config, migrated, user, mailbox):
    from idp import create_app
    from tests.conftest import IsolatedClient

    limited = create_app(dict(base_config, IDP_RECOVERY_RATE_LIMIT="2 per minute"))
    limited.test_client_class = IsolatedClient
    browser = Browser(limited)
    statuses = [ask_reset(browser, "nobody@example.fi").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    assert "Too many attempts" in browser.text
