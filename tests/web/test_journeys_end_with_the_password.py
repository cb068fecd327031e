"""What someone started with the old password stops when the owner changes it (on /account,
by a reset, in a campaign's step) or logs out everywhere: an email change waiting for its
link, a login parked at a later step, another reset's mailed link. Coming back to one shows
a page saying it is no longer valid and what to do, audited as `<kind>.refused`; the journey
making the change itself goes on to its end."""
import datetime as dt

import pytest

from idp.extensions import db
from idp.models import AuditEvent, Flow as StoredFlow, Identity
from idp.flows.campaign import CampaignFlow
from idp.flows.email_change import EmailChangeFlow
from idp.flows.login import LoginFlow
from idp.services import account, audit, clock, journeys, password_policy, passwords
from tests.campaigns.helpers import NEW_PASSWORD as CAMPAIGN_PASSWORD, member, person, started
from tests.support.browser import Browser
from tests.support.journeys import sign_in, signed_in
from tests.support.races import at_once, barrier_after, clone, meet_after, post, row_locks
from tests.support.totp import app_code, enrolled, sign_in_to_code_step

from .test_recovery import ask_reset, choose_password, signs_in

NEW_PASSWORD = "vihreä kirahvi juoksee aamulla"
OTHER_PASSWORD = "kettu kiipeää kuusen latvaan"
ATTACKER = "attacker@evil.example"
NEW_EMAIL = "maija@uusi.example"
LOGIN_STOPPED = "The password of this account was changed after this sign-in began"
LOGGED_OUT = "This account was logged out on all devices after this sign-in began"
EMAIL_CANCELLED = ("The password of the account was changed after this change of email address was asked for, "
                   "so the change was cancelled")


def _stored(identity) -> Identity:
    db.session.expire_all()
    return db.session.get(Identity, identity.id)


def _events(name):
    return [(e.result, (e.details or {}).get("reason")) for e in AuditEvent.query.filter_by(event=name)
            .order_by(AuditEvent.id)]


def _change_password_on_account_page(browser, current):
    browser.get("/account")
    browser.submit("/account/password", current_password=current, new_password=NEW_PASSWORD)
    assert "Your password was changed." in browser.text


def test_an_email_change_asked_with_a_stolen_password_ends_when_the_owner_changes_the_password(app, user, mailbox):
    attacker = signed_in(app, user)
    attacker.get("/account")
    attacker.submit("/account/email", new_email=ATTACKER, current_password=user.test_password)
    link = mailbox.link(ATTACKER, "/confirm/")
    waiting = Browser(app)  # the attacker's own browser, no session: the link needs none
    waiting.get(link)
    assert f"Make {ATTACKER} the sign-in email" in waiting.text

    owner = signed_in(app, user)
    _change_password_on_account_page(owner, user.test_password)

    waiting.submit("/confirm/")  # the page opened before the change
    assert waiting.page.status_code == 410
    assert "The email address was not changed" in waiting.text and EMAIL_CANCELLED in waiting.text
    fresh = Browser(app)
    fresh.get(link)
    assert fresh.page.status_code == 410 and EMAIL_CANCELLED in fresh.text
    assert f"Make {ATTACKER} the sign-in email" not in fresh.text

    assert _stored(user).email == user.email
    ask_reset(Browser(app), ATTACKER)  # the address opens no account to reset
    assert mailbox.last(ATTACKER)["Subject"] == "No Tunnus account uses this address"
    assert ("failure", "password_changed") in _events("email_change.refused")
    owner.get("/account")
    assert "Your account" in owner.text and user.email in owner.text


