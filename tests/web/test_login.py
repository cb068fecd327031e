"""The login pages as a person meets them: identifier first, one message for every
failure, a growing wait after wrong passwords, 'remember me', CSRF on every form."""
import re
from urllib.parse import urlencode, urljoin, urlsplit

import pytest

from idp.extensions import db
from idp.methods import password as password_method
from idp.models import AuditEvent, Flow as StoredFlow, Identity, LoginSession
from idp.services import clock
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.legacy import OLD_PASSWORD, imported
from tests.support.races import at_once, barrier_after, clone, row_locks

SAME_MESSAGE = "The email address or password is incorrect, or the account is locked."


def test_step_one_asks_only_for_the_email(browser):
    browser.get("/login")
    assert 'name="email"' in browser.text and 'name="password"' not in browser.text
    assert ">Continue<" in browser.text


@pytest.mark.parametrize("email", ["maija@example", "maija\u00a0m@example.fi", "maija\u200b@example.fi"])
def test_invalid_email_is_explained_at_step_one(browser, email):
    browser.get("/login")
    browser.submit("/identify", email=email)
    assert browser.page.status_code == 400
    assert "Enter a valid email address" in browser.text


def test_an_address_typed_composed_opens_the_account_stored_decomposed(app, browser, tmp_path):
    """An old export wrote 'ä' as 'a' and a combining diaeresis; keyboards type one 'ä'."""
    imported(tmp_path, "kirjasto", "savel", "sa\u0308vel.ma\u0308kinen@example.fi", verified=True)
    browser.get("/login")
    sign_in(browser, "s\u00e4vel.m\u00e4kinen@example.fi", OLD_PASSWORD)
    assert "Your account" in browser.text


@pytest.mark.parametrize("email,password", [
    ("maija.meikalainen@example.fi", "wrong password"),
    ("nobody@example.fi", "correct horse battery staple"),
])
def test_wrong_password_and_unknown_email_look_the_same(browser, user, email, password):
    browser.get("/login")
    sign_in(browser, email, password)
    assert browser.page.status_code == 401
    assert SAME_MESSAGE in browser.text
    assert email in browser.text  # still on step 2, showing what was typed


def test_an_address_without_an_account_is_not_kept(browser):
    """Often a typo of someone else's address: the failure is recorded, the address is not."""
    browser.get("/login")
    sign_in(browser, "eino.tuntematon@example.fi", "correct horse battery staple")
    browser.get("/recovery")
    browser.submit("/recovery", email="eino.tuntematon@example.fi")
    events = db.session.scalars(db.select(AuditEvent)).all()
    assert {(e.event, e.details.get("reason")) for e in events} == {("login.password", "unknown_email"),
                                                                    ("recovery.requested", "unknown_email")}
    assert "tuntematon" not in repr([(e.details, e.user_agent) for e in events])


def test_waiting_account_gives_the_same_message_even_with_right_password(app, browser, user):
    browser.get("/login")
    browser.submit("/identify", email=user.email)
    for _ in range(app.config["IDP_LOGIN_DELAY_AFTER"]):
        browser.submit("/password", password="wrong")
    browser.submit("/password", password=user.test_password)
    assert SAME_MESSAGE in browser.text and browser.page.status_code == 401

    clock.advance(app.config["IDP_LOGIN_DELAY_BASE"] + 1)
    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 200 and "Your account" in browser.text
    events = [e.event for e in AuditEvent.query.order_by(AuditEvent.id)]
    assert "identity.locked" in events


def test_email_matches_case_and_space_insensitively(browser, user):
    browser.get("/login")
    sign_in(browser, "  MAIJA.meikalainen@EXAMPLE.fi ", user.test_password)
    assert "Your account" in browser.text


def test_not_you_returns_to_step_one_with_the_email_kept(browser, user):
    browser.get("/login")
    browser.submit("/identify", email="wrong@example.fi")
    link = re.search(r'href="([^"]+/identify)">Not you\?', browser.text).group(1)
    browser.get(link)
    assert 'value="wrong@example.fi"' in browser.text
    sign_in(browser, user.email, user.test_password)
    assert "Your account" in browser.text


def _session_cookie(browser):
    return browser.client.get_cookie("tunnus_session")


def test_remember_me_makes_a_thirty_day_cookie(app, browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password, remember=True)
    cookie = _session_cookie(browser)
    assert cookie.expires is not None
    days = (cookie.expires.replace(tzinfo=None) - clock.now()).days
    assert 29 <= days <= 30
    assert cookie.http_only and cookie.same_site == "Lax"


