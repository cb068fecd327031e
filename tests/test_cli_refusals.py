"""What an operator sees when a `tunnus` command cannot do what was asked: one line that
says why, a non-zero exit, no traceback, and nothing done halfway."""
import json
import os
import shutil

import pytest
from click.testing import Result

from idp.errors import Conflict
from idp.models import AuditEvent, Client
from idp.services import clients
from tests.support.races import at_once, barrier_after, row_locks


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


def test_a_kiosk_network_that_is_no_address_is_not_blamed_on_its_host_bits(app, runner):
    from idp.services import organisations

    organisations.create("As Oy Koivukuja", "0737546-2")
    base = ["clients", "create", "--name", "Porras A", "--redirect-uri", "https://kiosk.example/cb", "--kiosk",
            "--org", "0737546-2", "--kiosk-network"]
    nonsense = runner.invoke(args=[*base, "999.1.1.1"])
    refused(nonsense, "'999.1.1.1' is not a network such as 203.0.113.0/28 or an address such as 203.0.113.5")
    assert "host bits" not in nonsense.output
    refused(runner.invoke(args=[*base, "203.0.113.5/28"]),
            "'203.0.113.5/28' is not a network: its host bits must be 0 (the network is 203.0.113.0/28)")


def test_mail_test_refuses_an_address_that_is_none(app, runner, mailbox):
    result = runner.invoke(args=["mail", "test", "--to", "bad addr"])
    refused(result, "Invalid value for --to: 'bad addr' is not an email address")
    assert "\nsent" not in result.output and mailbox.messages == []


@row_locks
def test_two_clients_created_with_one_client_id_at_once_one_is_refused(app, monkeypatch):
    """Both find the id free before either has stored it: the unique index decides, and
    the later one is refused as when the id was taken a moment earlier."""
    barrier_after(monkeypatch, Client, "by_client_id")

    def create(name):
        def run():
            with app.app_context():
                try:
                    clients.create(name, ["https://kirjasto.example/cb"], client_id="kirjasto")
                    return "created"
                except Conflict as error:
                    return str(error)
        return run

    answers = at_once(create("Kirjasto"), create("Kirjasto 2"))
    monkeypatch.undo()
    assert sorted(answers) == ["client_id 'kirjasto' is already in use", "created"]
    assert Client.query.filter_by(client_id="kirjasto").count() == 1


def test_an_id_no_row_can_have_is_named_as_unknown(app, runner):
    """PostgreSQL refuses to compare an integer column with a number beyond its range;
    to an operator such an id is one nobody has."""
    from idp.services import organisations

    organisations.create("As Oy Koivukuja", "0737546-2")
    beyond = "99999999999"
    refused(runner.invoke(args=["campaigns", "status", beyond]), f"Error: No campaign {beyond}\n")
    refused(runner.invoke(args=["orgs", "add-member", "--org", beyond, "--email", "a@example.fi"]),
            f"Error: No organisation {beyond}\n")
    refused(runner.invoke(args=["orgs", "suspend", "--org", "²"]), "Error: No organisation ²\n")
    refused(runner.invoke(args=["upstreams", "remove", beyond]), f"no upstream provider '{beyond}'")
    refused(runner.invoke(args=["campaigns", "create", "--name", "Koivukuja", "--target", f"org:{beyond}"]),
            f"There is no organisation {beyond}.")
    refused(runner.invoke(args=["campaigns", "create", "--name", "Koivukuja", "--target", "org:²"]),
            "Unknown target org:²")
    assert "As Oy Koivukuja" in runner.invoke(args=["orgs", "list"]).output


def test_text_that_is_not_utf8_is_refused_naming_its_option(app, runner):
    """A terminal set to Latin-1 sends 'Mäki' as bytes Python reads as a lone surrogate,
    which no database stores."""
    latin1_maki = b"M\xe4ki".decode("utf-8", "surrogateescape")
    refused(runner.invoke(args=["orgs", "create", "--name", latin1_maki]),
            "Error: Invalid value for '--name': is not UTF-8 text: set the terminal or script to UTF-8")
    refused(runner.invoke(args=["users", "create", "--email", "maki@example.fi", "--name", latin1_maki],
                          input="a long enough password\na long enough password\n"),
            "Invalid value for '--name': is not UTF-8 text")
    refused(runner.invoke(args=["orgs", "create", "--name", "Mäki\x00"]), "'--name': holds a NUL character")
    assert runner.invoke(args=["orgs", "list"]).output == "no organisations\n"
    assert runner.invoke(args=["users", "export", "--email", "maki@example.fi"]).exit_code != 0
    assert runner.invoke(args=["orgs", "create", "--name", "Mäki"]).exit_code == 0