def test_the_email_change_is_cancelled_in_finnish_and_swedish_too(app, user, mailbox):
    attacker = signed_in(app, user)
    attacker.get("/account")
    attacker.submit("/account/email", new_email=ATTACKER, current_password=user.test_password)
    link = mailbox.link(ATTACKER, "/confirm/")
    _change_password_on_account_page(signed_in(app, user), user.test_password)
    for language, title, said in (
            ("fi", "Sähköpostiosoitetta ei vaihdettu", "Tilin salasana vaihdettiin sen jälkeen, kun sähköpostiosoitteen "
                                                  "vaihtoa pyydettiin, joten vaihto peruttiin"),
            ("sv", "E-postadressen byttes inte", "Kontots lösenord byttes efter att bytet av e-postadress begärdes, "
                                                "så bytet avbröts")):
        elsewhere = Browser(app)
        elsewhere.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        elsewhere.get(link)
        assert elsewhere.page.status_code == 410 and title in elsewhere.text and said in elsewhere.text


def test_the_owner_sees_the_same_on_the_code_page_of_a_change_they_began_before(app, user, mailbox):
    owner = signed_in(app, user)
    owner.get("/account")
    owner.submit("/account/email", new_email="maija@uusi.example", current_password=user.test_password)
    code_page = owner.url
    _change_password_on_account_page(owner, user.test_password)
    owner.get(code_page)
    assert owner.page.status_code == 410 and "The email address was not changed" in owner.text
    assert "start again on your account page" in owner.text


def test_an_email_change_asked_with_an_earlier_password_never_completes(app, user, mailbox):
    """Should an email change outlive a password change by some path that leaves the journeys
    alone, it still does not complete: the password it was asked with is not the account's."""
    attacker = signed_in(app, user)
    attacker.get("/account")
    attacker.submit("/account/email", new_email=ATTACKER, current_password=user.test_password)
    stored = _stored(user)
    stored.password_hash = passwords.hash_password(NEW_PASSWORD)  # behind the journeys' back
    db.session.commit()

    elsewhere = Browser(app)
    elsewhere.get(mailbox.link(ATTACKER, "/confirm/"))
    elsewhere.submit("/confirm/")
    assert elsewhere.page.status_code == 410 and EMAIL_CANCELLED in elsewhere.text
    assert _stored(user).email == user.email


@pytest.mark.parametrize("owner_does", ["campaign_step", "later_then_account_page"])
def test_a_login_parked_at_the_campaign_step_does_not_finish_once_the_password_changed(
        app, runner, rp, mailbox, owner_does):
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    attacker = Browser(app)
    attacker.get(rp.authorize_url())
    sign_in(attacker, maija.email, maija.test_password)
    assert "Before you continue" in attacker.text
    parked = attacker.url

    owner = Browser(app)
    owner.get("/login")
    sign_in(owner, maija.email, maija.test_password)
    if owner_does == "campaign_step":
        owner.submit("/campaign")
        owner.submit("/code", code=mailbox.code(maija.email))
        owner.submit("/password", password=CAMPAIGN_PASSWORD, confirm=CAMPAIGN_PASSWORD)
        new_password = CAMPAIGN_PASSWORD
    else:
        owner.submit("/campaign/later")
        _change_password_on_account_page(owner, maija.test_password)
        new_password = NEW_PASSWORD
    owner.get("/account")
    assert owner.url.endswith("/account") and "Your account" in owner.text  # the owner's own login finished

    attacker.get(parked)
    assert attacker.page.status_code == 410 and LOGIN_STOPPED in attacker.text
    assert "Your account" not in attacker.text
    attacker.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(attacker.url)["error"] == "login_required"
    assert ("failure", "password_changed") in _events("login.refused")
    assert signs_in(app, maija.email, new_password)


def test_a_login_parked_at_the_second_factor_does_not_finish_after_support_removes_the_factors(app, user, runner):
    enrolled(app, user)
    attacker = Browser(app)
    sign_in_to_code_step(attacker, user)
    parked = attacker.url

    result = runner.invoke(args=["users", "reset-second-factors", "--email", user.email, "--reason", "lost phone"])
    assert result.exit_code == 0, result.output

    attacker.get(parked.replace("/totp", "/continue"))
    assert attacker.page.status_code == 410 and LOGGED_OUT in attacker.text
    attacker.get("/account")
    assert "/login/" in attacker.url  # no session came of it
    assert ("failure", "signed_out") in _events("login.refused")


