"""Tokens asked for at the moment the person ends their other sessions or resets their
password: someone holding a stolen session or refresh token keeps nothing that works.

Each race is made deterministic with barriers: the token request has written its new
tokens before the logout revokes, and neither commits before the logout has revoked every
token it saw. Issuing and revoking take turns on the person's row
(oidc/grants/revocation_lock.py), so one of them waits the barriers out and then sees
what the other committed.
"""
from __future__ import annotations

from idp.extensions import db
from idp.models import AuditEvent, Identity, Token
from idp.oidc.grants.authorization_code import AuthorizationCodeGrant
from idp.oidc.grants.refresh_token import RefreshTokenGrant
from idp.services import backchannel, sessions
from tests.support.browser import Browser
from tests.support.journeys import authorize, signed_in, tokens_for
from tests.support.races import at_once, barrier_after, meet_after, post, row_locks
from tests.support.rp import RelyingParty

NEW_PASSWORD = "lumikko juoksee hangella"


def _working(rp, answers) -> list[str]:
    """What still works of the tokens these token responses gave: refresh tokens that
    refresh, access tokens that introspect as active."""
    working = []
    for answer in answers:
        if answer.status_code != 200:
            continue
        tokens = answer.get_json()
        if rp.introspect(tokens["access_token"]).get_json()["active"]:
            working.append("access_token")
        if rp.refresh(tokens["refresh_token"]).status_code == 200:
            working.append("refresh_token")
    return working


def _unrevoked(user) -> int:
    """The person's tokens not revoked, as the database has them (the owner's own session got none)."""
    return db.session.execute(
        db.select(db.func.count(Token.id)).where(Token.identity_id == user.id, Token.revoked_at.is_(None))).scalar()


def _refresh_meets_logout(monkeypatch):
    """The refresh has written its new tokens when the logout revokes (the revocation's last
    step before is telling the services), and neither commits before the logout has revoked
    what it saw."""
    written = barrier_after(monkeypatch, RefreshTokenGrant, "revoke_old_credential")
    barrier_after(monkeypatch, backchannel, "notify", barrier=written)
    revoked = barrier_after(monkeypatch, RefreshTokenGrant, "revoke_old_credential")
    barrier_after(monkeypatch, sessions, "end_all", barrier=revoked)


def _stolen(app, rp, user, **params):
    """Tokens got in a session of the person's that someone else holds."""
    return tokens_for(signed_in(app, user), rp, user, **params)


@row_locks
def test_a_refresh_as_the_owner_logs_out_other_devices_leaves_nothing_working(app, rp, user, monkeypatch):
    stolen = _stolen(app, rp, user)
    owner = signed_in(app, user)
    owner.get("/account")
    _refresh_meets_logout(monkeypatch)

    refreshed, ended = at_once(lambda: rp.refresh(stolen["refresh_token"]),
                               post(app, owner, "/account/sessions/end-others"))
    monkeypatch.undo()
    assert ended.status_code == 302
    assert _working(rp, [refreshed]) == []
    assert rp.refresh(stolen["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert _unrevoked(user) == 0


@row_locks
def test_a_refresh_as_the_owner_resets_the_password_leaves_nothing_working(app, rp, user, mailbox, monkeypatch):
    # offline_access: a refresh token that outlives a logout ends with a reset all the same.
    stolen = _stolen(app, rp, user, scope="openid offline_access")
    owner = Browser(app)
    owner.get("/recovery")
    owner.submit("/recovery", email=user.email)
    owner.submit("/recovery/", code=mailbox.code(user.email))
    _refresh_meets_logout(monkeypatch)

    refreshed, reset = at_once(lambda: rp.refresh(stolen["refresh_token"]),
                               post(app, owner, "/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD))
    monkeypatch.undo()
    assert reset.status_code == 302
    assert AuditEvent.query.filter_by(event="identity.password_changed").count() == 1
    assert _working(rp, [refreshed]) == []
    assert rp.refresh(stolen["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert _unrevoked(user) == 0


@row_locks
def test_codes_redeemed_as_the_owner_logs_out_other_devices_leave_nothing_working(app, rp, user, monkeypatch):
    thief = signed_in(app, user)
    codes = []
    for _ in range(3):
        codes.append((authorize(thief, rp, user)["code"], rp.verifier))
    owner = signed_in(app, user)
    owner.get("/account")
    met = barrier_after(monkeypatch, AuthorizationCodeGrant, "delete_authorization_code", parties=len(codes) + 1)
    barrier_after(monkeypatch, sessions, "end_all", barrier=met)

    # Each exchange with a client of its own, as separate requests of the service are.
    exchanges = [lambda code=code, verifier=verifier, service=RelyingParty(app, rp.client, rp.secret):
                 service.redeem(code, verifier) for code, verifier in codes]
    *redeemed, ended = at_once(*exchanges, post(app, owner, "/account/sessions/end-others"))
    monkeypatch.undo()
    assert ended.status_code == 302
    assert _working(rp, redeemed) == []
    assert _unrevoked(user) == 0


@row_locks
def test_a_code_redeemed_as_the_person_removes_the_service_is_answered_and_leaves_nothing_working(
        app, rp, user, monkeypatch):
    """The service redeems its code as the person removes it from their account. The
    exchange takes the code and then holds the person's row; the removal holds the
    person's row and then withdraws the codes not yet exchanged. Neither may wait for a
    lock the other waits behind: both are answered, and no token is left working."""
    browser = signed_in(app, user)
    code = authorize(browser, rp, user)["code"]
    browser.get("/account")
    # The exchange has taken the code and the removal holds the person's row before either goes on.
    meet_after(monkeypatch, (AuthorizationCodeGrant, "query_authorization_code"), (Identity, "lock"))
    redeemed, removed = at_once(lambda: rp.redeem(code), post(app, browser, "/account/services/"))
    monkeypatch.undo()
    assert removed.status_code == 302
    assert redeemed.status_code in (200, 400), redeemed.get_json()
    assert _working(rp, [redeemed]) == []
    assert _unrevoked(user) == 0
