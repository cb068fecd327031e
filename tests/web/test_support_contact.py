"""IDP_SUPPORT_CONTACT: the texts that send a person to support name where it is, as a link
on pages and in HTML mail (mailto: for an address) and as it is in text mail; without it
they say what they said before. A value that is neither an address nor an https URL does
not start (the one-line refusal: test_deployment_settings)."""
import pytest

from idp import config
from idp.extensions import db
from tests.campaigns.helpers import deliver, person, started
from tests.conftest import running_app
from tests.support.browser import Browser
from tests.support.journeys import sign_in

from .test_recovery import ask_reset
from .test_recovery_second_factor import owner_signed_in

ADDRESS = "tuki@example.fi"
ADDRESS_LINK = '<a href="mailto:tuki@example.fi">tuki@example.fi</a>'
PAGE = "https://example.fi/tuki?aihe=kirjautuminen&kieli=fi"
PAGE_LINK = ('<a href="https://example.fi/tuki?aihe=kirjautuminen&amp;kieli=fi">'
             "https://example.fi/tuki?aihe=kirjautuminen&amp;kieli=fi</a>")
UNSET = pytest.mark.parametrize("app", [None], indirect=True)


@pytest.fixture
def app(base_config, migrated, request):
    """The suite's app with IDP_SUPPORT_CONTACT: the address, or the test's parameter."""
    with running_app(dict(base_config, IDP_SUPPORT_CONTACT=getattr(request, "param", ADDRESS))) as app:
        yield app


def _email_changed_notice(app, user, mailbox, language="en"):
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    browser.get("/account")
    sign_in(browser, user.email, user.test_password)
    new_email = "uusi." + user.email.lower()
    browser.submit("/account/email", new_email=new_email, current_password=user.test_password)
    browser.submit("/account/email/", code=mailbox.code(new_email))
    return mailbox.last(user.email)


def _lost_factor_page(app, user, mailbox) -> str:
    owner_signed_in(app, user)
    browser = Browser(app)
    ask_reset(browser, user.email)
    browser.submit("/recovery/", code=mailbox.code(user.email))
    assert "Lost your second factor?" in browser.text
    return browser.text


def _refused_request_page(app, rp) -> str:
    page = app.test_client().get(rp.authorize_url(redirect_uri="https://elsewhere.example/cb"))
    assert page.status_code == 400
    return page.get_data(as_text=True)


def test_the_email_changed_notice_names_the_address(app, user, mailbox):
    notice = _email_changed_notice(app, user, mailbox)
    assert "If you did not make this change, contact support right away: tuki@example.fi" in mailbox.text(notice)
    assert f"If you did not make this change, contact support right away: {ADDRESS_LINK}" in mailbox.html(notice)


def test_the_email_changed_notice_in_finnish_and_swedish(app, user, mailbox):
    finnish = _email_changed_notice(app, user, mailbox, "fi")
    assert "Jos et tehnyt tätä muutosta itse, ota heti yhteyttä tukeen: tuki@example.fi" in mailbox.text(finnish)
    assert f"ota heti yhteyttä tukeen: {ADDRESS_LINK}" in mailbox.html(finnish)
    swedish = _email_changed_notice(app, person("sven@example.se"), mailbox, "sv")
    assert "kontakta genast kundtjänsten: tuki@example.fi" in mailbox.text(swedish)


def test_the_password_changed_and_account_deleted_notices_name_the_address(app, user, runner, mailbox):
    user.locale = "en"  # the deletion notice, mailed by an operator, is in the account's language
    db.session.commit()
    browser = Browser(app)
    browser.get("/account")
    sign_in(browser, user.email, user.test_password)
    browser.submit("/account/password", current_password=user.test_password,
                   new_password="seitsemän veljestä metsässä")
    changed = mailbox.last(user.email)
    assert changed["Subject"] == "Your Tunnus password was changed"
    assert "Support: tuki@example.fi" in mailbox.text(changed) and f"Support: {ADDRESS_LINK}" in mailbox.html(changed)

    assert runner.invoke(args=["users", "delete", "--email", user.email, "--reason", "asked by phone"]).exit_code == 0
    deleted = mailbox.last(user.email)
    assert deleted["Subject"] == "Your Tunnus account was deleted"
    assert "If you did not make this change, contact support right away: tuki@example.fi" in mailbox.text(deleted)


def test_the_lost_second_factor_page_links_to_the_address(app, user, mailbox):
    text = _lost_factor_page(app, user, mailbox)
    assert f"nor your recovery codes, contact support: {ADDRESS_LINK}. Once they have made sure" in text
    assert "the support of the service you use" not in text


@pytest.mark.parametrize("app", [PAGE], indirect=True)
def test_a_support_page_is_linked_as_it_is_and_named_as_it_is_in_text_mail(app, rp, runner, mailbox):
    assert f"if this keeps happening, contact support: {PAGE_LINK}</p>" in _refused_request_page(app, rp)
    person("sanna@example.fi", "Sanna", locale="fi")
    started(runner, "all")
    deliver()
    invitation = mailbox.last("sanna@example.fi")
    assert ("Jos et odottanut tätä viestiä, ota yhteyttä tukeen ennen kuin avaat linkin: "
            f"{PAGE}") in mailbox.text(invitation)
    assert f"ota yhteyttä tukeen ennen kuin avaat linkin: {PAGE_LINK}</p>" in mailbox.html(invitation)


@UNSET
def test_without_it_the_texts_send_people_where_they_did(app, user, rp, runner, mailbox):
    notice = _email_changed_notice(app, person("sven@example.se"), mailbox)
    assert ("If you did not make this change, contact the support of the service you use right away."
            in mailbox.text(notice))
    assert "contact the support of the service you use. Once they have made sure" in _lost_factor_page(app, user,
                                                                                                      mailbox)
    assert "contact the service's customer support.</p>" in _refused_request_page(app, rp)
    person("sanna@example.fi", "Sanna", locale="en")
    started(runner, "all")
    deliver()
    invitation = mailbox.last("sanna@example.fi")
    assert "contact the customer service of your organisation before opening the link." in mailbox.text(invitation)
    assert "mailto:" not in mailbox.html(notice) + mailbox.html(invitation)


@pytest.mark.parametrize("contact", [ADDRESS, PAGE, "tuki.palvelu+tunnus@kunta.example.fi"])
def test_an_address_or_an_https_url_is_accepted(tmp_path, contact):
    assert config.load({"IDP_SUPPORT_CONTACT": contact}, str(tmp_path))["IDP_SUPPORT_CONTACT"] == contact


@pytest.mark.parametrize("contact", ["call us", "http://example.fi/tuki", "mailto:tuki@example.fi", "tuki@localhost",
                                     "https://", "tuki@example.fi?subject=x", "https://example.fi/tuki sivu"])
def test_anything_else_is_refused(tmp_path, contact):
    with pytest.raises(config.ConfigurationError, match=r"^IDP_SUPPORT_CONTACT must be an email address or an https"):
        config.load({"IDP_SUPPORT_CONTACT": contact}, str(tmp_path))