def test_names_are_kept_on_one_line_and_within_their_columns(app, runner):
    created = runner.invoke(args=["orgs", "create", "--name", "As Oy\nKoivu\x1b[2Jkuja  ", "--json"])
    assert json.loads(created.output)["name"] == "As Oy Koivu[2Jkuja"
    assert runner.invoke(args=["orgs", "list"]).output.endswith("\tAs Oy Koivu[2Jkuja\t0 members\n")
    refused(runner.invoke(args=["orgs", "create", "--name", "A" * 201]),
            "Give the organisation a name (at most 200 characters).")
    base = ["users", "create", "--email", "uusi@example.fi", "--password", "a long enough password"]
    refused(runner.invoke(args=[*base, "--name", "N" * 201]), "Use at most 200 characters in your name.")
    made = runner.invoke(args=[*base, "--name", "Uusi\tKäyttäjä\x07", "--json"])
    assert json.loads(made.output)["name"] == "Uusi Käyttäjä"
    refused(runner.invoke(args=["clients", "create", "--name", "K" * 201, "--redirect-uri", "https://k.example/cb"]),
            "the name must have 1-200 characters")
    assert runner.invoke(args=["clients", "list"]).output.strip() in ("", "no clients")


def test_a_redirect_or_issuer_uri_that_is_no_uri_is_refused(app, runner):
    base = ["clients", "create", "--name", "Kirjasto", "--redirect-uri"]
    refused(runner.invoke(args=[*base, "http://[::1"]), "'http://[::1': not a URI (Invalid IPv6 URL)")
    refused(runner.invoke(args=[*base, "https://kirjasto.example/cällback"]),
            "a URI is ASCII without spaces, quotes or backslashes (a host name as its xn-- form, e.g. "
            "xn--ml-fkab.fi for mölö.fi; percent-encode any other character")
    # As told: before, the message said to percent-encode a host too, which is then refused.
    assert runner.invoke(args=[*base, "https://xn--ml-fkab.fi/cb"]).exit_code == 0
    refused(runner.invoke(args=["upstreams", "add", "--name", "Pankki", "--issuer", "http://[::1", "--client-id", "c",
                                "--client-secret", "s"]), "the issuer must be an absolute URL")
    refused(runner.invoke(args=[*base, "http://127.0.0.1:abc/cb"]), "the port is not a number from 0 to 65535")
    refused(runner.invoke(args=[*base, "https://%00/cb"]), "the host is not a valid name")
    assert runner.invoke(args=[*base, "https://kirjasto.example/c%C3%A4llback"]).exit_code == 0


def test_values_beyond_what_a_column_or_a_date_holds_are_refused(app, runner):
    create = ["campaigns", "create", "--name", "Kaikki", "--target", "all"]
    refused(runner.invoke(args=[*create, "--starts", "0001-01-01"]), "use a time between the years 1 and 9999")
    refused(runner.invoke(args=[*create, "--deadline", "9999-12-31T23:59:59-12:00"]),
            "use a time between the years 1 and 9999")
    refused(runner.invoke(args=[*create, "--rate", "2147483648/min"]), "N/min up to 9999999/min")
    refused(runner.invoke(args=[*create, "--rate", "9" * 5000]), "N/min up to 9999999/min")
    refused(runner.invoke(args=[*create, "--reminder-days", "7,99999999999"]), "comma-separated days")
    assert runner.invoke(args=["campaigns", "list"]).output.strip() in ("", "no campaigns")
    for client_id in ("k" * 65, "Kirjaston palvelu", "kirjasto:1"):  # HTTP Basic sends it form-encoded
        refused(runner.invoke(args=["clients", "create", "--name", "K", "--redirect-uri", "https://k.example/cb",
                                    "--client-id", client_id]),
                "a client_id has 1-64 of the characters A-Z, a-z, 0-9, '-', '.', '_' and '~'")


