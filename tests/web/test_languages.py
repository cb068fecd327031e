"""The language a person meets: Finnish unless they or the service say otherwise.

Order: the service's ui_locales, then the FI / SV / EN switcher (a cookie), then the
account's language once signed in, then the browser's Accept-Language, then Finnish.
Mail goes out in the person's own language.
"""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.routing import MapAdapter

from idp.extensions import db
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.totp import enrolled

COOKIE = "tunnus_locale"


def browser_without_language(app) -> Browser:
    browser = Browser(app)
    browser.client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    return browser


def switch_to(browser, language_name: str):
    """Follow the header's language link labelled `language_name`, as a person clicks it."""
    href = re.search(rf'<a href="([^"]+)" lang="\w+">{language_name}</a>', browser.text).group(1)
    return browser.get(href.replace("&amp;", "&"))


def test_login_page_is_finnish_without_any_language_preference(app):
    browser = browser_without_language(app)
    browser.get("/login")
    page = browser.text
    assert '<html lang="fi">' in page
    assert "<h1>Kirjaudu sisään</h1>" in page
    assert "Sähköpostiosoite" in page and ">Jatka</button>" in page
    assert "Oletko unohtanut salasanasi?" in page and "Luo tili" in page
    assert "Sign in" not in page and "Continue" not in page


def test_accept_language_swedish_shows_swedish(app):
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv-FI,sv;q=0.9,en;q=0.5"
    browser.get("/login")
    assert '<html lang="sv">' in browser.text and "<h1>Logga in</h1>" in browser.text
    assert ">Fortsätt</button>" in browser.text and "Glömt ditt lösenord?" in browser.text


def test_ui_locales_of_the_authorization_request_wins_over_the_browser(browser, rp):
    browser.get(rp.authorize_url(ui_locales="sv-FI en"))  # the browser asks for English
    assert "<h1>Logga in</h1>" in browser.text and "E-postadress" in browser.text

    browser.get("/recovery")  # the choice lasts for the rest of the visit
    assert "<h1>Återställ ditt lösenord</h1>" in browser.text


def test_unsupported_ui_locales_falls_back_to_the_browser_language(browser, rp):
    browser.get(rp.authorize_url(ui_locales="de"))
    assert "<h1>Sign in</h1>" in browser.text


def test_switcher_sets_a_cookie_that_wins_over_accept_language(app, browser):
    browser.get("/login")
    login_page = browser.url
    assert "<h1>Sign in</h1>" in browser.text

    switch_to(browser, "Suomi")
    assert browser.url == login_page and "<h1>Kirjaudu sisään</h1>" in browser.text
    cookie = browser.client.get_cookie(COOKIE)
    assert cookie.value == "fi" and cookie.http_only and cookie.expires is not None

    browser.get("/register")
    assert "<h1>Luo tili</h1>" in browser.text and "Salasana uudelleen" in browser.text


def test_switcher_overrides_an_earlier_ui_locales(browser, rp):
    browser.get(rp.authorize_url(ui_locales="sv"))
    assert "<h1>Logga in</h1>" in browser.text
    switch_to(browser, "English")
    assert "<h1>Sign in</h1>" in browser.text
    browser.get("/recovery")
    assert "<h1>Reset your password</h1>" in browser.text


def test_signing_in_brings_the_accounts_language_to_a_browser_that_chose_none(app, user):
    user.locale = "sv"
    db.session.commit()
    browser = Browser(app)  # an English browser
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert '<html lang="sv">' in browser.text and "Ditt konto" in browser.text


def test_a_language_chosen_before_signing_in_stays_after_it(app, user):
    user.locale = "fi"
    db.session.commit()
    browser = Browser(app)
    browser.get("/login")
    switch_to(browser, "Svenska")
    sign_in(browser, user.email, user.test_password)
    assert '<html lang="sv">' in browser.text and "Ditt konto" in browser.text
    assert db.session.get(type(user), user.id).locale == "fi"  # a link followed is no change to the account

    browser.submit("/account/profile", name=user.name, locale="en")  # the latest choice, saved on the account
    browser.get("/logout")
    fresh_visit = Browser(app)
    fresh_visit.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value)
    fresh_visit.get("/login")
    sign_in(fresh_visit, user.email, user.test_password)
    assert '<html lang="en">' in fresh_visit.text


@pytest.mark.parametrize("accept_language, html_lang, heading", [
    ("sv-FI,fi;q=0.5", "sv", "<h1>Logga in</h1>"),
    ("sv-FI,fi-FI;q=0.8,fi;q=0.6", "sv", "<h1>Logga in</h1>"),
    ("en-GB,fi;q=0.5", "en", "<h1>Sign in</h1>"),
])
def test_the_browsers_first_language_wins_whatever_its_region(app, accept_language, html_lang, heading):
    """Before, Werkzeug's best_match preferred an exact "fi" further down the list to "sv-FI"."""
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = accept_language
    browser.get("/login")
    assert f'<html lang="{html_lang}">' in browser.text and heading in browser.text


def test_the_next_person_on_a_shared_browser_gets_their_own_accounts_language(app, user):
    """Before, the first person's language stayed with the browser after their logout."""
    from tests.support.orgs import person

    user.locale = "sv"
    finn = person("pekka.virtanen@example.fi", "Pekka Virtanen")
    finn.locale = "fi"
    db.session.commit()
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert '<html lang="sv">' in browser.text
    browser.get("/logout")
    browser.submit("/logout", button=("confirm", "1"))
    browser.get("/login")
    assert '<html lang="fi">' in browser.text  # nobody's language now but the browser's
    sign_in(browser, finn.email, finn.test_password)
    assert browser.url.endswith("/account") and '<html lang="fi">' in browser.text


