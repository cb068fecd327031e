"""Organisation rules: valid business ids, an admin always, invitations that wait."""
import pytest

from idp.extensions import db
from idp.models import AuditEvent, Membership
from idp.models.organisation import ADMIN, MEMBER
from idp.services import business_id, clock, mail, organisations
from idp.services.organisations import LastAdmin
from idp.errors import Conflict, ValidationFailed
from idp.services.audit import SYSTEM
from tests.support.orgs import organisation, person


@pytest.mark.parametrize("value,expected", [
    ("0737546-2", "0737546-2"),   # check digit from remainder 9
    ("1572860-0", "1572860-0"),   # remainder 0 gives check digit 0
    (" 737546-2 ", "0737546-2"),  # old six-digit form is padded
    ("０７３７５４６-２", "0737546-2"),  # fullwidth digits are the same id, stored in ASCII
    ("0737546-3", None),          # wrong check digit
    ("07375462", None),           # no hyphen
    ("abc", None),
])
def test_business_id_check_digit(value, expected):
    assert business_id.normalise(value) == expected


def test_invalid_business_id_is_refused_with_a_clear_message(app):
    with pytest.raises(ValidationFailed) as error:
        organisations.create("Siivous Oy", "1234567-0")
    assert "1234567-1" in str(error.value)


def test_duplicate_business_id_is_refused(app):
    admin = person("a@example.fi")
    organisation("Siivous Oy", "0737546-2", admin)
    with pytest.raises(Conflict):
        organisations.create("Toinen Oy", "0737546-2")


