"""Who a campaign asks: each kind of target, materialised when it starts."""
from idp.services import clock
from tests.support.orgs import organisation

from .helpers import campaign, cli, deliver, legacy_account, member_emails, person, started


def test_legacy_system_target_asks_the_people_linked_to_its_accounts(app, runner):
    anna, bertta, cecilia = person("anna@example.fi"), person("bertta@example.fi"), person("cecilia@example.fi")
    legacy_account(anna, "kirjasto", "1")
    legacy_account(bertta, "kirjasto", "2")
    legacy_account(bertta, "verkkokauppa", "3")
    legacy_account(cecilia, "verkkokauppa", "4")
    legacy_account(None, "kirjasto", "5")  # not merged into any identity: nobody to ask
    campaign_id = started(runner, "legacy-system:kirjasto")
    assert member_emails(campaign_id) == {"anna@example.fi", "bertta@example.fi"}


def test_org_target_asks_the_members_of_the_organisation(app, runner):
    admin, worker = person("pirjo@siivous.fi"), person("ville@siivous.fi")
    person("olli@muu.fi")  # not a member
    org = organisation("Siivous Oy", "0737546-2", admin, [worker])
    campaign_id = started(runner, f"org:{org.id}")
    assert member_emails(campaign_id) == {"pirjo@siivous.fi", "ville@siivous.fi"}


def test_unverified_email_target_asks_those_whose_address_was_never_proven(app, runner):
    person("vahvistettu@example.fi")
    person("vahvistamaton@example.fi", verified=False)
    campaign_id = started(runner, "unverified-email")
    assert member_emails(campaign_id) == {"vahvistamaton@example.fi"}


def test_all_target_asks_everyone(app, runner):
    for n in range(3):
        person(f"henkilo{n}@example.fi")
    campaign_id = started(runner, "all")
    assert member_emails(campaign_id) == {f"henkilo{n}@example.fi" for n in range(3)}


def test_emails_file_target_reports_unknown_and_invalid_addresses(app, runner, tmp_path):
    person("Maija@Example.fi")
    person("pekka@example.fi")
    listed = tmp_path / "lista.txt"
    listed.write_text("# people of the pilot\nmaija@example.FI\n  pekka@example.fi \n\npekka@example.fi\n"
                      "tuntematon@example.fi\nei osoite\n", encoding="utf-8")
    created = cli(runner, "campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}")
    assert created["targeted"] == 2
    assert created["unknown"] == ["tuntematon@example.fi"] and created["invalid"] == ["ei osoite"]

    text = runner.invoke(args=["campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}"]).output
    assert "1 unknown address(es), not included:\n  tuntematon@example.fi" in text

    cli(runner, "campaigns", "start", str(created["id"]))
    assert member_emails(created["id"]) == {"Maija@Example.fi", "pekka@example.fi"}


def test_an_emails_file_in_a_deep_folder_is_shown_by_the_end_of_its_path(app, runner, tmp_path):
    """Before, a path longer than the stored target (300 characters) was a traceback on
    PostgreSQL; its end names the file, and the list lives on as the members."""
    person("maija@example.fi")
    folder = tmp_path / ("d" * 200) / ("e" * 100)
    folder.mkdir(parents=True)
    listed = folder / "lista.txt"
    listed.write_text("maija@example.fi\n", encoding="utf-8")
    created = cli(runner, "campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}")
    shown = cli(runner, "campaigns", "status", str(created["id"]))["target"]
    assert len(shown) == 300 and shown.startswith("emails:\u2026") and shown.endswith("/" + "e" * 100 + "/lista.txt")
    cli(runner, "campaigns", "start", str(created["id"]))
    assert member_emails(created["id"]) == {"maija@example.fi"}


