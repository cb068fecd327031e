"""Leaving: an organisation (not as its only admin), or Tunnus altogether by deleting the
account with the current password, after which nothing of it signs in anywhere."""
import json
import threading
import time
from urllib.parse import urljoin

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.methods import pin
from idp.models import AuditEvent, Identity, Invitation, LegacyAccount, LogoutNotification, Token
from idp.models.organisation import ADMIN
from idp.oidc.grants.authorization_code import AuthorizationCodeGrant
from idp.services import account, backchannel, clock, identities, kiosk_sessions, mail, organisations, password_check
from idp.services.audit import SYSTEM
from tests.support.browser import Browser
from tests.support.journeys import authorize, sign_in, signed_in, tokens_for
from tests.support.kiosk import PIN, building, kiosk, membership_id, resident
from tests.support.legacy import imported
from tests.support.orgs import organisation, person
from tests.support.races import WAIT, at_once, barrier_after, clone, meet_after, post, race, row_locks

GONE = "Your account was deleted"
REFUSED = "The email address or password is incorrect, or the account is locked."


def _delete(browser, password):
    browser.get("/account")
    return browser.submit("/account/delete", current_password=password)


def _deleting(app, person):
    """The person deleting the account from the account page of a browser of their own,
    as a callable for at_once."""
    leaving = signed_in(app, person)
    leaving.get("/account")
    return post(app, leaving, "/account/delete", current_password=person.test_password)


def test_the_current_password_is_asked_and_a_wrong_one_deletes_nothing(app, user):
    browser = signed_in(app, user)
    _delete(browser, "not my password")
    assert browser.page.status_code == 400 and 'id="delete_current_password-error"' in browser.text
    assert Identity.by_email(user.email) is not None and "Your account" in browser.text


def test_a_deleted_account_signs_in_nowhere_and_its_address_is_free(app, user, rp, mailbox, runner):
    rp.client.backchannel_logout_uri = "https://rp.example/backchannel"
    db.session.commit()
    email, normalized, password, sub = user.email, user.email_normalized, user.test_password, user.sub
    tokens = tokens_for(signed_in(app, user), rp, user)
    browser = signed_in(app, user)
    _delete(browser, password)
    assert browser.page.status_code == 200 and GONE in browser.text and "Log out" not in browser.text

    db.session.expire_all()
    assert Identity.by_email(email) is None
    assert rp.introspect(tokens["access_token"]).get_json() == {"active": False}
    assert rp.refresh(tokens["refresh_token"]).status_code == 400
    assert LogoutNotification.query.count() == 1  # the service that got tokens is told
    assert mailbox.last(email)["Subject"] == "Your Tunnus account was deleted"
    again = Browser(app)
    again.get("/login")
    sign_in(again, email, password)
    assert again.page.status_code == 401
    [deleted] = AuditEvent.query.filter_by(event="identity.deleted").all()
    assert deleted.details["email"] == normalized and deleted.identity_id is None
    searched = runner.invoke(args=["audit", "search", "--email", email, "--since", "1h"])
    assert searched.exit_code != 0 and "Its account was deleted at" in searched.output
    assert person(email).sub != sub  # the address can make a new account


@row_locks
@pytest.mark.parametrize("until", [(password_check, "matches"), (identities, "conclude")],
                         ids=["while_the_password_is_checked", "before_the_session_starts"])
def test_signing_in_while_the_account_is_deleted_is_refused_as_for_no_account(app, user, monkeypatch, until):
    """The password is right, but the account is deleted (in another browser) before the
    sign-in is done: it is refused as at an address without an account, not with an error."""
    leaving = signed_in(app, user)
    leaving.get("/account")
    tab = Browser(app)
    tab.get("/login")
    tab.submit("/identify", email=user.email)
    form, signing_in = tab.form("/password"), clone(app, tab)
    meet_after(monkeypatch, until, (organisations, "sole_admin_of"))  # the deletion has begun
    refused, deleted = at_once(
        lambda: signing_in.post(urljoin(tab.url, form["action"]), data={**form["fields"],
                                                                        "password": user.test_password}),
        post(app, leaving, "/account/delete", current_password=user.test_password))
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert refused.status_code == 401 and REFUSED in refused.get_data(as_text=True)
    assert signing_in.get("/account").status_code == 302  # to sign in


