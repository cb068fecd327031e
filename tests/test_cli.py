"""`tunnus` commands operators run."""
import json
import os
import subprocess
import sys
from pathlib import Path

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


def test_config_docs_rewrites_only_the_table_and_refuses_a_file_without_its_markers(runner, tmp_path):
    from idp.config import markdown_table

    readme = tmp_path / "README.md"
    readme.write_text("# T\n<!-- config:begin -->\nold\n<!-- config:end -->\n## After\n")
    assert runner.invoke(args=["config", "docs", "--readme", str(readme)]).exit_code == 0
    assert readme.read_text() == f"# T\n<!-- config:begin -->\n{markdown_table()}\n<!-- config:end -->\n## After\n"
    unmarked = "# T\n<!-- config:begin -->\nold\n## After, which must not be lost\n"
    readme.write_text(unmarked)
    result = runner.invoke(args=["config", "docs", "--readme", str(readme)])
    assert result.exit_code == 1 and "<!-- config:end -->" in result.output
    assert readme.read_text() == unmarked


def test_config_docs_refuses_a_file_that_is_not_utf8_and_keeps_a_link_a_link(runner, tmp_path):
    latin1 = tmp_path / "LUEMINUT.md"
    latin1.write_bytes("# Käyttö\n<!-- config:begin -->\n<!-- config:end -->\n".encode("latin-1"))
    result = runner.invoke(args=["config", "docs", "--readme", str(latin1)])
    assert result.exit_code == 1 and "is not UTF-8 text" in result.output and "Traceback" not in result.output
    assert latin1.read_bytes().startswith("# Käyttö".encode("latin-1"))

    target = tmp_path / "README.md"
    target.write_text("<!-- config:begin -->\n<!-- config:end -->\n")
    link = tmp_path / "linked.md"
    link.symlink_to(target)
    assert runner.invoke(args=["config", "docs", "--readme", str(link)]).exit_code == 0
    assert link.is_symlink() and "`IDP_DATABASE_URL`" in target.read_text()


def test_kiosk_client_for_an_organisation_by_id_or_business_id(app, runner):
    organisation = organisations.create("As Oy Koivukuja", "0737546-2")
    db.session.commit()
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb", "--kiosk",
            "--kiosk-network", "203.0.113.0/28"]
    by_id = runner.invoke(args=[*base, "--org", str(organisation.id), "--json"])
    assert by_id.exit_code == 0, by_id.output
    data = json.loads(by_id.output)
    assert data["kiosk_organisation_id"] == organisation.id and data["grant_types"] == ["authorization_code"]
    assert data["kiosk_networks"] == ["203.0.113.0/28"]
    assert "offline_access" not in Client.by_client_id(data["client_id"]).scope.split()
    by_business_id = runner.invoke(args=[*base, "--org", "0737546-2", "--json"])
    assert json.loads(by_business_id.output)["kiosk_organisation_id"] == organisation.id
    listed = json.loads(runner.invoke(args=["clients", "list", "--json"]).output)
    assert [c["kiosk_organisation_id"] for c in listed] == [organisation.id, organisation.id]
    assert [c["kiosk_networks"] for c in listed] == [["203.0.113.0/28"]] * 2