def test_logging_out_other_devices_ends_a_login_parked_at_the_second_factor(app, user):
    secret, _ = enrolled(app, user)
    attacker = Browser(app)
    sign_in_to_code_step(attacker, user)
    parked = attacker.url
    owner = Browser(app)
    sign_in_to_code_step(owner, user)
    owner.submit("/totp", code=app_code(secret))
    assert "Your account" in owner.text
    owner.submit("/account/sessions/end-others")

    attacker.get(parked)
    assert attacker.page.status_code == 410 and LOGGED_OUT in attacker.text
    assert ("failure", "signed_out") in _events("login.refused")


@row_locks
def test_a_parked_login_finishing_as_other_devices_are_logged_out_never_becomes_a_session(app, user, monkeypatch):
    """Before, its /continue, having read the flow live, waited for the logout and then
    started a session after it."""
    secret, _ = enrolled(app, user)
    stranger = Browser(app)
    sign_in_to_code_step(stranger, user)
    stranger.submit("/totp", code=app_code(secret), follow=False)
    continue_url = stranger.page.headers["Location"]
    owner = Browser(app)
    sign_in_to_code_step(owner, user)
    owner.submit("/totp", code=app_code(secret, 1))
    owner.get("/account")
    meet_after(monkeypatch, (LoginFlow, "load"), (journeys, "end_about"))
    finishing, _ = at_once(lambda: clone(app, stranger).get(continue_url),
                           post(app, owner, "/account/sessions/end-others"))
    monkeypatch.undo()
    db.session.expire_all()
    assert len(account.active_sessions(user)) == 1 and finishing.status_code == 410
    assert "logged out on all devices" in finishing.get_data(as_text=True)


def test_a_journey_holding_a_nul_does_not_stop_another_person_logging_out_other_devices(app, user):
    """Someone else's journey whose data holds a NUL and half a character (stored as JSON
    escapes). Before, on PostgreSQL, finding a person's journeys read every live flow's
    JSON as text, which such escapes fail: "log out other devices", a change of password
    or email and deleting the account answered 500 to everyone while that journey lived."""
    stranger = StoredFlow(kind="registration", state="form", browser="b", data={"email": "x\u0000@example.fi",
                          "name": "Virt\ud800anen"}, expires_at=clock.now() + dt.timedelta(minutes=30))
    db.session.add(stranger)
    db.session.commit()
    secret, _ = enrolled(app, user)
    attacker = Browser(app)
    sign_in_to_code_step(attacker, user)
    owner = Browser(app)
    sign_in_to_code_step(owner, user)
    owner.submit("/totp", code=app_code(secret))
    owner.submit("/account/sessions/end-others")
    assert owner.page.status_code == 200

    attacker.get(attacker.url)
    assert attacker.page.status_code == 410 and LOGGED_OUT in attacker.text
    assert not db.session.get(StoredFlow, stranger.id).is_expired()


def test_a_journey_ended_for_a_reason_this_release_does_not_know_is_expired(app, user):
    """During a rolling upgrade a newer release may end a journey for a reason added since:
    coming back to it on this one shows the page for an expired journey, not an error."""
    enrolled(app, user)
    parked = Browser(app)
    sign_in_to_code_step(parked, user)
    stored = db.session.get(StoredFlow, parked.url.split("/login/")[1].split("/")[0])
    stored.end("a_reason_added_later")
    db.session.commit()

    parked.get(parked.url)
    assert parked.page.status_code == 410 and "This page was open too long and has expired" in parked.text


