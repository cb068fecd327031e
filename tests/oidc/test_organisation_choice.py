"""Which organisation a person acts for: consumer, business and both clients × people with
0, 1 and several organisations; the picker, org_id, prompt=select_account, no access."""
import re

import pytest

from idp.extensions import db
from idp.models import LoginSession
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.orgs import organisation, person
from tests.support.rp import RelyingParty


def _client(app, mode):
    rp = RelyingParty.register(app, name=f"Palvelu ({mode})", first_party=True)
    rp.client.org_mode = mode
    db.session.commit()
    return rp


@pytest.fixture
def people(app):
    return {"none": person("yksityinen@example.fi"), "one": person("yksi@example.fi"),
            "several": person("monta@example.fi")}


def _orgs_for(people, rp):
    boss = person("pomo@example.fi")
    first = organisation("Alfa Oy", "0737546-2", boss, [people["one"], people["several"]],
                         rights=[(people["one"], rp.client), (people["several"], rp.client)])
    second = organisation("Beta Oy", "1572860-0", boss, [people["several"]], rights=[(people["several"], rp.client)])
    return first, second


def _start(browser, rp, who, **params):
    browser.get(rp.authorize_url(**params))
    sign_in(browser, who.email, who.test_password)


EXPECTED = {
    # (mode, person): "code" (straight through), "picker", or "no_access"
    ("consumer", "none"): "code", ("consumer", "one"): "code", ("consumer", "several"): "code",
    ("business", "none"): "no_access", ("business", "one"): "code", ("business", "several"): "picker",
    ("both", "none"): "code", ("both", "one"): "picker", ("both", "several"): "picker",
}


@pytest.mark.parametrize("mode,who", sorted(EXPECTED))
def test_matrix_of_client_kinds_and_people(app, browser, people, mode, who):
    rp = _client(app, "business")
    _orgs_for(people, rp)
    # Rights granted while a service served organisations stay if it turns consumer; there
    # they change nothing.
    rp.client.org_mode = mode
    db.session.commit()
    _start(browser, rp, people[who])
    outcome = ("code" if browser.url.startswith("https://rp.example/") else
               "picker" if "Who are you acting for?" in browser.text else
               "no_access" if browser.page.status_code == 403 else browser.text)
    assert outcome == EXPECTED[(mode, who)]


def test_picker_choice_is_used_and_becomes_the_active_organisation(app, browser, people):
    rp = _client(app, "business")
    _, beta = _orgs_for(people, rp)
    _start(browser, rp, people["several"])
    assert "Alfa Oy" in browser.text and "Beta Oy" in browser.text
    browser.submit("/authorize/organisation/", organisation=str(beta.id), button=("decision", "choose"))
    assert "code" in rp.callback_params(browser.url)
    assert db.session.execute(db.select(LoginSession.organisation_id)).scalar() == beta.id

    browser.get(rp.authorize_url())  # the active organisation is remembered
    assert "code" in rp.callback_params(browser.url)
    browser.get(rp.authorize_url(prompt="select_account"))  # ...unless the service asks to choose again
    assert "Who are you acting for?" in browser.text


def test_org_id_selects_without_the_picker(app, browser, people):
    rp = _client(app, "business")
    alfa, beta = _orgs_for(people, rp)
    _start(browser, rp, people["several"], org_id=beta.business_id)
    assert "code" in rp.callback_params(browser.url)


def test_org_id_without_a_right_shows_no_access_with_the_admins(app, browser, people):
    rp = _client(app, "business")
    _orgs_for(people, rp)
    outsider = person("ulkopuolinen@example.fi")
    gamma = organisation("Gamma Oy", None, person("gamma.admin@example.fi", "Gerda Gamma"), [outsider])
    _start(browser, rp, outsider, org_id=str(gamma.id))
    assert browser.page.status_code == 403
    assert "You have no access to this service for Gamma Oy. Ask your organisation's admin." in browser.text
    assert "gamma.admin@example.fi" in browser.text and "Gerda Gamma" in browser.text