def test_without_remember_me_the_cookie_ends_with_the_browser(browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert _session_cookie(browser).expires is None


def _email_field(browser) -> str:
    return re.search(r'<input id="email" name="email"[^>]*value="([^"]*)"', browser.text).group(1)


def test_signing_in_again_the_page_suggests_the_remembered_email(app, browser, user):
    """Notice 002: "to sign in again, choose Sign in; the page suggests the email you sign in with"."""
    browser.get("/login")
    sign_in(browser, user.email, user.test_password, remember=True)
    browser.get("/logout")
    browser.submit("/logout", button=("confirm", "1"))
    browser.get("/login")
    assert _email_field(browser) == user.email
    cookie = browser.client.get_cookie("tunnus_email")
    assert cookie.http_only and cookie.same_site == "Lax" and cookie.expires is not None

    sign_in(browser, user.email, user.test_password)  # this time not remembered: forgotten
    browser.get("/logout")
    browser.submit("/logout", button=("confirm", "1"))
    browser.get("/login")
    assert _email_field(browser) == "" and browser.client.get_cookie("tunnus_email") is None


def test_the_remembered_email_follows_the_account_to_its_new_address_and_goes_with_it(app, browser, user, mailbox):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password, remember=True)
    browser.get("/account")
    browser.submit("/account/email", new_email="maija@uusi.example", current_password=user.test_password)
    browser.submit("/account/email/", code=mailbox.code("maija@uusi.example"))
    assert browser.client.get_cookie("tunnus_email").value == "maija@uusi.example"
    browser.get("/account")
    browser.submit("/account/delete", current_password=user.test_password)
    assert "Your account was deleted" in browser.text and browser.client.get_cookie("tunnus_email") is None
    browser.get("/login")
    assert _email_field(browser) == ""


def test_a_login_hint_goes_before_the_remembered_email(app, browser, user, rp):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password, remember=True)
    other = Browser(app)
    other.client.set_cookie("tunnus_email", user.email)
    other.get(rp.authorize_url(login_hint="toinen@example.fi"))
    assert "toinen@example.fi" in other.text and user.email not in other.text


def test_form_without_csrf_token_is_refused(browser, user):
    browser.get("/login")
    form = browser.form("/identify")
    response = browser.client.post(form["action"], data={"email": user.email})
    assert response.status_code == 400
    assert "The form expired" in response.get_data(as_text=True)


def test_login_flow_belongs_to_the_browser_that_started_it(app, browser, user):
    browser.get("/login")
    stolen = browser.url
    from tests.support.browser import Browser

    other = Browser(app)
    other.get(stolen)
    assert other.page.status_code == 404


def test_expired_login_page_says_so(app, browser, user):
    browser.get("/login")
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)
    browser.get(browser.url)
    assert browser.page.status_code == 410
    assert "expired" in browser.text


def test_a_sign_in_for_a_service_left_open_too_long_starts_again_for_that_service(app, browser, rp, user):
    browser.get(rp.authorize_url(state="kept-state"))
    browser.submit("/identify", email=user.email)
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)  # the person went for coffee at the password step

    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 410 and "expired" in browser.text
    again = re.search(r'<a href="([^"]+)">Try again</a>', browser.text).group(1)
    assert again.startswith("/authorize/resume/")

    browser.get(again)  # the service's own request, made anew: no error page on the way
    assert browser.page.status_code == 200 and 'name="email"' in browser.text
    sign_in(browser, user.email, user.test_password)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    callback = rp.callback_params(browser.url)
    assert callback["state"] == "kept-state" and rp.redeem(callback["code"]).status_code == 200


def test_an_answered_request_is_not_answered_again_once_expired(app, browser, rp, user):
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert "code" in rp.callback_params(browser.url)
    pending = db.session.execute(db.select(StoredFlow).filter_by(kind="authorize")).scalar_one()
    clock.advance(app.config["IDP_FLOW_TTL"] + 1)
    browser.get(f"/authorize/resume/{pending.id}", follow=False)
    assert browser.page.status_code == 410 and "Location" not in browser.page.headers


@pytest.mark.parametrize("return_to", ["//evil.example/x", "/\t/evil.example/x", "/\n/evil.example/x",
                                       "/\r\n/evil.example/x", "/\\evil.example/x", "/ /evil.example/x",
                                       "https://evil.example/x", "https:/evil.example/x", "evil.example/x",
                                       "///evil.example/x"])