def test_a_kiosks_networks_are_asked_for_and_can_be_changed(app, runner):
    organisations.create("As Oy Koivukuja", "0737546-2")
    db.session.commit()
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb", "--kiosk",
            "--org", "0737546-2"]
    unnamed = runner.invoke(args=base)
    assert unnamed.exit_code != 0 and "give the kiosk's --kiosk-network" in unnamed.output
    typo = runner.invoke(args=[*base, "--kiosk-network", "203.0.113.5/28"])
    assert typo.exit_code != 0 and "'203.0.113.5/28' is not a network" in typo.output
    assert Client.query.count() == 0
    made = runner.invoke(args=[*base, "--kiosk-network", "203.0.113.7", "--kiosk-network", "2001:db8::/48", "--json"])
    client_id = json.loads(made.output)["client_id"]
    assert Client.by_client_id(client_id).kiosk_networks == ["203.0.113.7/32", "2001:db8::/48"]

    networks = ["clients", "kiosk-networks", "--client-id"]
    moved = runner.invoke(args=[*networks, client_id, "--network", "198.51.100.0/24", "--json"])
    assert moved.exit_code == 0 and json.loads(moved.output)["kiosk_networks"] == ["198.51.100.0/24"]
    anywhere = runner.invoke(args=[*networks, client_id, "--anywhere"])
    assert anywhere.exit_code == 0 and "anywhere" in anywhere.output
    assert Client.by_client_id(client_id).kiosk_networks is None
    neither = runner.invoke(args=[*networks, client_id])
    assert neither.exit_code != 0 and "give --network (one or more) or --anywhere" in neither.output
    ordinary = json.loads(runner.invoke(args=["clients", "create", "--name", "Kirjasto", "--redirect-uri",
                                              "https://kirjasto.example/cb", "--json"]).output)["client_id"]
    not_kiosk = runner.invoke(args=[*networks, ordinary, "--network", "198.51.100.0/24"])
    assert not_kiosk.exit_code != 0 and "only a kiosk has networks" in not_kiosk.output


def test_kiosk_client_refusals(app, runner):
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb"]
    unknown = runner.invoke(args=[*base, "--kiosk", "--org", "404", "--kiosk-network", "203.0.113.0/28"])
    assert unknown.exit_code != 0 and "No organisation 404" in unknown.output
    together = "--kiosk, --org and --kiosk-network go together"
    assert together in runner.invoke(args=[*base, "--kiosk"]).output
    assert together in runner.invoke(args=[*base, "--org", "1"]).output
    assert together in runner.invoke(args=[*base, "--kiosk-network", "203.0.113.0/28"]).output
    organisation = organisations.create("As Oy Koivukuja", None)
    db.session.commit()
    base += ["--kiosk-network", "203.0.113.0/28"]
    refresh = runner.invoke(args=[*base, "--kiosk", "--org", str(organisation.id), "--grant-type", "authorization_code",
                                  "--grant-type", "refresh_token"])
    assert refresh.exit_code != 0 and "authorization_code grant only" in refresh.output
    business = runner.invoke(args=[*base, "--kiosk", "--org", str(organisation.id), "--org-mode", "business"])
    assert business.exit_code != 0 and "org mode consumer" in business.output
    assert Client.query.count() == 0


