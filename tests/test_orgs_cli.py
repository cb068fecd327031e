"""`tunnus orgs` for operators."""
import json

from idp.extensions import db
from idp.models import AuditEvent, Identity
from idp.services import clock, organisations
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import signed_in
from tests.support.orgs import organisation, person
from tests.support.races import at_once, meet_after, post, row_locks


def test_create_org_with_admin_grant_and_list(app, runner, rp):
    rp.client.org_mode = "business"
    person("pirjo@siivous.fi")
    person("ville@siivous.fi")
    created = runner.invoke(args=["orgs", "create", "--name", "Siivous Oy", "--business-id", "0737546-2",
                                  "--admin-email", "pirjo@siivous.fi", "--json"])
    assert created.exit_code == 0, created.output
    org_id = json.loads(created.output)["id"]
    assert runner.invoke(args=["orgs", "add-member", "--org", "0737546-2", "--email", "ville@siivous.fi"]).exit_code == 0
    granted = runner.invoke(args=["orgs", "grant", "--org", str(org_id), "--email", "ville@siivous.fi",
                                  "--client", rp.client_id, "--json"])
    assert granted.exit_code == 0, granted.output
    assert json.loads(granted.output) == {"org": str(org_id), "email": "ville@siivous.fi",
                                          "client_id": rp.client_id, "right": "granted"}
    listed = json.loads(runner.invoke(args=["orgs", "list", "--json"]).output)
    assert listed == [{"id": org_id, "name": "Siivous Oy", "business_id": "0737546-2", "status": "active",
                       "admins": ["pirjo@siivous.fi"], "members": 2, "invitations": 0}]


def test_a_right_to_a_service_people_use_for_themselves_is_refused(app, runner, rp):
    org = organisation("Siivous Oy", "0737546-2", person("pirjo@siivous.fi"), [person("ville@siivous.fi")])
    refused = runner.invoke(args=["orgs", "grant", "--org", str(org.id), "--email", "ville@siivous.fi",
                                  "--client", rp.client_id])
    assert refused.exit_code != 0
    assert f"{rp.client.name} is used by people for themselves, not for an organisation." in refused.output


def test_bad_business_id_is_a_clear_error(app, runner):
    result = runner.invoke(args=["orgs", "create", "--name", "X", "--business-id", "1234567-0"])
    assert result.exit_code != 0 and "business ID is not valid" in result.output


def test_a_mistyped_business_id_names_no_organisation(app, runner):
    """Before, a business id with a wrong check digit (or none at all: "x-1") was taken for
    the organisation without a business id: the operator made a stranger its admin."""
    association = organisation("Kotiseutuyhdistys ry", None, person("pirjo@siivous.fi"))
    stranger = person("mallory@example.fi")
    for ref in ("0737546-3", "x-1"):
        added = runner.invoke(args=["orgs", "add-member", "--org", ref, "--email", stranger.email, "--role", "admin"])
        assert added.exit_code == 1 and f"No organisation {ref}" in added.output
        suspended = runner.invoke(args=["orgs", "suspend", "--org", ref])
        assert suspended.exit_code == 1 and f"No organisation {ref}" in suspended.output
    assert organisations.membership(association, stranger) is None and association.status == "active"


def test_unknown_admin_email_becomes_an_emailed_invitation(app, runner, mailbox):
    result = runner.invoke(args=["orgs", "create", "--name", "Taloyhtiö", "--admin-email", "isannoitsija@example.fi",
                                 "--json"])
    assert result.exit_code == 0, result.output
    org = organisations.get(json.loads(result.output)["id"])
    assert [i.email for i in organisations.pending_invitations(org)] == ["isannoitsija@example.fi"]
    assert mailbox.last("isannoitsija@example.fi")