def test_mail_to_someone_with_no_language_of_their_own_follows_the_default_setting(base_config, migrated,
                                                                                  mailbox):
    """Before, IDP_DEFAULT_LOCALE=sv made the pages Swedish and every such mail Finnish
    (imported people have no language stored: a whole campaign)."""
    from tests.campaigns.helpers import deliver, started
    from tests.conftest import running_app
    from tests.support.orgs import person

    with running_app({**base_config, "IDP_DEFAULT_LOCALE": "sv"}) as app:
        person("anna@example.fi", "Anna")
        started(app.test_cli_runner(), "all", deadline="2099-01-01T12:00")
        deliver()
        assert mailbox.last("anna@example.fi")["Subject"] == "Bekräfta din e-postadress och välj ett nytt lösenord"
        browser = browser_without_language(app)
        browser.get("/recovery")
        browser.submit("/recovery", email="anna@example.fi")
        assert "återställa" in mailbox.last("anna@example.fi")["Subject"]


def test_an_invitation_goes_in_the_language_of_the_admins_page_to_an_address_with_none(app, user, mailbox):
    """Before, an admin with no language stored sent Finnish invitations from a Swedish page."""
    from tests.support.orgs import organisation

    org = organisation("Städ Ab", "0737546-2", user)
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email="ny.anstalld@stad.fi", role="member")
    assert mailbox.last("ny.anstalld@stad.fi")["Subject"] == "Du har bjudits in till Städ Ab"


def test_the_already_registered_mail_goes_in_the_owners_language(app, user, mailbox):
    """Not that of whoever typed the address: before, a Finnish browser's."""
    user.locale = "sv"
    db.session.commit()
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    browser.get("/register")
    browser.submit("/register/", email=user.email, name="Joku", password="purple otter climbs marble stairs",
                   password_repeat="purple otter climbs marble stairs")
    assert mailbox.last(user.email)["Subject"] == "Du har redan ett Tunnus-konto"


def test_verification_mail_is_in_the_language_the_person_registered_in(app, mailbox):
    browser = browser_without_language(app)
    browser.get("/register")
    browser.submit("/register/", email="aino.virtanen@example.fi", name="Aino Virtanen",
                   password="kolme karhua metsässä", password_repeat="kolme karhua metsässä")
    assert "Lähetimme 6-numeroisen koodin osoitteeseen aino.virtanen@example.fi" in browser.text

    mail = mailbox.last("aino.virtanen@example.fi")
    assert mail["Subject"] == "Vahvista sähköpostiosoitteesi"
    text = mailbox.text(mail)
    # The greeting leaves out the name typed at registration (the address is not proven yet).
    assert text.startswith("Koodisi:") and "\nHei,\n" in text.replace("\r\n", "\n") and "Aino" not in text
    assert "Koodi ja linkki ovat voimassa 24 tuntia, ja niitä voi käyttää kerran." in text
    assert '<html lang="fi">' in mailbox.html(mail)
    assert "Tämä viesti on lähetetty automaattisesti" in mailbox.html(mail)


def test_password_reset_mail_follows_the_account_language_not_the_browser(browser, user, mailbox):
    user.locale = "sv"
    db.session.commit()
    browser.get("/recovery")  # an English browser
    browser.submit("/recovery", email=user.email)

    mail = mailbox.last(user.email)
    assert mail["Subject"] == "Din kod för att återställa Tunnus-lösenordet"
    assert "Koden och länken gäller i 30 minuter och kan användas en gång." in mailbox.text(mail)


def _language_links_lead_to(browser) -> str:
    href = re.search(r'<a href="([^"]+)" lang="sv">Svenska</a>', browser.text).group(1).replace("&amp;", "&")
    return parse_qs(urlsplit(href).query)["next"][0]


def test_a_form_answered_with_a_mistake_links_its_languages_back_to_its_page(app, user):
    """The page after a refused post is the form's own page; its language links must
    lead there, not to the front page."""
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.submit("/account/email", new_email="not an address", current_password=user.test_password)
    assert browser.page.status_code == 400 and _language_links_lead_to(browser) == "/account"
    switch_to(browser, "Svenska")
    assert browser.url.endswith("/account") and '<html lang="sv">' in browser.text


    enrolled(app, user)
    browser.get("/account/totp")
    browser.submit("/account/totp/disable", current_password="wrong")
    assert browser.page.status_code == 400 and _language_links_lead_to(browser) == "/account/totp"


def test_a_post_to_a_long_path_tries_no_more_routes_than_the_deepest_page_has_parts(app, user, monkeypatch):
    """Before, the error page's language links tried one route per part of the path: a 404
    for "/x" * 4000 cost half a second, and 64 kB of path 21 s, for anyone."""
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    deepest = max(rule.rule.count("/") for rule in app.url_map.iter_rules())
    matched, match = [], MapAdapter.match
    monkeypatch.setattr(MapAdapter, "match", lambda *args, **kwargs: matched.append(1) or match(*args, **kwargs))
    browser.page = browser.client.post("/account/totp" + "/x" * 4000)
    assert browser.page.status_code == 404 and _language_links_lead_to(browser) == "/account/totp"
    assert len(matched) <= deepest + 1  # the request's own, and at most one a part