@row_locks
def test_a_refresh_while_the_account_is_deleted_is_an_invalid_grant(app, user, rp, monkeypatch):
    """The service refreshes as the person deletes the account: the refresh token is
    refused as one of a deleted account is, not with a server error or a retry later."""
    tokens = tokens_for(signed_in(app, user), rp, user)
    leaving = signed_in(app, user)
    leaving.get("/account")
    meet_after(monkeypatch, (Token, "by_refresh_token"), (organisations, "sole_admin_of"))
    refreshed, deleted = at_once(lambda: rp.refresh(tokens["refresh_token"]),
                                 post(app, leaving, "/account/delete", current_password=user.test_password))
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"


def test_the_only_admin_of_an_organisation_hands_the_role_over_first(app, user):
    colleague = person("kollega@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", user, members=[colleague])
    browser = signed_in(app, user)
    _delete(browser, user.test_password)
    assert browser.page.status_code == 409
    assert "You are the only admin of Siivous Oy. Make someone else an admin there first." in browser.text
    organisations.set_role(org, organisations.membership(org, colleague), "admin")
    db.session.commit()
    _delete(browser, user.test_password)
    assert GONE in browser.text and [m.identity.email for m in organisations.members(org)] == [colleague.email]


def test_the_invitations_an_admin_made_go_with_their_account(app, user):
    colleague = person("kollega@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", user, members=[colleague])
    organisations.set_role(org, organisations.membership(org, colleague), ADMIN)
    organisations.invite(org, "oma@example.fi", ADMIN, actor=user)
    organisations.invite(org, "uusi@siivous.fi", "member", actor=colleague)
    db.session.commit()
    _delete(signed_in(app, user), user.test_password)
    assert [i.email for i in organisations.pending_invitations(org)] == ["uusi@siivous.fi"]
    assert organisations.accept_invitations(person("oma@example.fi"), origin=SYSTEM) == []


def test_a_deleted_account_leaves_no_invitation_naming_its_address(app):
    """The invitation the person joined by (the address, the name the organisation gave
    them) is not kept after it was accepted, so it does not outlive the account."""
    org = organisation("Siivous Oy", "0737546-2", person("pomo@siivous.fi"))
    organisations.add_member(org, "maija@example.fi", "member", display_name="Maija, siivooja")
    db.session.commit()
    maija = person("maija@example.fi", "Maija Meikäläinen")
    browser = signed_in(app, maija)  # accepts the invitation
    assert organisations.membership(org, maija) is not None
    _delete(browser, maija.test_password)
    assert db.session.scalars(db.select(Invitation.email)).all() == []


def test_old_user_names_of_a_deleted_account_do_not_bring_it_back(app, tmp_path):
    imported(tmp_path, "kirjasto", "maija.m", "maija@example.fi", "Maija", verified=True)
    imported(tmp_path, "uimahalli", "pekka.p", "pekka@example.fi", "Pekka")  # old user names stay in use
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, "maija.m", "Kesaloma2019")  # moves the old password over
    _delete(browser, "Kesaloma2019")
    assert GONE in browser.text and [a.login_name for a in LegacyAccount.query] == ["pekka.p"]
    later = Browser(app)
    later.get("/login")
    sign_in(later, "maija.m", "Kesaloma2019")
    assert later.page.status_code == 401