def test_cancel_on_no_access_returns_access_denied(app, browser, people):
    rp = _client(app, "business")
    _start(browser, rp, people["none"])
    browser.submit("/authorize/organisation/", button=("decision", "cancel"))
    callback = rp.callback_params(browser.url)
    assert callback["error"] == "access_denied" and callback["state"] == rp.state


def test_prompt_none_when_a_choice_is_needed(app, browser, people):
    rp = _client(app, "business")
    _orgs_for(people, rp)
    browser.get("/login")
    sign_in(browser, people["several"].email, people["several"].test_password)
    browser.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(browser.url)["error"] == "account_selection_required"


def test_choosing_an_organisation_without_a_right_is_not_accepted(app, browser, people):
    rp = _client(app, "business")
    _orgs_for(people, rp)
    other = organisation("Delta Oy", None, person("delta@example.fi"), [people["several"]])
    _start(browser, rp, people["several"])
    browser.submit("/authorize/organisation/", organisation=str(other.id), button=("decision", "choose"))
    assert "Who are you acting for?" in browser.text  # asked again, not let through


def test_organisation_names_are_escaped_on_the_no_access_page(app, browser, people):
    rp = _client(app, "business")
    outsider = person("ulko@example.fi")
    evil = organisation("<script>alert(1)</script> Oy", None, person("e@example.fi"), [outsider])
    _start(browser, rp, outsider, org_id=str(evil.id))
    assert "<script>alert(1)</script>" not in browser.text and "&lt;script&gt;" in browser.text