def test_an_earlier_reset_link_is_refused_once_a_later_reset_is_done(app, user, mailbox):
    earlier = Browser(app)
    ask_reset(earlier, user.email)
    earlier_code, earlier_link = mailbox.code(user.email), mailbox.link(user.email, "/link")
    opened = Browser(app)
    opened.get(earlier_link)  # confirmed only after the other reset is done
    opened.form("/link")

    owner = Browser(app)
    ask_reset(owner, user.email)
    owner.submit("/recovery/", code=mailbox.code(user.email))
    choose_password(owner, NEW_PASSWORD)
    assert "Your account" in owner.text  # the reset making the change signs the owner in

    opened.submit("/link")
    assert opened.page.status_code == 410 and "This code and link no longer work." in opened.text
    assert 'autocomplete="new-password"' not in opened.text
    fresh = Browser(app)
    fresh.get(earlier_link)
    assert fresh.page.status_code == 410 and 'name="confirm"' not in fresh.text
    earlier.submit("/recovery/", code=earlier_code)
    assert earlier.page.status_code == 410 and "This code and link no longer work." in earlier.text
    assert signs_in(app, user.email, NEW_PASSWORD)
    assert ("failure", "password_changed") in _events("recovery.refused")


def test_a_reset_of_an_account_with_a_second_factor_ends_a_parked_login_but_finishes_its_own(app, user, mailbox):
    secret, _ = enrolled(app, user)
    attacker = Browser(app)
    sign_in_to_code_step(attacker, user)
    parked = attacker.url

    owner = Browser(app)
    ask_reset(owner, user.email)
    owner.submit("/recovery/", code=mailbox.code(user.email))
    owner.submit("/totp", code=app_code(secret))
    choose_password(owner, NEW_PASSWORD)
    assert "Your account" in owner.text  # the reset's own login goes on into a session

    attacker.get(parked)
    assert attacker.page.status_code == 410 and LOGIN_STOPPED in attacker.text


def test_a_login_that_proved_an_earlier_password_never_becomes_a_session(app, runner, rp, mailbox):
    """Should a parked login outlive a password change by some path that leaves the journeys
    alone, its end still refuses: the password it proved is not the account's now."""
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    attacker = Browser(app)
    attacker.get(rp.authorize_url())
    sign_in(attacker, maija.email, maija.test_password)
    assert "Remind me later" in attacker.text

    stored = _stored(maija)
    stored.password_hash = passwords.hash_password(NEW_PASSWORD)  # behind the journeys' back
    db.session.commit()

    attacker.submit("/campaign/later")
    assert attacker.page.status_code == 410 and LOGIN_STOPPED in attacker.text
    attacker.get(rp.authorize_url(prompt="none"))
    assert rp.callback_params(attacker.url)["error"] == "login_required"
    assert ("failure", "password_changed") in _events("login.refused")


@row_locks
def test_a_parked_login_finishing_as_the_password_changes_leaves_no_session(app, runner, rp, monkeypatch):
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    attacker = Browser(app)
    attacker.get(rp.authorize_url())
    sign_in(attacker, maija.email, maija.test_password)
    continue_at = attacker.submit("/campaign/later", follow=False).headers["Location"]
    owner = signed_in(app, maija)
    owner.get("/account")

    # Each has checked the password (the login) or replaced it (the change) before either commits.
    barrier_after(monkeypatch, journeys, "password_version")
    at_once(lambda: clone(app, attacker).get(continue_at),
            post(app, owner, "/account/password", current_password=maija.test_password, new_password=NEW_PASSWORD))

    db.session.expire_all()
    assert len(account.active_sessions(maija)) == 1  # the owner's own, where the password was changed
    assert signs_in(app, maija.email, NEW_PASSWORD)


def test_a_sign_in_that_rehashes_the_same_password_leaves_a_login_parked_at_the_second_factor_going(app, user):
    """Raised argon2 parameters rehash the password at the next sign-in: the password is the
    same, so the person's other login, waiting for its code, still finishes."""
    secret, _ = enrolled(app, user)
    parked = Browser(app)
    sign_in_to_code_step(parked, user)
    app.config["IDP_ARGON2_MEMORY_KIB"] *= 2  # the operator raises the parameters
    app.extensions.pop("idp.argon2")
    sign_in_to_code_step(Browser(app), user)  # this sign-in rehashes the password
    db.session.expire_all()
    assert not passwords.needs_rehash(db.session.get(Identity, user.id).password_hash)

    parked.submit("/totp", code=app_code(secret))
    parked.get("/account")
    assert parked.url.endswith("/account") and "Your account" in parked.text