def test_emails_file_target_finds_an_address_listed_decomposed(app, runner, tmp_path):
    person("s\u00e4vel@example.fi")
    listed = tmp_path / "lista.txt"
    listed.write_text("Sa\u0308vel@example.fi\nmaija\u00a0m@example.fi\n", encoding="utf-8")
    created = cli(runner, "campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}")
    assert created["targeted"] == 1 and created["unknown"] == []
    assert created["invalid"] == ["maija\u00a0m@example.fi"]


def test_an_emails_file_that_is_not_utf8_is_refused_in_one_line_and_creates_nothing(app, runner, tmp_path):
    person("maija@example.fi")
    listed = tmp_path / "lista.txt"
    listed.write_bytes("maija@example.fi\nm\u00e4tti@example.fi\n".encode("latin-1"))

    result = runner.invoke(args=["campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}"])

    assert result.exit_code == 1
    assert result.output == f"Error: {listed} is not UTF-8 text\n"
    assert cli(runner, "campaigns", "list") == []


def test_an_emails_file_naming_nobody_with_an_account_makes_no_campaign(app, runner, tmp_path):
    """Its list is the campaign's people for good: with nobody in it, it could never ask anyone."""
    person("maija@example.fi")
    listed = tmp_path / "lista.txt"
    listed.write_text("# the wrong system's addresses\ntuntematon@example.fi\nei osoite\n\n", encoding="utf-8")

    result = runner.invoke(args=["campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}"])

    assert result.exit_code == 1
    assert result.output == ("Error: Nobody listed in the file has an account (1 unknown and 1 invalid addresses): "
                             "no campaign was created.\n")
    assert cli(runner, "campaigns", "list") == []


def test_an_address_with_a_nul_character_is_listed_as_invalid(app, runner, tmp_path):
    person("maija@example.fi")
    listed = tmp_path / "lista.txt"
    listed.write_text("maija@example.fi\npek\x00ka@example.fi\n", encoding="utf-8")
    created = cli(runner, "campaigns", "create", "--name", "Pilotti", "--target", f"emails:{listed}")
    assert created["targeted"] == 1 and created["invalid"] == ["pek\x00ka@example.fi"]


def test_a_draft_shows_how_many_its_target_would_reach_now(app, runner):
    person("a@example.fi")
    campaign_id = campaign(runner, "all")
    person("b@example.fi")  # joins before the start: included
    assert cli(runner, "campaigns", "status", str(campaign_id))["counts"]["targeted"] == 2
    cli(runner, "campaigns", "start", str(campaign_id))
    person("c@example.fi")  # after the start: the campaign's people are fixed
    assert cli(runner, "campaigns", "status", str(campaign_id))["counts"]["targeted"] == 2


def test_unknown_target_and_requirement_are_refused(app, runner):
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "kaikki"])
    assert result.exit_code != 0 and "Unknown target kaikki" in result.output
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "all", "--require", "pin"])
    assert result.exit_code != 0 and "verify_email, change_password or both" in result.output


def test_a_campaign_starts_only_once(app, runner):
    person("a@example.fi")
    campaign_id = started(runner, "all")
    result = runner.invoke(args=["campaigns", "start", str(campaign_id)])
    assert result.exit_code != 0 and "Only a draft campaign can be started." in result.output


def test_a_deadline_that_has_passed_is_refused_at_create_and_at_start(app, runner, mailbox):
    person("a@example.fi")
    result = runner.invoke(args=["campaigns", "create", "--name", "X", "--target", "all", "--deadline", "2026-03-31T16:00"])
    assert result.exit_code != 0 and "The deadline has passed" in result.output
    campaign_id = campaign(runner, "all", deadline="2099-01-01T12:00")
    clock.advance(100 * 365 * 24 * 3600)  # left a draft until after its deadline
    result = runner.invoke(args=["campaigns", "start", str(campaign_id)])
    assert result.exit_code != 0 and "deadline has passed" in result.output
    assert cli(runner, "campaigns", "status", str(campaign_id))["status"] == "draft"
    deliver()
    assert not mailbox.to("a@example.fi")