def test_a_database_that_does_not_answer_is_a_one_line_error(tmp_path, base_config):
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'x.db'}",
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": str(tmp_path / "keys")}
    done = subprocess.run([str(Path(sys.executable).with_name("tunnus")), "clients", "list"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: database unavailable: unable to open database file"


def test_mail_test_sends_through_the_configured_server(app, runner, mailbox):
    result = runner.invoke(args=["mail", "test", "--to", "ops@example.fi", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"to": "ops@example.fi", "sent": True, "error": None}
    assert mailbox.last("ops@example.fi")
    # The test servers' sender is the placeholder: a real mail server would refuse it.
    assert result.stderr.startswith("warning: IDP_MAIL_FROM is not set: mail leaves from no-reply@tunnus.invalid")
    app.config["IDP_MAIL_FROM"] = "Tunnus <tunnus@example.fi>"
    assert runner.invoke(args=["mail", "test", "--to", "ops@example.fi"]).stderr == ""


def test_mail_test_fails_when_nothing_can_be_sent(app, runner, smtp_down):
    result = runner.invoke(args=["mail", "test", "--to", "ops@example.fi"])
    assert result.exit_code == 1 and result.stdout.startswith("not sent:")
    app.config["IDP_SMTP_URL"] = None  # mail only written to the log: the check cannot pass
    result = runner.invoke(args=["mail", "test", "--to", "ops@example.fi"])
    assert result.exit_code == 1 and "IDP_SMTP_URL is not set" in result.output


def test_demo_setup_prints_json_and_the_same_credentials_again(app, runner, tmp_path):
    app.instance_path = str(tmp_path)
    first = runner.invoke(args=["demo", "setup", "--json"])
    assert first.exit_code == 0, first.output
    printed = json.loads(first.output)
    assert printed["email"] == "demo@example.com" and printed["client_id"] == "tunnus-demo"
    assert json.loads(runner.invoke(args=["demo", "setup", "--json"]).output) == printed
    assert json.loads((tmp_path / "demo.json").read_text())["password"] == printed["password"]
    assert f"Demo password:  {printed['password']}" in runner.invoke(args=["demo", "setup"]).output


def test_tunnus_version_and_help_show_only_what_works(tmp_path):
    from importlib.metadata import version

    tunnus = str(Path(sys.executable).with_name("tunnus"))
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "IDP_SECRET_KEY": "s" * 40, "IDP_KEYS_DIR": str(tmp_path / "keys")}
    shown = subprocess.run([tunnus, "--version"], env=env, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0 and shown.stdout == f"Tunnus {version('tunnus')}\n"
    helped = subprocess.run([tunnus, "--help"], env=env, capture_output=True, text=True, timeout=60)
    assert helped.returncode == 0 and "Tunnus identity provider administration." in helped.stdout
    assert not {"--env-file", "--app", "--debug", "Flask"} & set(helped.stdout.replace(",", " ").split())
    # Flask's development server is no way to run Tunnus (serve.py is).
    assert "  run " not in helped.stdout
    run = subprocess.run([tunnus, "run"], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "No such command 'run'" in run.stderr
    env_file = subprocess.run([tunnus, "--env-file", "x", "clients", "list"], env=env, capture_output=True,
                              text=True, timeout=60)
    assert env_file.returncode == 2 and "No such option '--env-file'" in env_file.stderr


def test_every_command_and_option_says_what_it_is_for(app):
    import click

    def helpless(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from helpless(sub, [*path, name])
        if path and not (command.help or command.short_help):
            yield " ".join(path)
        yield from (f"{' '.join(path)} {p.opts[0]}" for p in command.params
                    if isinstance(p, click.Option) and not p.help and not p.hidden)

    assert list(helpless(app.cli, [])) == []


def test_clients_list_and_create_print_everything_create_sets(app, runner):
    result = runner.invoke(args=[
        "clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://kirjasto.example/cb",
        "--post-logout-redirect-uri", "https://kirjasto.example/", "--legacy-system", "kirjasto",
        "--backchannel-logout-uri", "https://kirjasto.example/bc", "--frontchannel-logout-uri",
        "https://kirjasto.example/fc", "--id-token-alg", "ES256", "--json"])
    assert result.exit_code == 0, result.output
    created = json.loads(result.output)
    expected = {"post_logout_redirect_uris": ["https://kirjasto.example/"], "legacy_system": "kirjasto",
                "backchannel_logout_uri": "https://kirjasto.example/bc",
                "frontchannel_logout_uri": "https://kirjasto.example/fc", "id_token_signed_response_alg": "ES256"}
    assert expected.items() <= created.items()
    [listed] = json.loads(runner.invoke(args=["clients", "list", "--json"]).output)
    assert listed == {key: value for key, value in created.items() if key != "client_secret"}


def test_every_command_takes_json(app, runner):
    import click

    def without_json(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from without_json(sub, [*path, name])
        elif not any(param.name == "as_json" for param in command.params):
            yield " ".join(path)

    assert list(without_json(app.cli, [])) == []
    result = runner.invoke(args=["config", "docs", "--json"])
    assert result.exit_code == 0, result.output
    from idp.config import SETTINGS

    assert [s["name"] for s in json.loads(result.output)] == [s.name for s in SETTINGS]