def test_active_organisation_is_switched_from_the_account_page(app, browser, people):
    rp = _client(app, "business")
    alfa, beta = _orgs_for(people, rp)
    browser.get("/account")
    sign_in(browser, people["several"].email, people["several"].test_password)
    assert "Act for" in browser.text
    browser.submit("/account/organisation", organisation=str(beta.id))
    browser.get(rp.authorize_url(scope="openid organizations"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["org"]["name"] == "Beta Oy"


def test_myself_chosen_on_the_account_page_is_honoured_until_an_organisation_is_chosen(app, browser, people):
    rp = _client(app, "both")
    alfa, _ = _orgs_for(people, rp)
    browser.get("/account")
    sign_in(browser, people["several"].email, people["several"].test_password)
    browser.submit("/account/organisation", organisation="")
    assert "Services you open from now on see you acting as you chose." in browser.text
    browser.get(rp.authorize_url(scope="openid organizations"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert "org" not in claims  # acting as oneself, not asked again

    browser.get(rp.authorize_url(prompt="select_account"))  # the service may still ask
    assert "Who are you acting for?" in browser.text
    browser.submit("/authorize/organisation/", organisation=str(alfa.id), button=("decision", "choose"))
    browser.get(rp.authorize_url(scope="openid organizations"))  # the newer choice wins
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["org"]["name"] == "Alfa Oy"

    again = Browser(app)  # another login has chosen nothing yet
    again.get("/account")
    sign_in(again, people["several"].email, people["several"].test_password)
    again.get(rp.authorize_url())
    assert "Who are you acting for?" in again.text


def test_myself_lasts_through_signing_in_again_and_is_chosen_in_the_picker_too(app, browser, people):
    rp = _client(app, "both")
    _orgs_for(people, rp)
    who = people["several"]
    _start(browser, rp, who)
    assert "Who are you acting for?" in browser.text
    browser.submit("/authorize/organisation/", organisation="personal", button=("decision", "choose"))
    assert "code" in rp.callback_params(browser.url)

    browser.get(rp.authorize_url(prompt="login"))  # the same login renewed: the choice stays
    sign_in(browser, who.email, who.test_password)
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert "org" not in claims


def test_cannot_switch_to_an_organisation_one_is_not_in(app, browser, people):
    rp = _client(app, "business")
    _orgs_for(people, rp)
    stranger_org = organisation("Vieras Oy", None, person("vieras@example.fi"))
    browser.get("/account")
    sign_in(browser, people["one"].email, people["one"].test_password)
    browser.submit("/account/organisation", organisation=str(stranger_org.id))
    assert browser.page.status_code == 404


def test_the_page_after_the_picker_links_its_languages_back_to_the_authorization(app, browser, people):
    """The consent page comes as the answer to the picker's post: its language links must
    resume the authorization, not open /authorize without its parameters."""
    rp = RelyingParty.register(app, name="Kumppani", first_party=False)
    rp.client.org_mode = "business"
    db.session.commit()
    alfa, _ = _orgs_for(people, rp)
    _start(browser, rp, people["several"])
    browser.submit("/authorize/organisation/", organisation=str(alfa.id), button=("decision", "choose"))
    assert "/authorize/consent/" in browser.text
    href = re.search(r'<a href="([^"]+)" lang="sv">Svenska</a>', browser.text).group(1).replace("&amp;", "&")
    browser.get(href)
    assert browser.page.status_code == 200 and "/authorize/consent/" in browser.text
    assert '<html lang="sv">' in browser.text


def test_a_services_org_id_or_the_only_organisation_does_not_change_the_browsers_choice(app, browser, people):
    both = _client(app, "both")
    business = _client(app, "business")
    alfa, beta = _orgs_for(people, both)
    organisation("Gamma Oy", None, person("gamma@example.fi"), [people["several"]],
                 rights=[(people["several"], business.client)])
    browser.get("/account")
    sign_in(browser, people["several"].email, people["several"].test_password)
    browser.submit("/account/organisation", organisation="")  # "Myself"

    browser.get(both.authorize_url(org_id=str(beta.id), prompt="none"))  # a service names one
    assert "code" in both.callback_params(browser.url)
    browser.get(business.authorize_url(prompt="none"))  # the only organisation there is
    assert "code" in business.callback_params(browser.url)

    browser.get(both.authorize_url(scope="openid organizations", prompt="none"))
    claims = both.verify_id_token(both.redeem(both.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert "org" not in claims  # still acting as oneself, as the person chose
    assert db.session.execute(db.select(LoginSession.acting_personally)).scalar() is True


def test_prompt_select_account_asks_even_when_the_service_names_an_organisation(app, browser, people):
    rp = _client(app, "business")
    alfa, beta = _orgs_for(people, rp)
    _start(browser, rp, people["several"], org_id=str(beta.id), prompt="select_account", scope="openid organizations")
    assert "Who are you acting for?" in browser.text
    browser.submit("/authorize/organisation/", organisation=str(alfa.id), button=("decision", "choose"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["org"]["name"] == "Alfa Oy"


def test_organisations_are_listed_in_finnish_and_swedish_alphabetical_order(app, browser, people):
    rp = _client(app, "business")
    who = people["several"]
    names = ["Örebro Bygg Ab", "äänekosken Öljy Oy", "Åbo Bygg Ab", "Zeta Oy", "Ärjä Oy", "Eero Oy", "Éclair Oy"]
    for name in names:
        organisation(name, None, person(f"admin{len(name)}{name[:2].encode().hex()}@example.fi"), [who],
                     rights=[(who, rp.client)])
    _start(browser, rp, who)
    shown = [name for name in re.findall(r">\s*([^<>]+? (?:Oy|Ab))\s*<", browser.text)]
    assert shown == ["Éclair Oy", "Eero Oy", "Zeta Oy", "Åbo Bygg Ab", "Ärjä Oy", "äänekosken Öljy Oy",
                     "Örebro Bygg Ab"]
    browser.get("/orgs")
    assert [n for n in re.findall(r">\s*([^<>]+? (?:Oy|Ab))\s*<", browser.text)] == shown
