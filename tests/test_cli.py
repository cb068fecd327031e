"""`tunnus` commands operators run."""
import json

from idp.extensions import db
from idp.models import Client, Identity
from idp.services import organisations


def test_clients_create_prints_secret_once_and_stores_only_its_hash(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "Kirjasto", "--redirect-uri",
                                 "https://kirjasto.example/cb", "--post-logout-redirect-uri",
                                 "https://kirjasto.example/", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    client = Client.by_client_id(data["client_id"])
    assert data["client_secret"] and data["client_secret"] not in client.secret_hash
    assert client.check_client_secret(data["client_secret"])
    listed = json.loads(runner.invoke(args=["clients", "list", "--json"]).output)
    assert [c["client_id"] for c in listed] == [data["client_id"]]
    assert "client_secret" not in listed[0]


def test_public_client_has_no_secret(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "Mobiili", "--public", "--redirect-uri",
                                 "http://127.0.0.1:8765/cb", "--json"])
    assert json.loads(result.output)["client_secret"] is None


def test_insecure_redirect_uri_is_refused(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", "http://example.com/cb"])
    assert result.exit_code != 0 and "https" in result.output


def test_users_create(app, runner):
    result = runner.invoke(args=["users", "create", "--email", "Uusi@Example.fi", "--password",
                                 "a long enough password", "--name", "Uusi Käyttäjä", "--json"])
    assert result.exit_code == 0, result.output
    assert Identity.by_email("uusi@example.fi").sub == json.loads(result.output)["sub"]
    again = runner.invoke(args=["users", "create", "--email", "uusi@example.fi", "--password", "x" * 20])
    assert again.exit_code != 0 and "already exists" in again.output


def test_config_docs_lists_every_setting(app, runner):
    from idp.config import SETTINGS

    output = runner.invoke(args=["config", "docs"]).output
    assert all(f"`{s.name}`" in output for s in SETTINGS)


def test_readme_configuration_table_is_the_generated_one():
    from pathlib import Path

    from idp.config import markdown_table

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert markdown_table() in readme, "regenerate with `tunnus config docs`"


def test_kiosk_client_for_an_organisation_by_id_or_business_id(app, runner):
    organisation = organisations.create("As Oy Koivukuja", "0737546-2")
    db.session.commit()
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb", "--kiosk"]
    by_id = runner.invoke(args=[*base, "--org", str(organisation.id), "--json"])
    assert by_id.exit_code == 0, by_id.output
    data = json.loads(by_id.output)
    assert data["kiosk_organisation_id"] == organisation.id and data["grant_types"] == ["authorization_code"]
    assert "offline_access" not in Client.by_client_id(data["client_id"]).scope.split()
    by_business_id = runner.invoke(args=[*base, "--org", "0737546-2", "--json"])
    assert json.loads(by_business_id.output)["kiosk_organisation_id"] == organisation.id
    listed = json.loads(runner.invoke(args=["clients", "list", "--json"]).output)
    assert [c["kiosk_organisation_id"] for c in listed] == [organisation.id, organisation.id]


def test_kiosk_client_refusals(app, runner):
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb"]
    unknown = runner.invoke(args=[*base, "--kiosk", "--org", "404"])
    assert unknown.exit_code != 0 and "no organisation '404'" in unknown.output
    assert "--kiosk and --org go together" in runner.invoke(args=[*base, "--kiosk"]).output
    assert "--kiosk and --org go together" in runner.invoke(args=[*base, "--org", "1"]).output
    organisation = organisations.create("As Oy Koivukuja", None)
    db.session.commit()
    refresh = runner.invoke(args=[*base, "--kiosk", "--org", str(organisation.id), "--grant-type", "authorization_code",
                                  "--grant-type", "refresh_token"])
    assert refresh.exit_code != 0 and "authorization_code grant only" in refresh.output
    business = runner.invoke(args=[*base, "--kiosk", "--org", str(organisation.id), "--org-mode", "business"])
    assert business.exit_code != 0 and "org mode consumer" in business.output
    assert Client.query.count() == 0