def test_return_to_must_stay_on_this_server(browser, user, return_to):
    # Tabs and newlines are dropped from Location and a backslash reads as a slash: each is //host.
    browser.get("/login?" + urlencode({"return_to": return_to}))
    sign_in(browser, user.email, user.test_password)
    assert browser.url == "/account" and "Your account" in browser.text


def test_signed_in_page_shows_email_and_logout(browser, user):
    browser.get("/account")
    sign_in(browser, user.email, user.test_password)
    assert user.email in browser.text and "Log out" in browser.text


def test_password_never_stored_in_clear(user):
    stored = db.session.get(Identity, user.id)
    assert stored.password_hash.startswith("$argon2id$")
    assert user.test_password not in stored.password_hash


def test_no_stack_trace_for_unknown_pages(browser):
    browser.get("/nope")
    assert browser.page.status_code == 404 and "Traceback" not in browser.text


def test_password_attempts_are_rate_limited_per_address(base_config, migrated, user):
    from idp import create_app
    from tests.conftest import IsolatedClient
    from tests.support.browser import Browser

    limited = create_app(dict(base_config, IDP_LOGIN_RATE_LIMIT="3 per minute"))
    limited.test_client_class = IsolatedClient
    browser = Browser(limited)
    browser.get("/login")
    browser.submit("/identify", email=user.email)
    statuses = [browser.submit("/password", follow=False, password="wrong").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    blocked = browser.client.post(browser.form("/password")["action"], data=browser.form("/password")["fields"])
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_language_link_after_a_failed_password_returns_to_the_login_page(browser, user):
    browser.get("/login")
    browser.submit("/identify", email=user.email)
    browser.submit("/password", password="wrong")
    link = re.search(r'href="([^"]+)" lang="sv"', browser.text).group(1).replace("&amp;", "&")
    browser.get(link)
    assert browser.page.status_code == 200 and 'name="password"' in browser.text
    assert browser.client.get_cookie("tunnus_locale").value == "sv"


def test_language_link_on_consent_page_keeps_the_authorization_request(browser, rp, user):
    browser.get(rp.authorize_url())
    sign_in(browser, user.email, user.test_password)
    link = re.search(r'href="([^"]+)" lang="en"', browser.text).group(1).replace("&amp;", "&")
    browser.get(link)
    assert "/authorize/consent/" in browser.text


@row_locks
def test_a_double_clicked_password_starts_one_session_and_both_clicks_land_signed_in(app, user, monkeypatch):
    """Before, each post started a session: one held by no browser (its cookie overwritten)
    lived on as another device on the account page."""
    browser = Browser(app)
    browser.get("/login")
    browser.submit("/identify", email=user.email)
    form = browser.form("/password")
    url, data = urljoin(browser.url, form["action"]), {**form["fields"], "password": user.test_password}
    barrier_after(monkeypatch, password_method, "authenticate")
    answers = at_once(*[lambda: clone(app, browser).post(url, data=data)] * 2)
    monkeypatch.undo()
    assert sorted(a.status_code for a in answers) == [302, 302]
    assert {a.headers["Location"] for a in answers} <= {"/account", urlsplit(url).path.rsplit("/", 1)[0]}
    live = db.session.execute(db.select(LoginSession).filter_by(identity_id=user.id, ended_at=None)).scalars().all()
    assert len(live) == 1


@row_locks
def test_two_sign_ins_of_one_person_at_the_same_moment_both_sign_in(app, user, monkeypatch):
    """The same person submits the password in two browsers at once (or the same form
    twice): each sign-in locks the account's row to read the password again, and one waits
    for the other, not each for the other (a deadlock, one answered with an error)."""
    posts = []
    for _ in range(2):
        browser = Browser(app)
        browser.get("/login")
        browser.submit("/identify", email=user.email)
        form = browser.form("/password")
        posts.append((clone(app, browser), urljoin(browser.url, form["action"]), form["fields"]))
    # Each, once it holds the row however it takes it, waits for the other to get that far.
    barrier_after(monkeypatch, Identity, "hold", barrier=barrier_after(monkeypatch, Identity, "lock"))
    answers = at_once(*[lambda client=client, url=url, fields=fields: client.post(
        url, data={**fields, "password": user.test_password}) for client, url, fields in posts])
    monkeypatch.undo()

    assert [answer.status_code for answer in answers] == [302, 302]
    assert [client.get("/account").status_code for client, _, _ in posts] == [200, 200]
