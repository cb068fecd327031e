"""`tunnus prune`: what has ended goes, what still works stays."""
from __future__ import annotations

import json

from idp.extensions import db
from idp.models import AuditEvent, AuthorizationCode, Invitation, LoginSession, OutboxMail, Token
from idp.models.flow import Flow
from idp.services import audit, clock, organisations
from tests.support.journeys import tokens_for

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