def test_a_password_changed_while_a_sign_in_checks_the_old_one_stops_that_sign_in(app, user, monkeypatch):
    """The old password was right when it was checked, but a reset committed meanwhile:
    the sign-in fails, and the new password stays the account's (no rehash of the old one
    put back over it)."""
    from idp.services import identities, password_check
    from idp.services.audit import SYSTEM

    checked, reset = password_check.matches, []

    def reset_meanwhile(identity, password):
        opened = checked(identity, password)
        if not reset:  # the first check only (set_password checks too: that one is not a sign-in's)
            reset.append(True)
            with app.app_context():  # another request, committing while this one waits
                identities.set_password(db.session.get(Identity, identity.id), NEW_PASSWORD, origin=SYSTEM,
                                        reason="reset")
                db.session.commit()
        return opened

    app.config["IDP_ARGON2_MEMORY_KIB"] *= 2  # the old hash would be rehashed on success
    app.extensions.pop("idp.argon2")
    monkeypatch.setattr(password_check, "matches", reset_meanwhile)
    browser = Browser(app)
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    assert "The email address or password is incorrect" in browser.text
    monkeypatch.undo()
    db.session.expire_all()
    assert passwords.verify(db.session.get(Identity, user.id).password_hash, NEW_PASSWORD)


@row_locks
def test_an_email_change_confirmed_as_the_owner_changes_the_password_is_answered_both(app, user, mailbox,
                                                                                      monkeypatch):
    """The link of an email change is confirmed as the owner changes the password. Both are
    answered, not one with an error: the confirmation either comes first and the address
    changes, or comes after and finds its journey ended, the address as it was."""
    attacker = signed_in(app, user)
    attacker.get("/account")
    attacker.submit("/account/email", new_email=ATTACKER, current_password=user.test_password)
    waiting = Browser(app)
    waiting.get(mailbox.link(ATTACKER, "/confirm/"))
    owner = signed_in(app, user)
    owner.get("/account")
    # Each, once it holds the first row it locks, waits for the other to get that far: as if
    # both had begun at the very same moment.
    meet_after(monkeypatch, (EmailChangeFlow, "_lock"), (Identity, "lock"))
    confirmed, changed = at_once(
        post(app, waiting, "/confirm/"),
        post(app, owner, "/account/password", current_password=user.test_password, new_password=NEW_PASSWORD))
    monkeypatch.undo()

    assert changed.status_code == 302, changed.status_code
    assert confirmed.status_code in (200, 410), confirmed.status_code
    db.session.expire_all()
    assert db.session.get(Identity, user.id).email == (ATTACKER if confirmed.status_code == 200 else user.email)


@row_locks
def test_two_resets_of_one_account_completing_at_once_are_answered_both(app, user, mailbox, monkeypatch):
    """Two browsers each proved a reset's code and post their new passwords at the same
    moment. Both are answered, not one with an error: one password is set and signs in, the
    other browser is told its code no longer works, and its password opens nothing."""
    browsers = [Browser(app), Browser(app)]
    for browser in browsers:
        ask_reset(browser, user.email)
        browser.submit("/recovery/", code=mailbox.code(user.email))
    # Each, its password checked, waits for the other's: as if both were posted at the very same moment.
    barrier_after(monkeypatch, password_policy, "check")
    answers = at_once(*(post(app, browser, "/password", password=password, confirm=password)
                        for browser, password in zip(browsers, (NEW_PASSWORD, OTHER_PASSWORD))))
    monkeypatch.undo()

    assert sorted(a.status_code for a in answers) == [302, 410], [a.status_code for a in answers]
    won = 0 if answers[0].status_code == 302 else 1
    assert "This code and link no longer work." in answers[1 - won].get_data(as_text=True)
    chosen = (NEW_PASSWORD, OTHER_PASSWORD)
    assert signs_in(app, user.email, chosen[won]) and not signs_in(app, user.email, chosen[1 - won])
    assert ("failure", "password_changed") in _events("recovery.refused")


