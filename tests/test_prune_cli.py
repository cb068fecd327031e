"""`tunnus prune`: what has ended goes, what still works stays."""
from __future__ import annotations

import json
import threading
from urllib.parse import urlencode

import sqlalchemy as sa

from idp.extensions import db
from idp.models import AuditEvent, AuthorizationCode, Identity, Invitation, LoginSession, OutboxMail, Token
from idp.models.flow import Flow
from idp.services import audit, backchannel, clients, clock, organisations
from tests.support.browser import Browser
from tests.support.journeys import sign_in, signed_in, tokens_for
from tests.support.logout_receiver import LogoutReceiver
from tests.support.races import WAIT, at_once, post, row_locks
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty

DAY = 24 * 3600


def _prune(runner, *args):
    result = runner.invoke(args=["prune", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _count(model):
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def test_prune_keeps_what_works_and_deletes_what_has_ended(runner, browser, rp, user):
    tokens = tokens_for(browser, rp, scope="openid offline_access", user=user, prompt="consent")
    assert "refresh_token" in tokens
    assert set(_prune(runner).values()) == {0}  # everything just made is still in use

    clock.advance(2 * DAY)  # the flows, the code and the 12-hour browser session are over
    counts = _prune(runner)
    assert counts["flows"] >= 1 and counts["authorization_codes"] == 1 and counts["login_sessions"] == 1
    assert counts["tokens"] == 0 and _count(Flow) == _count(AuthorizationCode) == _count(LoginSession) == 0

    refreshed = rp.refresh(tokens["refresh_token"])  # the 30-day refresh token still works
    assert refreshed.status_code == 200, refreshed.get_json()

    clock.advance(32 * DAY)
    assert _prune(runner)["tokens"] == 2 and _count(Token) == 0  # the rotated one and its successor
    assert rp.refresh(refreshed.get_json()["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_prune_takes_a_grace_period_and_refuses_nonsense(runner, browser, rp, user):
    tokens_for(browser, rp, user=user)
    clock.advance(2 * DAY)
    assert _prune(runner, "--older-than", "3d")["authorization_codes"] == 0
    assert _prune(runner, "--older-than", "36h")["authorization_codes"] == 1
    result = runner.invoke(args=["prune", "--older-than", "soon"])
    assert result.exit_code == 2 and "30m, 12h, 1d" in result.output


def test_prune_deletes_invitations_nobody_accepted_in_time(app, runner):
    alfa = organisations.create("Alfa Oy", "0737546-2")
    organisations.add_member(alfa, "kutsuttu@example.fi")
    db.session.commit()
    clock.advance(app.config["IDP_INVITATION_TTL"] + DAY - 60)
    organisations.add_member(alfa, "toinen@example.fi")
    db.session.commit()
    assert _prune(runner)["invitations"] == 0  # ended less than a day ago (--older-than 1d)

    clock.advance(2 * 60)
    assert _prune(runner)["invitations"] == 1
    assert [i.email for i in organisations.pending_invitations(alfa)] == ["toinen@example.fi"]


def test_prune_deletes_invitations_accepted_before_acceptance_deleted_them(app, runner):
    """Such a row names an address and the name the organisation gave it, long after the
    membership it made may have ended."""
    alfa = organisations.create("Alfa Oy", "0737546-2")
    organisations.add_member(alfa, "kutsuttu@example.fi", display_name="A 12").accepted_at = clock.now()
    db.session.commit()
    clock.advance(app.config["IDP_INVITATION_TTL"] + 2 * DAY)
    assert _prune(runner)["invitations"] == 1 and _count(Invitation) == 0


def test_prune_deletes_history_past_its_retention_period_and_keeps_the_rest(app, runner, user):
    """Audit records and delivered mail name people: kept IDP_AUDIT_RETENTION_DAYS, not forever."""
    audit.record("login.password", identity=user)
    db.session.add_all([OutboxMail(kind="notice", recipient=user.email, subject="Hei", text="", html="",
                                   status=status) for status in ("sent", "failed", "pending")])
    db.session.commit()
    earlier = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent))  # the account's making too
    clock.advance((app.config["IDP_AUDIT_RETENTION_DAYS"] - 1) * DAY)
    audit.record("login.password", identity=user)
    db.session.commit()
    counts = _prune(runner)
    assert counts["audit_events"] == counts["mail_outbox"] == 0

    clock.advance(2 * DAY)
    counts = _prune(runner)
    assert counts["audit_events"] == earlier and counts["mail_outbox"] == 2
    assert db.session.scalars(db.select(OutboxMail.status)).all() == ["pending"]  # still to be sent
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 1  # the later one


def test_a_service_signed_in_to_a_remembered_session_is_told_of_its_logout_after_prune(app, user, runner):
    """A service with no refresh token: its token row ends with its access token, in 10
    minutes, but the logout finds the service by it. Before, prune deleted it the next
    day, and the logout of a 30-day session told the service nothing."""
    receiver = LogoutReceiver()
    try:
        client, secret = clients.create("Kirjasto", [REDIRECT_URI], [POST_LOGOUT_URI],
                                        backchannel_logout_uri=receiver.url, grant_types=["authorization_code"])
        rp = RelyingParty(app, client, secret)
        browser = Browser(app)
        browser.get("/login")
        sign_in(browser, user.email, user.test_password, remember=True)
        tokens = tokens_for(browser, rp, user)
        assert "refresh_token" not in tokens
        clock.advance(2 * DAY)
        assert _prune(runner)["tokens"] == 0
        browser.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"]}))
        assert "You have logged out" in browser.text
        backchannel.wait()
        assert len(receiver.received) == 1
        assert _prune(runner)["tokens"] == 0  # ended now: kept for as long as anything ended is
        clock.advance(2 * DAY)
        assert _prune(runner)["tokens"] == 1
    finally:
        backchannel.wait()
        receiver.stop()


@row_locks
def test_prune_while_a_person_deletes_their_account_is_no_deadlock(app, user, runner, monkeypatch):
    """The deletion locks the person's sessions, then their tokens (expired ones too); prune
    deleted tokens, then sessions, in one transaction. Before, with an expired session and
    token of the person's, PostgreSQL ended one of them as a deadlock: the person got 503."""
    email = user.email
    client, secret = clients.create("Kirjasto", [REDIRECT_URI], [POST_LOGOUT_URI], grant_types=["authorization_code"])
    tokens_for(signed_in(app, user), RelyingParty(app, client, secret), user)  # a 12-hour session, left to expire
    clock.advance(DAY + 120)
    _prune(runner)  # the used code goes (the deletion would wait for it instead)
    clock.advance(DAY)  # the session and the token ended more than a day ago

    deleting = signed_in(app, user)
    deleting.get("/account")
    delete = post(app, deleting, "/account/delete", current_password=user.test_password)
    # They meet with the deletion's sessions locked and prune's token DELETE just run.
    barrier = threading.Barrier(2, timeout=WAIT)

    def meet(*_):
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            pass

    notify = backchannel.notify
    monkeypatch.setattr(backchannel, "notify", lambda sids: (notify(sids), meet())[0])

    def after(_conn, _cursor, statement, *_):
        if statement.lstrip().upper().startswith("DELETE FROM TOKENS"):
            meet()

    def prune():
        with app.app_context():
            return app.test_cli_runner().invoke(args=["prune", "--json"])

    sa.event.listen(db.engine, "after_cursor_execute", after)
    try:
        pruned, deleted = at_once(prune, delete)
    finally:
        sa.event.remove(db.engine, "after_cursor_execute", after)
    assert deleted.status_code == 200 and pruned.exit_code == 0, repr(pruned.exception)
    db.session.expire_all()
    assert Identity.by_email(email) is None


def test_a_campaigns_mail_goes_after_the_retention_period_as_any_mail_does(app, runner, user, mailbox):
    """It names its recipient; campaigns are kept (their counts are their members'). Before,
    a campaign's mail stayed for ever, a cancelled one's and a deleted account's too."""
    from tests.campaigns.helpers import deliver, started

    started(runner, "all", deadline="2099-01-01T12:00")
    deliver()
    assert OutboxMail.query.filter_by(recipient=user.email).count() == 1
    clock.advance((app.config["IDP_AUDIT_RETENTION_DAYS"] - 1) * DAY)
    assert _prune(runner)["mail_outbox"] == 0
    clock.advance(2 * DAY)
    assert _prune(runner)["mail_outbox"] == 1 and _count(OutboxMail) == 0
