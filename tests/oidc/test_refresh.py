"""Refresh tokens rotate on every use; reusing an old one revokes the whole grant."""
import datetime as dt

from idp.extensions import db
from idp.models import AuditEvent, AuthorizationCode, Identity
from idp.services import clock, identities, retention
from tests.support.journeys import signed_in, tokens_for
from tests.support.races import at_once, barrier_after, post, row_locks
from tests.support.rp import RelyingParty

NEW_EMAIL = "maija@uusi.example"


def test_refresh_returns_new_tokens_and_retires_the_old_refresh_token(browser, rp, user):
    first = tokens_for(browser, rp, user)
    response = rp.refresh(first["refresh_token"])
    assert response.status_code == 200
    second = response.get_json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert rp.userinfo(second["access_token"]).get_json()["sub"] == user.sub
    third = rp.refresh(second["refresh_token"])
    assert third.status_code == 200


def test_reused_refresh_token_revokes_every_token_of_the_grant(browser, rp, user):
    first = tokens_for(browser, rp, user)
    second = rp.refresh(first["refresh_token"]).get_json()

    reuse = rp.refresh(first["refresh_token"])
    assert reuse.status_code == 400 and reuse.get_json()["error"] == "invalid_grant"
    assert rp.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(second["access_token"]).status_code == 401


def test_reuse_is_detected_after_the_old_access_token_was_revoked(browser, rp, user):
    first = tokens_for(browser, rp, user)
    second = rp.refresh(first["refresh_token"]).get_json()
    assert rp.revoke(first["access_token"], token_type_hint="access_token").status_code == 200

    assert rp.refresh(first["refresh_token"]).status_code == 400
    assert rp.refresh(second["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert rp.userinfo(second["access_token"]).status_code == 401
    assert rp.refresh(first["refresh_token"]).status_code == 400  # again: the family is already dead
    assert AuditEvent.query.filter_by(event="token.refresh_reused").count() == 1


def test_a_refresh_token_without_offline_access_ends_when_its_session_runs_out(app, browser, rp, user):
    """OIDC Core §11: only offline_access works while the person is not signed in. Before,
    only a logout ended such a token: refreshed every few days, it lived on for good, and
    introspection called it active."""
    tokens = tokens_for(browser, rp, user, scope="openid email")
    offline = tokens_for(browser, rp, user, scope="openid email offline_access")
    clock.advance(app.config["IDP_BROWSER_SESSION_TTL"] + 60)
    refused = rp.refresh(tokens["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert rp.introspect(tokens["refresh_token"]).get_json() == {"active": False}
    assert rp.introspect(offline["refresh_token"]).get_json()["active"] is True
    assert rp.refresh(offline["refresh_token"]).status_code == 200


def test_a_new_grant_never_joins_the_family_of_one_whose_code_was_pruned(app, browser, rp, user):
    """Families were named by the code's id, which SQLite gives again once the highest codes
    are pruned: before, one client revoking its own refresh token revoked another person's
    tokens at another client."""
    first = tokens_for(browser, rp, user, scope="openid offline_access")
    clock.advance(2 * 24 * 3600)
    retention.prune(dt.timedelta(days=1))
    assert AuthorizationCode.query.count() == 0
    other_rp = RelyingParty.register(app, name="Toinen", first_party=True)
    someone = identities.create("toinen@example.fi", "another long password here", "Toinen", verified=True)
    someone.test_password = "another long password here"
    second = tokens_for(signed_in(app, someone), other_rp, someone, scope="openid")
    assert rp.revoke(first["refresh_token"]).status_code == 200
    assert other_rp.userinfo(second["access_token"]).status_code == 200


def test_refresh_can_narrow_but_not_widen_scope(browser, rp, user):
    first = tokens_for(browser, rp, user, scope="openid email")
    wider = rp.refresh(first["refresh_token"], scope="openid email profile")
    assert wider.get_json()["error"] == "invalid_scope"
    narrower = rp.refresh(first["refresh_token"], scope="openid")
    assert narrower.status_code == 200 and narrower.get_json()["scope"] == "openid"


def test_refresh_token_of_another_client_is_refused(app, browser, rp, user):
    from tests.support.rp import RelyingParty

    first = tokens_for(browser, rp, user)
    other = RelyingParty.register(app, name="Toinen")
    assert other.refresh(first["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_narrowing_on_one_refresh_narrows_only_that_access_token(browser, rp, user):
    # RFC 6749 §6: the new refresh token keeps the granted scope, also meant by an omitted scope.
    first = tokens_for(browser, rp, user, scope="openid email")
    narrow = rp.refresh(first["refresh_token"], scope="openid").get_json()
    assert narrow["scope"] == "openid"
    assert "email" not in rp.userinfo(narrow["access_token"]).get_json()
    assert rp.introspect(narrow["access_token"]).get_json()["scope"] == "openid"
    assert set(rp.introspect(narrow["refresh_token"]).get_json()["scope"].split()) == {"openid", "email"}
    assert rp.refresh(narrow["refresh_token"], scope="openid email profile").get_json()["error"] == "invalid_scope"

    again = rp.refresh(narrow["refresh_token"]).get_json()
    assert set(again["scope"].split()) == {"openid", "email"}
    assert rp.userinfo(again["access_token"]).get_json()["email"] == user.email


@row_locks
def test_a_refresh_as_the_owner_confirms_a_new_sign_in_email_is_answered_both(app, browser, rp, user, mailbox,
                                                                               monkeypatch):
    """The service refreshes its tokens at the moment the person types the code of an email
    change. Both are answered, not one with an error: the address changes, and the service
    gets new tokens that work."""
    first = tokens_for(browser, rp, user)
    browser.get("/account")
    browser.submit("/account/email", new_email=NEW_EMAIL, current_password=user.test_password)
    # Each, once it holds the person's row however it takes it (the refresh before its checks,
    # the change before its journey), waits for the other to get that far.
    barrier_after(monkeypatch, Identity, "hold", barrier=barrier_after(monkeypatch, Identity, "lock"))
    refreshed, changed = at_once(lambda: rp.refresh(first["refresh_token"]),
                                 post(app, browser, "/account/email/", code=mailbox.code(NEW_EMAIL)))
    monkeypatch.undo()

    assert (refreshed.status_code, changed.status_code) == (200, 302), (refreshed.status_code, changed.status_code)
    db.session.expire_all()
    assert db.session.get(Identity, user.id).email == NEW_EMAIL
    second = refreshed.get_json()
    assert rp.userinfo(second["access_token"]).get_json()["sub"] == user.sub
    assert rp.refresh(second["refresh_token"]).status_code == 200