@row_locks
def test_a_campaign_code_entered_as_the_owner_logs_out_everywhere_is_answered_both(app, runner, mailbox,
                                                                                   monkeypatch):
    """Signing in, the person is at a campaign's step and types the code mailed to them just
    as, signed in elsewhere, they log out their other devices. Both are answered, not one with
    an error: the code either counts before the logout, or finds its journey ended; either way
    that sign-in never becomes a session, and only the device that logged out the others is
    signed in."""
    maija = person("maija@example.fi", "Maija")
    signed_in(app, maija)  # a phone; and the owner's computer, both before the campaign began
    owner = signed_in(app, maija)
    owner.get("/account")
    campaign_id = started(runner, "all", deadline="2099-01-01T12:00")
    stepping = signed_in(app, maija)
    stepping.submit("/campaign")
    assert "We sent a 6-digit code" in stepping.text
    # The step once it holds the person's row, the logout once it has ended their journeys,
    # waits for the other to get that far: as if both had begun at the very same moment.
    meet_after(monkeypatch, (Identity, "lock"), (journeys, "end_about"))
    typed, logged_out = at_once(post(app, stepping, "/code", code=mailbox.code(maija.email)),
                                post(app, owner, "/account/sessions/end-others"))
    monkeypatch.undo()

    assert logged_out.status_code == 302, logged_out.status_code
    assert typed.status_code in (302, 410), typed.status_code
    assert (member(campaign_id, maija).email_verified_at is not None) == (typed.status_code == 302)
    stepping.get(stepping.url)
    assert stepping.page.status_code == 410 and "logged out on all devices" in stepping.text
    db.session.expire_all()
    assert len(account.active_sessions(maija)) == 1  # the owner's own
    assert ("failure", "signed_out") in _events("campaign.refused")


@row_locks
def test_a_sign_in_that_rehashes_the_password_as_an_email_change_is_confirmed_is_answered_both(app, user, mailbox,
                                                                                               monkeypatch):
    """The argon2 parameters were raised, so the next sign-in rehashes the password; it comes
    just as the link of an email change of the same account is confirmed. Both are answered,
    not one with an error: the password is the same, so the change of address completes
    whichever comes first, and the password is hashed anew. The sign-in either started its
    session first, or is told the address changed after it began, as a login parked at a
    step would be."""
    owner = signed_in(app, user)
    owner.get("/account")
    owner.submit("/account/email", new_email=NEW_EMAIL, current_password=user.test_password)
    confirming = Browser(app)
    confirming.get(mailbox.link(NEW_EMAIL, "/confirm/"))
    app.config["IDP_ARGON2_MEMORY_KIB"] *= 2  # the operator raises the parameters
    app.extensions.pop("idp.argon2")
    signing = Browser(app)
    signing.get("/login")
    signing.submit("/identify", email=user.email)
    # Each, once it holds the person's row however it takes it (the change before its journey,
    # the sign-in to read the password again), waits for the other to get that far.
    barrier_after(monkeypatch, Identity, "hold", barrier=barrier_after(monkeypatch, Identity, "lock"))
    signed, confirmed = at_once(post(app, signing, "/password", password=user.test_password),
                                post(app, confirming, "/confirm/"))
    monkeypatch.undo()

    assert confirmed.status_code == 200 and "Email address changed" in confirmed.get_data(as_text=True), \
        confirmed.status_code
    stored = _stored(user)
    assert stored.email == NEW_EMAIL and not passwords.needs_rehash(stored.password_hash)
    if signed.status_code == 302:
        assert signed.headers["Location"].endswith("/account")
        assert len(account.active_sessions(stored)) == 2  # the owner's, and this sign-in's
    else:
        assert signed.status_code == 410
        assert "sign-in email of this account was changed" in signed.get_data(as_text=True)
        assert len(account.active_sessions(stored)) == 1
    assert signs_in(app, NEW_EMAIL, user.test_password)


