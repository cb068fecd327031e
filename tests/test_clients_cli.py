"""`tunnus clients update|rotate-secret|delete`: an operator changes a relying service
after registering it, and removes one that is gone."""
import json

from idp.extensions import db
from idp.models import AuditEvent, Client
from tests.support.journeys import tokens_for
from tests.support.orgs import organisation, person
from tests.support.rp import REDIRECT_URI, RelyingParty


def _invoke(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input)


def test_a_rotated_secret_replaces_the_old_one_at_once(app, runner):
    machine = RelyingParty.register(app, name="Raportointi", grant_types=["client_credentials"])
    assert machine.token_request(grant_type="client_credentials").status_code == 200

    rotated = _invoke(runner, "clients", "rotate-secret", "--client-id", machine.client_id, "--json")
    assert rotated.exit_code == 0, rotated.output
    old, machine.secret = machine.secret, json.loads(rotated.output)["client_secret"]
    assert machine.secret != old
    assert machine.token_request(grant_type="client_credentials").status_code == 200
    machine.secret = old
    refused = machine.token_request(grant_type="client_credentials")
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_client"
    assert AuditEvent.query.filter_by(event="client.secret_rotated").count() == 1


def test_a_public_client_has_no_secret_to_rotate(app, runner):
    app_client = RelyingParty.register(app, name="Mobiili", public=True)
    result = _invoke(runner, "clients", "rotate-secret", "--client-id", app_client.client_id)
    assert result.exit_code == 1 and "has no client secret" in result.output


def test_new_redirect_uris_replace_the_old_ones(app, runner, browser, user):
    rp = RelyingParty.register(app, name="Asukasportaali")
    moved = "https://uusi.example/callback"
    result = _invoke(runner, "clients", "update", "--client-id", rp.client_id, "--redirect-uri", moved,
                     "--name", "Asukasportaali 2", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["changed"] == ["name", "redirect_uris"]
    browser.get(rp.authorize_url())  # to the old address: refused, not redirected there
    assert browser.page.status_code == 400 and not browser.url.startswith(REDIRECT_URI)
    browser.get(rp.authorize_url(redirect_uri=moved))
    assert browser.page.status_code in (200, 302)
    again = _invoke(runner, "clients", "update", "--client-id", rp.client_id, "--redirect-uri", moved)
    assert again.exit_code == 0 and again.output.strip() == f"{rp.client_id}: nothing changed"


def test_an_update_is_checked_as_a_registration_is(app, runner):
    rp = RelyingParty.register(app, name="Asukasportaali")
    for args, said in ((["--redirect-uri", "http://example.fi/cb"], "http"),
                       (["--frontchannel-logout-uri", "https://muu.example/logout"], "scheme, host and port"),
                       (["--name", " "], "the name cannot be empty")):
        result = _invoke(runner, "clients", "update", "--client-id", rp.client_id, *args)
        assert result.exit_code == 1 and said in result.output, result.output
    db.session.expire_all()
    assert db.session.get(Client, rp.client.id).redirect_uris == [REDIRECT_URI]


def test_a_deleted_client_takes_its_tokens_and_rights_with_it(app, runner, browser, user):
    rp = RelyingParty.register(app, name="Vanha palvelu")
    rp.client.org_mode = "business"
    db.session.commit()
    organisation("Siivous Oy", None, person("pomo@siivous.fi"), [user], rights=[(user, rp.client)])
    tokens = tokens_for(browser, rp, user)
    assert rp.userinfo(tokens["access_token"]).status_code == 200

    asked = _invoke(runner, "clients", "delete", "--client-id", rp.client_id, input="n\n")
    assert asked.exit_code == 1 and db.session.get(Client, rp.client.id) is not None  # it asks first
    deleted = _invoke(runner, "clients", "delete", "--client-id", rp.client_id, "--yes")
    assert deleted.exit_code == 0, deleted.output
    assert rp.userinfo(tokens["access_token"]).status_code == 401
    assert Client.by_client_id(rp.client_id) is None
    browser.get(rp.authorize_url())
    assert browser.page.status_code == 400  # an unknown client now
    assert AuditEvent.query.filter_by(event="client.deleted").one().details["name"] == "Vanha palvelu"