def test_a_file_that_takes_nothing_is_said_so_in_one_line(app, runner, user):
    """/dev/full opens and then refuses every write, as a full disk does."""
    mode = os.stat("/dev/full").st_mode
    exported = runner.invoke(args=["users", "export", "--email", user.email, "--output", "/dev/full"])
    refused(exported, "Error: cannot write /dev/full: No space left on device; the export is in the audit record")
    assert os.stat("/dev/full").st_mode == mode  # a device keeps its mode: only a file is made the owner's alone
    imported = runner.invoke(args=["legacy", "import", "examples/legacy_accounts.jsonl", "--system", "kirjasto",
                                   "--report", "/dev/full"])
    refused(imported, "Error: cannot write the report to /dev/full: No space left on device; the import was done")
    assert "accounts created/updated: 12/0" in imported.output  # the summary, on stderr


def test_a_file_name_that_is_not_utf8_is_shown_with_a_replacement_character(app, runner, tmp_path):
    """A Latin-1 file name, as an old system's export may bring (before, the import was done
    and its report and audit event then failed on the name)."""
    from idp.models import AuditEvent

    named = tmp_path / os.fsdecode(b"tilit_m\xe4ki.jsonl")
    shutil.copy("examples/legacy_accounts.jsonl", named)
    result = runner.invoke(args=["legacy", "import", str(named), "--system", "kirjasto", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["file"].endswith("tilit_m\ufffdki.jsonl")
    event = AuditEvent.query.filter_by(event="legacy.imported").one()
    assert event.details["file"].endswith("tilit_m\ufffdki.jsonl") and event.details["accounts_created"] == 12


@pytest.mark.parametrize("command", [["mail", "send"], ["logouts", "send"]])
@pytest.mark.parametrize("interval", ["-1", "nan", "inf", "0", "soon"])
def test_a_loops_interval_is_a_number_of_seconds(app, runner, command, interval):
    """Before, -1, nan and inf passed, and the loop ended with a traceback after its first round."""
    refused(runner.invoke(args=[*command, "--loop", "--interval", interval]),
            f"Invalid value for '--interval': {interval!r} is not a number of seconds from 0 to 3600, such as 5")


def test_a_reason_of_only_spaces_is_none(app, runner, user):
    """The audit record of a removal of someone's second factors said nothing of why."""
    refused(runner.invoke(args=["users", "reset-second-factors", "--email", user.email, "--reason", "  "]),
            "Invalid value for '--reason': say why, for the audit record")
    assert runner.invoke(args=["users", "reset-second-factors", "--email", user.email, "--reason",
                               " tiketti 42 "]).exit_code == 0


def test_a_reason_longer_than_the_audit_keeps_is_refused_not_cut(app, runner, user):
    """Before, a second-factor reset kept the first 200 characters of its reason, silently."""
    refused(runner.invoke(args=["users", "reset-second-factors", "--email", user.email, "--reason", "x" * 501]),
            "Invalid value for '--reason': say it in at most 500 characters, not 501")
    said = "Tiketti 42: " + "puhelin vaihtui, " * 20
    assert runner.invoke(args=["users", "reset-second-factors", "--email", user.email, "--reason", said]).exit_code == 0
    recorded = AuditEvent.query.filter_by(event="second_factors.reset").one()
    assert recorded.details["reason"] == said.strip()


def test_a_uri_longer_than_its_column_and_an_old_system_no_import_can_name_are_refused(app, runner):
    """Before, on PostgreSQL, each was a traceback (a value too long for its column); and a
    legacy system such as "Kirjasto" was taken, though no import can have that name, and
    the service never got its legacy_ids."""
    base = ["clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://k.example/cb"]
    long_uri = "https://k.example/" + "a" * 2000
    for options in (["--backchannel-logout-uri", long_uri], ["--auth", "private_key_jwt", "--jwks-uri", long_uri]):
        refused(runner.invoke(args=[*base, *options]), "a URI is at most 2000 characters, not 2018")
    refused(runner.invoke(args=[*base, "--legacy-system", "Kirjasto"]), "'Kirjasto' is no old system's name")
    refused(runner.invoke(args=[*base, "--legacy-system", "k" * 65]), "is no old system's name")
    assert runner.invoke(args=["clients", "list"]).output.strip() in ("", "no clients")
    assert runner.invoke(args=[*base, "--legacy-system", "kirjasto"]).exit_code == 0