def test_an_operator_deletes_an_account_on_request(app, runner, user, mailbox):
    result = runner.invoke(args=["users", "delete", "--email", user.email, "--reason", "ticket 4411", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"email": user.email, "sub": user.sub, "deleted": True}
    assert Identity.by_email(user.email) is None and mailbox.last(user.email)
    assert AuditEvent.query.filter_by(event="identity.deleted").one().details["reason"] == "ticket 4411"


def test_a_member_leaves_an_organisation_from_the_account_page(app, user):
    colleague = person("kollega@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", colleague, members=[user])
    browser = signed_in(app, user)
    browser.get("/account")
    browser.submit(f"/account/organisations/{org.id}/leave")
    assert "<h1>Leave Siivous Oy?</h1>" in browser.text and organisations.membership(org, user) is not None
    assert 'href="/account#organisations">Cancel</a>' in browser.text
    browser.submit(f"/account/organisations/{org.id}/leave")
    assert "You left Siivous Oy." in browser.text and "Leave Siivous Oy" not in browser.text
    assert organisations.membership(org, user) is None


def test_leaving_posted_without_the_answer_only_asks(app, user):
    """A page loaded before leaving asked first still posts at once: it is asked, too."""
    org = organisation("Siivous Oy", "0737546-2", person("kollega@siivous.fi"), members=[user])
    browser = signed_in(app, user)
    browser.get("/account")
    token = browser.form("/account/profile")["fields"]["csrf_token"]
    browser.client.post(f"/account/organisations/{org.id}/leave", data={"csrf_token": token})
    assert organisations.membership(org, user) is not None


def test_leaving_by_a_get_carrying_the_answer_in_a_body_only_asks(app, user):
    """CSRF protection checks posts; a GET changes nothing, whatever body it carries."""
    org = organisation("Siivous Oy", "0737546-2", person("kollega@siivous.fi"), members=[user])
    browser = signed_in(app, user)
    asked = browser.client.open(f"/account/organisations/{org.id}/leave", method="GET", data={"confirmed": "yes"})
    assert "<h1>Leave Siivous Oy?</h1>" in asked.get_data(as_text=True)
    assert organisations.membership(org, user) is not None


def test_the_only_admin_is_told_to_hand_the_role_over_before_leaving(app, user):
    org = organisation("Siivous Oy", "0737546-2", user, members=[person("kollega@siivous.fi")])
    browser = signed_in(app, user)
    browser.get("/account")
    browser.submit(f"/account/organisations/{org.id}/leave")
    browser.submit(f"/account/organisations/{org.id}/leave")
    assert "An organisation must always have an admin. Make someone else an admin first." in browser.text
    assert organisations.membership(org, user) is not None


def test_a_reset_under_way_for_a_deleted_account_has_expired(app, user, mailbox):
    email, password = user.email, user.test_password
    elsewhere = Browser(app)
    elsewhere.get("/recovery")
    elsewhere.submit("/recovery", email=email)
    code = mailbox.code(email)
    _delete(signed_in(app, user), password)
    elsewhere.submit("/recovery/", code=code)
    assert elsewhere.page.status_code == 410 and "Traceback" not in elsewhere.text
    assert Identity.by_email(email) is None


def test_campaign_mail_still_waiting_is_not_sent_to_a_deleted_account(app, user, runner, mailbox):
    from idp.services import mail
    from tests.campaigns.helpers import started

    started(runner, "all", deadline="2099-01-01T12:00")  # its invitation waits in the outbox
    email = user.email
    assert runner.invoke(args=["users", "delete", "--email", email, "--reason", "ticket 1"]).exit_code == 0
    mail.deliver_due(limit=100)
    assert [m["Subject"] for m in mailbox.to(email)] == ["Tunnus-tilisi on poistettu"]  # the notice alone


def test_the_only_member_of_an_organisation_can_leave_it_or_delete_the_account(app, user, runner):
    """A one-person company has nobody to hand the admin role to."""
    email = user.email
    org = organisation("Toiminimi Meikäläinen", "0737546-2", user)
    browser = signed_in(app, user)
    _delete(browser, user.test_password)
    assert browser.page.status_code == 200 and GONE in browser.text
    assert Identity.by_email(email) is None and organisations.members(org) == []


def test_the_only_member_may_leave_the_organisation(app, user):
    alone = organisation("Toiminimi Meikäläinen", "0737546-2", user)
    browser = signed_in(app, user)
    browser.get("/account")
    browser.submit(f"/account/organisations/{alone.id}/leave")
    browser.submit(f"/account/organisations/{alone.id}/leave")
    assert "You left Toiminimi Meikäläinen." in browser.text and organisations.members(alone) == []


@pytest.mark.parametrize("how", ["leaves", "deletes the account"])
def test_the_only_member_leaving_withdraws_every_invitation_so_nobody_joins_without_an_admin(app, user, how):
    """The organisation closes with its last member: an operator's invitation waiting
    would otherwise make its address a member of an organisation nobody can manage."""
    alone, bookkeeper = organisation("Toiminimi Meikäläinen", "0737546-2", user), person("kirjanpitaja@example.fi")
    organisations.invite(alone, bookkeeper.email, "member")  # an operator's
    db.session.commit()
    browser = signed_in(app, user)
    if how == "leaves":
        browser.get("/account")
        browser.submit(f"/account/organisations/{alone.id}/leave")
        browser.submit(f"/account/organisations/{alone.id}/leave")
    else:
        _delete(browser, user.test_password)
    assert organisations.pending_invitations(alone) == []
    assert organisations.accept_invitations(bookkeeper, origin=SYSTEM) == []
    assert organisations.members(alone) == []


@row_locks
def test_an_admin_deleting_the_account_as_another_admin_demotes_them_is_answered_both(app, user, monkeypatch):
    """Pirjo, an admin of the company, deletes her account as Kaisa, its other admin,
    demotes her. The deletion holds Pirjo's row and then looks at her organisations; the
    demotion holds the company's and then Pirjo's (to end her tokens). Neither may wait
    for a lock the other waits behind: both are answered, not one with an error."""
    kaisa = person("kaisa@siivous.fi", "Kaisa")
    org = organisation("Siivous Oy", "0737546-2", user, members=[kaisa])
    organisations.set_role(org, organisations.membership(org, kaisa), ADMIN)
    db.session.commit()
    pirjo_id = organisations.membership(org, user).id
    leaving, kaisas = signed_in(app, user), signed_in(app, kaisa)
    leaving.get("/account")
    kaisas.get(f"/orgs/{org.id}")
    # The deletion holds Pirjo's row and the demotion the company's before either goes on.
    meet_after(monkeypatch, (organisations, "memberships_of"), (organisations, "is_admin"))
    deleted, demoted = at_once(post(app, leaving, "/account/delete", current_password=user.test_password),
                               post(app, kaisas, f"/members/{pirjo_id}/role", role="member"))
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert demoted.status_code in (200, 404), demoted.status_code
    db.session.expire_all()
    assert [admin.email for admin in organisations.admins(org)] == [kaisa.email]


@row_locks
def test_logging_out_in_one_browser_as_the_account_is_deleted_in_another_is_answered_both(app, user, monkeypatch):
    """The person logs out on one device as they delete the account on another. The logout
    ends its session and then records it, naming the person; the deletion holds the
    person's row and then ends their sessions, that one included. Neither may wait for a
    lock the other waits behind: both are answered, not one with an error."""
    deleting, other = _deleting(app, user), signed_in(app, user)
    other.get("/logout")
    # The logout has ended its session, and the deletion holds the person's row, before either goes on.
    meet_after(monkeypatch, (backchannel, "notify"), (organisations, "sole_admin_of"))
    logged_out, deleted = at_once(post(app, other, "/logout", confirm="1"),
                                  deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert logged_out.status_code < 400, logged_out.status_code
    assert clone(app, other).get("/account").status_code == 302  # to sign in


@row_locks
def test_a_code_redeemed_while_the_account_is_deleted_is_answered_and_leaves_nothing_working(app, user, rp,
                                                                                             monkeypatch):
    """The service redeems its code as the person deletes the account. The exchange takes
    the code and then the person's row; the deletion holds the person's row and then
    deletes what is theirs, the code included. Neither may wait for a lock the other waits
    behind: the deletion goes through, and the service is answered, with nothing working."""
    code = authorize(signed_in(app, user), rp, user)["code"]
    deleting = _deleting(app, user)
    # The exchange has taken the code and the deletion holds the person's row before either goes on.
    meet_after(monkeypatch, (AuthorizationCodeGrant, "query_authorization_code"), (organisations, "sole_admin_of"))
    redeemed, deleted = at_once(lambda: rp.redeem(code), deleting)
    monkeypatch.undo()

    _deleted_and_answered_with_nothing_working(deleted, redeemed, rp)


@row_locks
def test_a_code_issued_as_the_deletion_waits_and_redeemed_as_it_goes_on_is_answered(app, user, rp, monkeypatch):
    """The deletion has withdrawn the person's codes and waits for their row, which another
    request of theirs holds (a refresh, say). Meanwhile the service gets a new code (that
    only shares the row) and redeems it: the exchange takes the code, then waits for the
    person's row behind the deletion, which, let in, comes to delete that code. Neither may
    wait for a lock the other waits behind: the deletion goes through, and the service is
    answered, with nothing working."""
    browser = signed_in(app, user)
    authorize(browser, rp, user)  # the person's consent, so the code below comes at once
    deleting = _deleting(app, user)
    engine, answers = db.engine, {}
    held, release, consumed, deletion_holds = (threading.Event() for _ in range(4))

    def another_request():
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT id FROM identities WHERE id = :id FOR KEY SHARE"), {"id": user.id})
            held.set()
            release.wait(10)
            connection.rollback()

    exchange, sole_admin_of = AuthorizationCodeGrant.query_authorization_code, organisations.sole_admin_of

    def taking_the_code(grant, code, client):
        row = exchange(grant, code, client)
        consumed.set()
        deletion_holds.wait(WAIT)  # a fix that lets the exchange finish first waits this out
        return row

    def holding(identity):
        deletion_holds.set()
        return sole_admin_of(identity)

    monkeypatch.setattr(AuthorizationCodeGrant, "query_authorization_code", taking_the_code)
    monkeypatch.setattr(organisations, "sole_admin_of", holding)
    threads = [threading.Thread(target=another_request)]
    threads[0].start()
    held.wait(10)
    threads.append(threading.Thread(target=lambda: answers.update(deleted=deleting())))
    threads[1].start()
    _wait_for_a_lock_wait(engine)
    code = authorize(browser, rp, user)["code"]
    threads.append(threading.Thread(target=lambda: answers.update(redeemed=rp.redeem(code))))
    threads[2].start()
    consumed.wait(10)
    release.set()
    for thread in threads:
        thread.join(20)
    monkeypatch.undo()

    _deleted_and_answered_with_nothing_working(answers["deleted"], answers["redeemed"], rp)


def _deleted_and_answered_with_nothing_working(deleted, redeemed, rp):
    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert redeemed.status_code in (200, 400), redeemed.get_json()
    if redeemed.status_code == 200:
        assert rp.introspect(redeemed.get_json()["access_token"]).get_json() == {"active": False}
    else:
        assert redeemed.get_json()["error"] == "invalid_grant"


def _wait_for_a_lock_wait(engine):
    """Until a statement waits for a row lock (the deletion, for the person's row)."""
    for _ in range(100):
        with engine.connect() as connection:
            if connection.execute(sa.text("SELECT 1 FROM pg_locks WHERE NOT granted")).first():
                return
        time.sleep(0.05)
    raise AssertionError("nothing waited for a lock")


@row_locks
def test_a_kiosk_session_ending_idle_as_the_account_is_deleted_is_ended_once(app, monkeypatch):
    """The sender loop ends a resident's idle kiosk session as the resident deletes the
    account. The loop holds the session's row and then records its end, naming the person;
    the deletion holds the person's row and then ends their sessions. Neither may wait for
    a lock the other waits behind: the deletion is answered and the loop goes on."""
    org = building()
    screen = kiosk(app, org)
    leaving_person = resident(org, "asukas@koivukuja.fi", "A 1")
    kiosk_sessions.start(leaving_person, screen.client, origin=SYSTEM)
    clock.advance(app.config["IDP_KIOSK_IDLE_TIMEOUT"] + 1)
    deleting = _deleting(app, leaving_person)

    def sender_loop():
        with app.app_context():
            return kiosk_sessions.end_idle()

    # The loop has ended the session, and the deletion holds the person's row, before either goes on.
    meet_after(monkeypatch, (backchannel, "notify"), (organisations, "sole_admin_of"))
    ended, deleted = at_once(sender_loop, deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert ended in (0, 1)


@row_locks
def test_a_pin_typed_at_the_kiosk_as_the_account_is_deleted_is_refused_without_an_error(app, monkeypatch):
    """The resident's PIN is typed at the kiosk as the resident deletes the account. The
    check claims one of the PIN's attempts and then records it, naming the person; the
    deletion holds the person's row and then deletes the PIN with it. Neither may wait for
    a lock the other waits behind: the deletion goes through, and the kiosk shows a page."""
    org = building()
    screen = kiosk(app, org)
    leaving_person = resident(org, "asukas@koivukuja.fi", "A 1")
    deleting = _deleting(app, leaving_person)
    at_the_kiosk = Browser(app)
    at_the_kiosk.get(screen.authorize_url())
    at_the_kiosk.submit("/choose", button=("resident", str(membership_id(at_the_kiosk, "A 1"))))
    # The PIN's attempt is claimed, and the deletion holds the person's row, before either goes on.
    meet_after(monkeypatch, (pin, "_matches"), (organisations, "sole_admin_of"))
    typed, deleted = at_once(post(app, at_the_kiosk, "/pin", pin=PIN), deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert typed.status_code < 500, typed.status_code


@row_locks
def test_choosing_an_organisation_as_the_account_is_deleted_is_answered_both(app, user, monkeypatch):
    """The person chooses, in one browser, the company to act for as they delete the account
    in another. The choice writes the browser's session and records it, naming the person;
    the deletion holds the person's row and then ends their sessions, that one included.
    Neither may wait for a lock the other waits behind: both are answered, not one with an error."""
    org = organisation("Siivous Oy", "0737546-2", user)
    deleting, choosing = _deleting(app, user), signed_in(app, user)
    choosing.get("/account")
    # The choice is made (not yet written) and the deletion holds the person's row before either goes on.
    meet_after(monkeypatch, (organisations, "set_active"), (organisations, "sole_admin_of"))
    chosen, deleted = at_once(post(app, choosing, "/account/organisation", organisation=str(org.id)), deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert chosen.status_code < 500, chosen.status_code
    assert clone(app, choosing).get("/account").status_code == 302  # to sign in


@row_locks
def test_a_pin_changed_as_the_account_is_deleted_is_answered_both(app, monkeypatch):
    """The resident changes the kiosk PIN in one browser as they delete the account in
    another. The change holds the PIN's row and then records it, naming the person; the
    deletion holds the person's row and then deletes the PIN with it. Neither may wait for
    a lock the other waits behind: both are answered, not one with an error."""
    org = building()
    leaving_person = resident(org, "asukas@koivukuja.fi", "A 1")
    clock.advance(app.config["IDP_PIN_CHANGE_INTERVAL"] + 1)
    deleting, changing = _deleting(app, leaving_person), signed_in(app, leaving_person)
    changing.get("/account/pin")
    # The change holds the PIN's row and the deletion the person's before either goes on.
    meet_after(monkeypatch, (pin, "_locked"), (organisations, "sole_admin_of"))
    changed, deleted = at_once(post(app, changing, "/account/pin", current_password=leaving_person.test_password,
                                    pin="5930", repeat_pin="5930"), deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert changed.status_code < 500, changed.status_code
    assert Identity.by_email("asukas@koivukuja.fi") is None


@row_locks
def test_a_pin_removed_as_the_account_is_deleted_is_answered_both(app, monkeypatch):
    """As above, the resident removing the PIN instead: the removal deletes the PIN's row and
    records it, naming the person, as the deletion holds the person's row."""
    org = building()
    leaving_person = resident(org, "asukas@koivukuja.fi", "A 1")
    deleting, removing = _deleting(app, leaving_person), signed_in(app, leaving_person)
    removing.get("/account/pin")
    # The removal has found the PIN and the deletion holds the person's row before either goes on.
    meet_after(monkeypatch, (pin, "credential"), (organisations, "sole_admin_of"))
    removed, deleted = at_once(post(app, removing, "/account/pin/remove",
                                    current_password=leaving_person.test_password), deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert removed.status_code < 500, removed.status_code


@row_locks
@pytest.mark.parametrize("deletion", ["holds_the_row", "committed"])
def test_an_import_of_the_persons_old_account_as_the_account_is_deleted_is_answered_both(app, user, monkeypatch,
                                                                                          tmp_path, deletion):
    """An old system's accounts are imported just as the person with one of those addresses
    deletes their account. The import has checked its rows against the deleted accounts and
    goes on to read the identities to merge them into, as the deletion holds the person's
    row, or has just committed. Both go through (before, the import failed on a foreign key,
    or made the account anew), and the account does not come back."""
    from idp.services import legacy_import
    from idp.services.legacy_import import writer

    rows = tmp_path / "kirjasto.jsonl"
    rows.write_text(json.dumps({"legacy_id": "1", "login_name": "maija.m", "email": user.email, "name": "Maija",
                                "hash_scheme": "bcrypt", "password_hash": "$2b$04$" + "a" * 53}) + "\n")
    email, deleting = user.email, _deleting(app, user)

    def importing():
        with app.app_context():
            return legacy_import.run(str(rows), "kirjasto").counts

    # The import's batch has been checked, and the deletion holds the person's row (or has
    # committed, and mails its notice), before either goes on.
    meet_after(monkeypatch, (writer, "_free_login_names"),
               (organisations, "sole_admin_of") if deletion == "holds_the_row" else (mail, "deliver_now"))
    counts, deleted = at_once(importing, deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert Identity.by_email(email) is None, counts
    assert counts["rows"] == 1 and counts["identities_created"] == 0, counts


@row_locks
def test_an_imports_organisations_joined_as_the_account_is_deleted_are_answered_both(app, user, monkeypatch,
                                                                                     tmp_path):
    """The import's last step makes the people its rows name members of their organisations,
    just as one of them deletes the account. The step has read whom to join; the deletion
    holds the person's row. Both go through (before, the step failed on a foreign key), and
    nobody is made a member of anything for the gone account."""
    from idp.services import business_id, legacy_import
    from idp.services.legacy_import import organisations as joining

    rows = tmp_path / "kirjasto.jsonl"
    rows.write_text(json.dumps({"legacy_id": "1", "login_name": "maija.m", "email": user.email, "name": "Maija",
                                "hash_scheme": "bcrypt", "password_hash": "$2b$04$" + "a" * 53,
                                "org_business_id": "0737546-2", "org_role": "admin"}) + "\n")
    monkeypatch.setattr(joining, "join", lambda system: 0)  # an import stopped before it
    legacy_import.run(str(rows), "kirjasto")
    monkeypatch.undo()
    email, deleting = user.email, _deleting(app, user)

    def join():
        with app.app_context():
            return joining.join("kirjasto")

    # The step has read whom to join, and the deletion holds the person's row, before either goes on.
    meet_after(monkeypatch, (business_id, "normalise"), (organisations, "sole_admin_of"))
    joined, deleted = at_once(join, deleting)
    monkeypatch.undo()

    assert deleted.status_code == 200 and GONE in deleted.get_data(as_text=True)
    assert joined == 0 and Identity.by_email(email) is None


@row_locks
def test_a_double_clicked_deletion_answers_deleted_both_times_and_mails_once(app, user, monkeypatch, mailbox):
    """Before, the later click found the account gone under its lock and went on: a 500 page,
    the last the person saw, though the account was deleted."""
    browser = signed_in(app, user)
    browser.get("/account")
    barrier_after(monkeypatch, account, "confirm_password")
    answers = race(app, browser, "/account/delete", current_password=user.test_password)
    assert [a.status_code for a in answers] == [200, 200]
    assert all("Your account was deleted" in a.get_data(as_text=True) for a in answers)
    assert AuditEvent.query.filter_by(event="identity.deleted", result="success").count() == 1
    assert len(mailbox.to(user.email)) == 1
