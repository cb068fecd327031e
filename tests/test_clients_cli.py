"""`tunnus clients update|rotate-secret|delete`: an operator changes a relying service
after registering it, and removes one that is gone."""
import json

from idp.extensions import db
from idp.models import AuditEvent, Client
from tests.support.journeys import tokens_for
from tests.support.orgs import organisation, person
from tests.support.races import at_once, barrier_after, row_locks
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
                       (["--name", " "], "the name must have 1-200 characters"),
                       (["--name", "A" * 201], "the name must have 1-200 characters")):
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


def test_a_client_deleted_while_its_logout_notification_is_on_its_way_stops_no_sender(app, monkeypatch):
    from idp.models import LogoutNotification
    from idp.services import backchannel, clients
    from tests.support.rp import POST_LOGOUT_URI

    gone, _ = clients.create("Lopetettu", [REDIRECT_URI], [POST_LOGOUT_URI],
                             backchannel_logout_uri="https://lopetettu.example/logout")
    staying, _ = clients.create("Jatkuva", [REDIRECT_URI], [POST_LOGOUT_URI],
                                backchannel_logout_uri="https://jatkuva.example/logout")
    for client in (gone, staying):
        db.session.add(LogoutNotification(client_id=client.id, sid="sid", sub="sub"))
    db.session.commit()
    posted = []

    def post(uri, token, timeout):
        posted.append(uri)
        if "lopetettu" in uri:  # the operator deletes the service meanwhile
            clients.delete(Client.by_client_id(gone.client_id))

    monkeypatch.setattr(backchannel, "_post", post)
    assert backchannel.deliver_due()["sent"] == 1  # the other one, in the same round
    assert posted == ["https://lopetettu.example/logout", "https://jatkuva.example/logout"]


def test_a_service_with_rights_granted_is_not_turned_consumer_under_the_admins_feet(app, runner):
    """Its rights would stay in force, off the admins' pages where they are revoked."""
    rp = RelyingParty.register(app, name="Raportit")
    rp.client.org_mode = "business"
    db.session.commit()
    ville = person("ville@siivous.fi")
    org = organisation("Siivous Oy", None, person("pirjo@siivous.fi"), [ville], rights=[(ville, rp.client)])
    refused = _invoke(runner, "clients", "update", "--client-id", rp.client_id, "--org-mode", "consumer")
    assert refused.exit_code == 1 and "organisations have granted 1 rights to use Raportit" in refused.output
    assert _invoke(runner, "orgs", "revoke", "--org", str(org.id), "--email", ville.email,
                   "--client", rp.client_id).exit_code == 0
    assert _invoke(runner, "clients", "update", "--client-id", rp.client_id, "--org-mode", "consumer").exit_code == 0


def test_an_invitation_does_not_grant_a_deleted_service_to_the_next_one_registered(app, runner, mailbox):
    """SQLite gives a deleted row's id to the next: an invitation must not keep the bare id."""
    from idp.services import organisations
    from tests.support.journeys import signed_in

    old = RelyingParty.register(app, name="Vanha")
    old.client.org_mode = "business"
    db.session.commit()
    org = organisation("Siivous Oy", None, person("pirjo@siivous.fi"))
    organisations.invite(org, "maija@siivous.fi", clients=[old.client])
    db.session.commit()
    assert _invoke(runner, "clients", "delete", "--client-id", old.client_id, "--yes").exit_code == 0
    new = RelyingParty.register(app, name="Uusi")
    new.client.org_mode = "business"
    db.session.commit()

    maija = person("maija@siivous.fi")
    signed_in(app, maija)
    assert organisations.membership(org, maija) is not None
    assert organisations.organisations_with_right(maija, new.client) == []


def _command(app, *args):
    def run():
        with app.app_context():
            return app.test_cli_runner().invoke(args=list(args))
    return run


@row_locks
def test_two_changes_of_one_client_at_once_take_turns(app, runner, monkeypatch):
    """Before, an update as the client was deleted was a traceback, and two deletions at once
    each said "deleted" and were each recorded."""
    create = ["clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://kirjasto.example/cb"]
    assert runner.invoke(args=[*create, "--client-id", "k"]).exit_code == 0
    barrier_after(monkeypatch, Client, "by_client_id")  # both have found it before either changes it
    deleted, updated = at_once(_command(app, "clients", "delete", "--client-id", "k", "--yes"),
                               _command(app, "clients", "update", "--client-id", "k", "--name", "Kirjasto 2"))
    # Whichever took the client first: the update then the deletion, or the deletion and the
    # update finding no client (exit 1); never a traceback. (CliRunner swaps sys.stdout for
    # the whole process: the two outputs cannot be told apart.)
    assert deleted.exit_code == 0 and updated.exit_code in (0, 1)
    assert isinstance(updated.exception, (SystemExit, type(None))) and Client.by_client_id("k") is None
    assert runner.invoke(args=[*create, "--client-id", "k"]).exit_code == 0
    first, second = at_once(_command(app, "clients", "delete", "--client-id", "k", "--yes"),
                            _command(app, "clients", "delete", "--client-id", "k", "--yes"))
    assert sorted([first.exit_code, second.exit_code]) == [0, 1]
    assert AuditEvent.query.filter_by(event="client.deleted").count() == 2  # one for each client made