@row_locks
def test_a_campaign_step_taken_as_an_email_change_is_confirmed_is_answered_both(app, runner, mailbox, monkeypatch):
    """Signing in, the person is at a campaign's step and goes on just as, signed in
    elsewhere, they type the code of an email change. Both are answered, not one with an
    error: the address changes, and the step either came first (its code mailed, its journey
    then ended by the change) or finds its sign-in ended; either way coming back to it asks
    to sign in again with the new address, and that sign-in never becomes a session."""
    maija = person("maija@example.fi", "Maija")
    owner = signed_in(app, maija)  # before the campaign began
    owner.get("/account")
    owner.submit("/account/email", new_email=NEW_EMAIL, current_password=maija.test_password)
    started(runner, "all", deadline="2099-01-01T12:00")
    stepping = signed_in(app, maija)
    assert "/campaign" in stepping.url
    # The change holds its journey (and the person's row before it) as the step has its
    # audit record ready; then each goes on.
    meet_after(monkeypatch, (EmailChangeFlow, "_lock"), (audit, "record"))
    stepped, changed = at_once(post(app, stepping, "/campaign"),
                               post(app, owner, "/account/email/", code=mailbox.code(NEW_EMAIL)))
    monkeypatch.undo()

    assert changed.status_code == 302, changed.status_code
    assert stepped.status_code in (302, 410), stepped.status_code
    assert _stored(maija).email == NEW_EMAIL
    stepping.get(stepping.url)
    assert stepping.page.status_code == 410 and "Sign in again with the new email address." in stepping.text
    db.session.expire_all()
    assert len(account.active_sessions(maija)) == 1  # the owner's own


@row_locks
@pytest.mark.parametrize("elsewhere, because", [("email_change", "sign-in email of the account was changed"),
                                                ("log_out_everywhere", "logged out on all devices"),
                                                ("password_change", "password of the account was changed")])
def test_a_campaign_password_chosen_as_the_owner_changes_the_account_elsewhere_is_answered_both(
        app, runner, mailbox, monkeypatch, elsewhere, because):
    """Signing in, the person is at a campaign's new password, and posts it just as, signed in
    elsewhere, they confirm a change of their sign-in email, log out their other devices or
    change their password there. Both are answered, and the one that came first wins: the
    campaign's journey, ended meanwhile, says so and sets no password (before, it set its
    password over the change just made, and then said it had ended)."""
    maija = person("maija@example.fi", "Maija")
    signed_in(app, maija)  # a phone; and the owner's computer, both before the campaign began
    owner = signed_in(app, maija)
    owner.get("/account")
    if elsewhere == "email_change":
        owner.submit("/account/email", new_email=NEW_EMAIL, current_password=maija.test_password)
        confirming = Browser(app)
        confirming.get(mailbox.link(NEW_EMAIL, "/confirm/"))
        change = post(app, confirming, "/confirm/")
    elif elsewhere == "log_out_everywhere":
        change = post(app, owner, "/account/sessions/end-others")
    else:
        change = post(app, owner, "/account/password", current_password=maija.test_password,
                      new_password=NEW_PASSWORD)
    started(runner, "all", deadline="2099-01-01T12:00")
    stepping = signed_in(app, maija)
    stepping.submit("/campaign")
    stepping.submit("/code", code=mailbox.code(maija.email))
    # The step once it has read its journey waits until the change holds the person and has
    # ended their journeys: the change comes first.
    meet_after(monkeypatch, (CampaignFlow, "load"), (journeys, "end_about"))
    chosen, changed = at_once(post(app, stepping, "/password", password=CAMPAIGN_PASSWORD, confirm=CAMPAIGN_PASSWORD),
                              change)
    monkeypatch.undo()

    assert changed.status_code in (200, 302), changed.status_code
    assert chosen.status_code == 410 and because in chosen.get_data(as_text=True), chosen.status_code
    stored = _stored(maija)
    assert stored.email == (NEW_EMAIL if elsewhere == "email_change" else maija.email)
    assert passwords.verify(stored.password_hash,
                            NEW_PASSWORD if elsewhere == "password_change" else maija.test_password)
    assert [("failure", elsewhere.replace("log_out_everywhere", "signed_out").replace("_change", "_changed"))] == \
        _events("campaign.refused")