def test_display_name_given_to_an_invited_address_is_the_members_once_accepted(app, runner, mailbox):
    result = runner.invoke(args=["orgs", "create", "--name", "As Oy Koivukuja", "--json"])
    org = organisations.get(json.loads(result.output)["id"])
    added = runner.invoke(args=["orgs", "add-member", "--org", str(org.id), "--email", "a12@koivukuja.fi",
                                "--display-name", "A 12", "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["status"] == "invited"

    resident = person("a12@koivukuja.fi")
    organisations.accept_invitations(resident, origin=SYSTEM)
    db.session.commit()
    assert organisations.membership(org, resident).display_name == "A 12"


def test_a_display_name_another_member_or_invitation_has_is_refused(app, runner, mailbox):
    """Two residents listed alike would use up each other's PIN attempts at the kiosk:
    an address invited with a name someone has, or is invited with, is refused, whether
    or not it has an account yet."""
    org = organisation("As Oy Koivukuja", None, person("isannoitsija@koivukuja.fi"), [])
    first = runner.invoke(args=["orgs", "add-member", "--org", str(org.id), "--email", "a12@koivukuja.fi",
                                "--display-name", "A 12"])
    assert first.exit_code == 0, first.output
    b7 = person("b7@koivukuja.fi")
    for email in (b7.email, "uusi@koivukuja.fi"):  # an account, and an address without one
        refused = runner.invoke(args=["orgs", "add-member", "--org", str(org.id), "--email", email,
                                      "--display-name", " a  12 "])
        assert refused.exit_code != 0 and "Another member is listed as a 12 already." in refused.output
    # Full-width digits read as "A 12" on a screen (before, they were another name).
    wide = runner.invoke(args=["orgs", "add-member", "--org", str(org.id), "--email", b7.email,
                               "--display-name", "A \uff11\uff12"])
    assert wide.exit_code != 0 and "Another member is listed as A \uff11\uff12 already." in wide.output
    assert [i.email for i in organisations.pending_invitations(org)] == ["a12@koivukuja.fi"]
    assert organisations.membership(org, b7) is None
    long = runner.invoke(args=["orgs", "add-member", "--org", str(org.id), "--email", "c1@koivukuja.fi",
                               "--display-name", "C" * 101])
    assert long.exit_code != 0 and "Use at most 100 characters." in long.output


def test_a_renewed_invitation_whose_name_was_given_meanwhile_joins_unnamed(app, runner, mailbox):
    """The invitation ran out, its name was given to another member, then the address was
    invited again (the old name waits with it): the person joins unnamed, for an admin to
    name, and the member keeps the name."""
    b7 = person("b7@koivukuja.fi")
    org = organisation("As Oy Koivukuja", None, person("isannoitsija@koivukuja.fi"), [b7])
    invite = ["orgs", "add-member", "--org", str(org.id), "--email", "a12@koivukuja.fi"]
    assert runner.invoke(args=[*invite, "--display-name", "A 12"]).exit_code == 0
    clock.advance(app.config["IDP_INVITATION_TTL"] + 1)
    named = runner.invoke(args=["orgs", "set-display-name", "--org", str(org.id), "--email", b7.email,
                                "--display-name", "A 12"])
    assert named.exit_code == 0, named.output
    assert runner.invoke(args=invite).exit_code == 0

    resident = person("a12@koivukuja.fi")
    organisations.accept_invitations(resident, origin=SYSTEM)
    db.session.commit()
    assert organisations.membership(org, resident).display_name is None
    assert organisations.membership(org, b7).display_name == "A 12"


def test_operator_withdraws_a_pending_invitation(app, runner, mailbox):
    result = runner.invoke(args=["orgs", "create", "--name", "Taloyhtiö", "--admin-email", "isannoitsija@example.fi",
                                 "--json"])
    org = organisations.get(json.loads(result.output)["id"])
    withdrawn = runner.invoke(args=["orgs", "withdraw-invitation", "--org", str(org.id),
                                    "--email", "Isannoitsija@Example.fi"])
    assert withdrawn.exit_code == 0, withdrawn.output
    assert organisations.pending_invitations(org) == []
    again = runner.invoke(args=["orgs", "withdraw-invitation", "--org", str(org.id), "--email", "isannoitsija@example.fi"])
    assert again.exit_code != 0 and "has no pending invitation" in again.output


def test_revoking_a_right_the_member_did_not_have_says_so(app, runner, rp):
    rp.client.org_mode = "business"
    boss, worker = person("pirjo@siivous.fi"), person("ville@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", boss, [worker])
    args = ["orgs", "revoke", "--org", "0737546-2", "--email", "ville@siivous.fi", "--client", rp.client_id]

    result = runner.invoke(args=args)

    assert result.exit_code != 0
    assert f"ville@siivous.fi did not have the right to use {rp.client_id} in Siivous Oy" in result.output
    assert "revoked" not in result.output.replace("nothing was revoked", "")
    assert not AuditEvent.query.filter_by(event="org.right_revoked").count()
    granted = runner.invoke(args=["orgs", "grant", *args[2:]])
    assert granted.exit_code == 0, granted.output
    revoked = runner.invoke(args=args)
    assert revoked.exit_code == 0 and f"revoked {rp.client_id} from ville@siivous.fi" in revoked.output
    assert organisations.rights(org) == set()


def test_an_operator_makes_a_member_the_admin_and_back(app, runner):
    boss, worker = person("pirjo@siivous.fi"), person("ville@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", boss, [worker])

    promoted = runner.invoke(args=["orgs", "set-role", "--org", "0737546-2", "--email", "Ville@Siivous.fi",
                                   "--role", "admin"])

    assert promoted.exit_code == 0, promoted.output
    assert "Ville@Siivous.fi is now an admin of Siivous Oy" in promoted.output
    assert sorted(i.email for i in organisations.admins(org)) == ["pirjo@siivous.fi", "ville@siivous.fi"]
    changed = AuditEvent.query.filter_by(event="org.role_changed").one()
    assert changed.organisation_id == org.id and changed.details == {"member": "ville@siivous.fi", "role": "admin"}
    demoted = runner.invoke(args=["orgs", "set-role", "--org", str(org.id), "--email", "pirjo@siivous.fi",
                                  "--role", "member", "--json"])
    assert json.loads(demoted.output) == {"org": str(org.id), "email": "pirjo@siivous.fi", "role": "member",
                                          "changed": True}
    again = runner.invoke(args=["orgs", "set-role", "--org", str(org.id), "--email", "pirjo@siivous.fi",
                                "--role", "member"])
    assert again.exit_code == 0 and "pirjo@siivous.fi is already a member of Siivous Oy" in again.output


def test_the_last_admin_is_not_demoted(app, runner):
    boss, worker = person("pirjo@siivous.fi"), person("ville@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", boss, [worker])

    result = runner.invoke(args=["orgs", "set-role", "--org", "0737546-2", "--email", "pirjo@siivous.fi",
                                 "--role", "member"])

    assert result.exit_code != 0 and "An organisation must always have an admin" in result.output
    assert [i.email for i in organisations.admins(org)] == ["pirjo@siivous.fi"]
    assert "Traceback" not in result.output


def test_set_role_names_a_person_who_is_not_a_member(app, runner):
    organisation("Siivous Oy", "0737546-2", person("pirjo@siivous.fi"))
    person("ville@siivous.fi")
    result = runner.invoke(args=["orgs", "set-role", "--org", "0737546-2", "--email", "ville@siivous.fi",
                                 "--role", "admin"])
    assert result.exit_code != 0 and "ville@siivous.fi is not a member of Siivous Oy" in result.output


def test_the_business_ids_shown_as_examples_pass_their_own_check(runner):
    import re
    from pathlib import Path

    from idp.services import business_id

    shown = runner.invoke(args=["orgs", "create", "--help"]).output
    shown += (Path(__file__).resolve().parent.parent / "README.md").read_text()
    examples = re.findall(r"\b\d{7}-\d\b", shown)
    assert examples and all(business_id.normalise(example) == example for example in examples), examples


def test_a_suspended_organisation_cannot_be_acted_for_until_resumed(app, runner, rp, browser):
    """A contract ended: the tokens for acting in it end at once, no new ones are issued,
    and on resume its members act for it again with the rights they had."""
    from tests.support.journeys import signed_in, tokens_for

    rp.client.org_mode = "business"
    admin, ville = person("pirjo@siivous.fi"), person("ville@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", admin, [ville], rights=[(ville, rp.client)])
    tokens = tokens_for(browser, rp, ville, scope="openid organizations offline_access")
    browser.get(rp.authorize_url(scope="openid organizations offline_access"))
    code = rp.callback_params(browser.url)["code"]  # issued before, redeemed after

    suspended = runner.invoke(args=["orgs", "suspend", "--org", "0737546-2", "--json"])
    assert suspended.exit_code == 0, suspended.output
    assert json.loads(suspended.output)["status"] == "suspended"
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.redeem(code).get_json()["error"] == "invalid_grant"
    browser.get(rp.authorize_url())
    assert browser.page.status_code == 403  # the person has nobody to act for here
    # Not "ask your admin": the admin cannot resume it.
    assert "Siivous Oy is suspended: nobody can use services acting for it" in browser.text
    assert "Ask your organisation's admin" not in browser.text and admin.email not in browser.text
    assert "\tsuspended" in runner.invoke(args=["orgs", "list"]).output
    page = signed_in(app, admin)
    page.get(f"/orgs/{org.id}")
    assert "This organisation is suspended" in page.text
    assert "Tunnus's operators suspended the organisation." in page.text and "org.suspended" not in page.text
    again = runner.invoke(args=["orgs", "suspend", "--org", str(org.id)])
    assert again.exit_code == 1 and "Siivous Oy is suspended already: nothing was changed" in again.output

    assert runner.invoke(args=["orgs", "resume", "--org", str(org.id)]).exit_code == 0
    browser.get(rp.authorize_url(scope="openid organizations"))
    claims = rp.verify_id_token(rp.redeem(rp.callback_params(browser.url)["code"]).get_json()["id_token"])
    assert claims["org"]["name"] == "Siivous Oy"
    assert [e.event for e in db.session.scalars(db.select(AuditEvent).where(
        AuditEvent.event.in_(["org.suspended", "org.resumed"])).order_by(AuditEvent.id))] == [
        "org.suspended", "org.resumed"]


@row_locks
def test_a_right_revoked_with_the_cli_as_its_member_leaves_the_organisation_is_answered_both(app, runner, rp,
                                                                                               monkeypatch):
    """The operator revokes a member's right to a service just as the member leaves the
    organisation from their account page. Leaving deletes the membership, and its rights
    with it; the revocation deletes the right and ends the member's tokens for it. Neither
    may wait for a lock the other waits behind: both are answered, the member is gone, and
    the command says what it did (revoked, or nothing left to revoke)."""
    rp.client.org_mode = "business"
    ville = person("ville@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", person("pirjo@siivous.fi"), [ville], rights=[(ville, rp.client)])
    leaving = signed_in(app, ville)
    leaving.get("/account")
    leaving.submit(f"/account/organisations/{org.id}/leave")  # the question, then the answer below

    def revoking():
        with app.app_context():
            return app.test_cli_runner().invoke(args=["orgs", "revoke", "--org", str(org.id), "--email",
                                                      ville.email, "--client", rp.client_id])

    # The command has found the right and the member holds their own row before either goes on.
    meet_after(monkeypatch, (organisations, "_right"), (Identity, "lock"))
    revoked, left = at_once(revoking, post(app, leaving, f"/account/organisations/{org.id}/leave"))
    monkeypatch.undo()

    assert left.status_code == 302, left.status_code
    assert revoked.exception is None or isinstance(revoked.exception, SystemExit), repr(revoked.exception)
    assert revoked.exit_code == 0 or "nothing was revoked" in revoked.output, revoked.output
    db.session.expire_all()
    assert organisations.membership(org, ville) is None


@row_locks
def test_an_invitation_withdrawn_with_the_cli_as_its_person_signs_in_is_simply_gone(app, runner, rp, monkeypatch):
    """The sign-in has read the invitation as waiting, and the operator's withdrawal goes in
    before it is accepted: the sign-in finishes without it (not with an error), and the
    command says it withdrew it."""
    rp.client.org_mode = "business"
    org = organisation("Siivous Oy", "0737546-2", person("pirjo@siivous.fi"))
    invited = person("maija@siivous.fi", "Maija")
    organisations.invite(org, invited.email, clients=[rp.client])
    db.session.commit()
    tab = Browser(app)
    tab.get("/login")
    tab.submit("/identify", email=invited.email)

    def withdrawing():
        with app.app_context():
            return app.test_cli_runner().invoke(args=["orgs", "withdraw-invitation", "--org", str(org.id),
                                                      "--email", invited.email])

    # Each has read the invitation as waiting before either goes on.
    meet_after(monkeypatch, (organisations, "invitations_waiting_for"), (organisations, "pending_invitations"))
    signed, withdrawn = at_once(post(app, tab, "/password", password=invited.test_password), withdrawing)
    monkeypatch.undo()

    assert withdrawn.exit_code == 0 and "withdrew the invitation of maija@siivous.fi" in withdrawn.output, \
        (withdrawn.output, repr(withdrawn.exception))
    assert signed.status_code == 302, signed.status_code
    db.session.expire_all()
    assert organisations.membership(org, invited) is None
    assert organisations.organisations_with_right(invited, rp.client) == []
