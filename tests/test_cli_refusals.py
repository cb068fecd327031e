"""What an operator sees when a `tunnus` command cannot do what was asked: one line that
says why, a non-zero exit, no traceback, and nothing done halfway."""
import json

from click.testing import Result


def refused(result: Result, reason: str) -> None:
    assert result.exit_code not in (0, None), result.output
    # click's own exit: an exception escaping the command would be its traceback.
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert reason in result.output, result.output


def test_clients_create_with_a_client_id_in_use_is_refused(app, runner):
    base = ["clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://kirjasto.example/cb",
            "--client-id", "kirjasto"]
    assert runner.invoke(args=base).exit_code == 0
    refused(runner.invoke(args=base), "client_id 'kirjasto' is already in use")
    assert len(json.loads(runner.invoke(args=["clients", "list", "--json"]).output)) == 1


def test_an_unknown_campaign_is_named(app, runner):
    for command in (["status", "999"], ["start", "999"], ["pending", "999"], ["cancel", "999"], ["status", "abc"]):
        refused(runner.invoke(args=["campaigns", *command]), f"Error: No campaign {command[1]}\n")


def test_an_unknown_organisation_is_named(app, runner):
    result = runner.invoke(args=["orgs", "add-member", "--org", "9999999-9", "--email", "a@example.fi"])
    refused(result, "Error: No organisation 9999999-9\n")
    assert "page" not in result.output


def test_users_create_holds_the_password_to_the_rules_of_the_web(app, runner):
    base = ["users", "create", "--email", "uusi@example.fi", "--name", "Uusi Käyttäjä", "--password"]
    refused(runner.invoke(args=[*base, "short"]), "Use at least 12 characters (now 5).")
    refused(runner.invoke(args=[*base, "password1234"]), "one of the most common ones")
    refused(runner.invoke(args=[*base, "uusi-kayttaja-2026"]), "Do not use your email address or name")
    app.config["IDP_PASSWORD_MIN_LENGTH"] = 16
    refused(runner.invoke(args=[*base, "thirteen char"]), "Use at least 16 characters (now 13).")
    assert runner.invoke(args=[*base, "a long enough password"]).exit_code == 0