def test_last_admin_cannot_be_removed_or_demoted(app):
    admin, member = person("admin@example.fi"), person("member@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin, [member])
    only_admin = organisations.membership(org, admin)
    with pytest.raises(LastAdmin):
        organisations.remove_member(org, only_admin)
    with pytest.raises(LastAdmin):
        organisations.set_role(org, only_admin, MEMBER)
    organisations.set_role(org, organisations.membership(org, member), ADMIN)
    organisations.set_role(org, only_admin, MEMBER)
    db.session.commit()
    assert organisations.membership(org, admin).role == MEMBER


def test_a_grant_rolled_back_with_its_change_leaves_no_right(app, rp):
    """The grant's row is added in a savepoint (a double click's other request may add it
    first); it still belongs to the change around it, on SQLite too."""
    rp.client.org_mode = "business"
    admin, member = person("admin@example.fi"), person("member@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin, [member])
    organisations.grant(org, organisations.membership(org, member), rp.client)
    db.session.rollback()
    assert organisations.rights(org) == set()


def test_invitation_waits_for_the_address_and_takes_effect_on_verified_sign_in(app, mailbox, rp):
    admin = person("admin@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin)
    invitation = organisations.add_member(org, "Uusi@Example.fi", MEMBER, actor=admin, clients=[rp.client])
    db.session.commit()
    assert invitation.accepted_at is None
    newcomer = person("uusi@example.fi")
    accepted = organisations.accept_invitations(newcomer, origin=SYSTEM)
    db.session.commit()
    assert [m.organisation_id for m in accepted] == [org.id]
    assert organisations.organisations_with_right(newcomer, rp.client) == [org]


def test_an_invitation_to_a_decomposed_address_reaches_the_person_who_types_it_composed(app, mailbox, rp):
    admin = person("admin@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin)
    invitation = organisations.add_member(org, "sa\u0308vel@example.fi", MEMBER, actor=admin, clients=[rp.client])
    db.session.commit()
    assert invitation.email == "s\u00e4vel@example.fi"  # mailed as keyboards type it
    newcomer = person("s\u00e4vel@example.fi")
    assert [m.organisation_id for m in organisations.accept_invitations(newcomer, origin=SYSTEM)] == [org.id]


def test_an_invitation_to_an_address_with_an_invisible_character_is_refused(app):
    admin = person("admin@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin)
    with pytest.raises(ValidationFailed, match="Enter a valid email address"):
        organisations.add_member(org, "uusi\u200b@example.fi", MEMBER, actor=admin)


def test_invitation_not_accepted_within_its_time_to_live_no_longer_takes_effect(app, mailbox):
    admin = person("admin@example.fi")
    admin.locale = "en"
    org = organisation("Siivous Oy", "0737546-2", admin)
    organisations.add_member(org, "uusi@example.fi", ADMIN, actor=admin)
    db.session.commit()
    mail.deliver_due()
    assert "The invitation is valid until" in mailbox.text(mailbox.last("uusi@example.fi"))
    clock.advance(app.config["IDP_INVITATION_TTL"] + 1)
    assert organisations.pending_invitations(org) == []
    newcomer = person("uusi@example.fi")
    assert organisations.accept_invitations(newcomer, origin=SYSTEM) == []
    assert organisations.membership(org, newcomer) is None

    organisations.add_member(org, "toinen@example.fi", MEMBER, actor=admin)  # invited again: a new time
    db.session.commit()
    clock.advance(app.config["IDP_INVITATION_TTL"] - 60)
    organisations.add_member(org, "toinen@example.fi", MEMBER, actor=admin)
    db.session.commit()
    clock.advance(120)
    accepted = organisations.accept_invitations(person("toinen@example.fi"), origin=SYSTEM)
    assert [m.organisation_id for m in accepted] == [org.id]


@pytest.mark.parametrize("change", ["removed", "demoted"])
def test_invitations_an_admin_made_go_when_they_are_no_longer_an_admin(app, mailbox, change):
    """A departing admin invites their private address as an admin, then is removed (or
    made a member): the invitation, made with a right they no longer have, no longer lets
    the address in. The other admin's and an operator's stay."""
    boss, leaving = person("pomo@yritys.fi"), person("lahtija@yritys.fi")
    org = organisation("Yritys Oy", "0737546-2", boss)
    organisations.add_member(org, leaving.email, ADMIN)
    organisations.invite(org, "lahtija.oma@example.fi", ADMIN, actor=leaving)
    organisations.invite(org, "uusi@yritys.fi", MEMBER, actor=boss)
    organisations.invite(org, "operaattorin@yritys.fi", MEMBER)
    db.session.commit()
    if change == "removed":
        organisations.remove_member(org, organisations.membership(org, leaving), actor=boss)
    else:
        organisations.set_role(org, organisations.membership(org, leaving), MEMBER, actor=boss)
    db.session.commit()
    assert [i.email for i in organisations.pending_invitations(org)] == ["operaattorin@yritys.fi", "uusi@yritys.fi"]
    assert organisations.accept_invitations(person("lahtija.oma@example.fi"), origin=SYSTEM) == []
    withdrawn = AuditEvent.query.filter_by(event="org.invitation_withdrawn").one()
    assert (withdrawn.details["member"], withdrawn.identity_id) == ("lahtija.oma@example.fi", boss.id)


def test_a_resident_removed_and_invited_again_joins_without_the_old_name_or_rights(app, rp):
    """The accepted invitation is gone with its acceptance: the name and rights an operator
    gave the resident once do not come back with an admin's new invitation (which gives
    none), nor block the name for the flat's new resident meanwhile."""
    rp.client.org_mode = "business"
    boss, newcomer = person("isannoitsija@koivukuja.fi"), person("uusi.a12@koivukuja.fi")
    org = organisation("As Oy Koivukuja", None, boss, [newcomer])
    organisations.add_member(org, "a12@koivukuja.fi", MEMBER, display_name="A 12", clients=[rp.client])
    db.session.commit()
    resident = person("a12@koivukuja.fi")
    organisations.accept_invitations(resident, origin=SYSTEM)
    db.session.commit()
    assert organisations.membership(org, resident).display_name == "A 12"

    organisations.remove_member(org, organisations.membership(org, resident), actor=boss)  # moved out
    organisations.invite(org, resident.email, MEMBER, actor=boss)  # back, as a tenant elsewhere in the building
    organisations.set_display_name(org, organisations.membership(org, newcomer), "A 12", actor=boss)
    db.session.commit()
    organisations.accept_invitations(resident, origin=SYSTEM)
    db.session.commit()
    returned = organisations.membership(org, resident)
    assert returned.display_name is None and organisations.rights(org) == set()


def test_unverified_address_does_not_accept_invitations(app):
    from idp.services import identities
    from idp.services.audit import SYSTEM

    admin = person("admin@example.fi")
    org = organisation("Siivous Oy", "0737546-2", admin)
    organisations.add_member(org, "uusi@example.fi", MEMBER)
    db.session.commit()
    squatter = identities.create("uusi@example.fi", "long enough password", "X", verified=False)
    assert organisations.accept_invitations(squatter, origin=SYSTEM) == []
    assert db.session.query(Membership).filter_by(identity_id=squatter.id).count() == 0
