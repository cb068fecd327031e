"""Changing IDP_SECRET_KEY with the earlier value in IDP_SECRET_KEY_FALLBACKS: people stay
signed in, and their authenticator app, recovery codes, mailed codes and campaign links
keep working;
`tunnus secrets reseal` moves the TOTP seeds under the new key, after which the fallback
is no longer needed for them."""
import html
import json
import re
import secrets

from idp import create_app
from idp.services import clock, identities, secrets_box
from tests.campaigns.helpers import campaign_link, deliver, local, person, started
from tests.conftest import IsolatedClient
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.totp import app_code, enrolled, sign_in_to_code_step

OLD, NEW = (f"{name}-{secrets.token_hex(16)}" for name in ("old", "new"))


def _made(base_config, secret: str, fallbacks: tuple[str, ...] = ()):
    """Tunnus on the same database after its secret was set to `secret`."""
    made = create_app(dict(base_config, IDP_SECRET_KEY=secret, IDP_SECRET_KEY_FALLBACKS=list(fallbacks)))
    made.test_client_class = IsolatedClient
    return made


def _moved(browser: Browser, made) -> Browser:
    """The same browser (its cookies, its page) talking to `made`."""
    moved = Browser(made)
    for cookie in browser.client._cookies.values():
        moved.client.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    moved.page, moved.url = browser.page, browser.url
    return moved


def _reseal(made, *args):
    """`tunnus secrets reseal` run by Tunnus with `made`'s settings."""
    with made.app_context():
        return made.test_cli_runner().invoke(args=["secrets", "reseal", *args])


def _signed_in_with_totp(made, user, secret) -> bool:
    browser = Browser(made)
    sign_in_to_code_step(browser, user)
    browser.submit("/totp", code=app_code(secret))
    return "Your account" in browser.text


def test_with_the_old_secret_as_a_fallback_nobody_loses_anything(app, base_config, user, mailbox):
    before = _made(base_config, OLD)
    signed_in = Browser(before)
    signed_in.get("/login")
    sign_in(signed_in, user.email, user.test_password)
    secret, recovery_codes = enrolled(before, user)
    resetting = Browser(before)
    resetting.get("/recovery")
    resetting.submit("/recovery", email=user.email)

    after = _made(base_config, NEW, (OLD,))
    still = _moved(signed_in, after)
    still.get("/account")
    assert "Your account" in still.text
    assert _signed_in_with_totp(after, user, secret)
    with_paper = Browser(after)
    sign_in_to_code_step(with_paper, user)
    with_paper.get(html.unescape(re.search(r'<a href="([^"]+)">Use a recovery code instead<', with_paper.text)[1]))
    with_paper.submit("/totp/recovery", code=recovery_codes[0])
    assert "Your account" in with_paper.text
    mailed = _moved(resetting, after)  # the code form was opened before the change
    mailed.submit("/recovery/", code=mailbox.code(user.email))
    clock.advance(30)  # the app's next code: the last one was used above
    mailed.submit("/totp", code=app_code(secret))  # the app, read with the old key, as a reset asks it
    assert mailed.text.count('autocomplete="new-password"') == 2  # the code proved the address


def test_reseal_moves_the_seeds_under_the_new_key_so_the_fallback_can_go(app, base_config, user):
    secret, _ = enrolled(_made(base_config, OLD), user)
    result = _reseal(_made(base_config, NEW, (OLD,)), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"totp_seeds": 1, "upstream_client_secrets": 0, "already_current": 0,
                                         "unreadable": 0}
    again = _reseal(_made(base_config, NEW, (OLD,)), "--json")  # nothing left to move
    assert json.loads(again.output) == {"totp_seeds": 0, "upstream_client_secrets": 0, "already_current": 1,
                                        "unreadable": 0}
    assert _signed_in_with_totp(_made(base_config, NEW), user, secret)


def test_without_the_fallback_browsers_are_signed_out_and_old_seeds_stay_sealed(app, base_config, user):
    before = _made(base_config, OLD)
    signed_in = Browser(before)
    signed_in.get("/login")
    sign_in(signed_in, user.email, user.test_password)
    secret, _ = enrolled(before, user)
    gone = _moved(signed_in, _made(base_config, NEW))
    gone.get("/account")
    assert "/login" in gone.url and "Your account" not in gone.text
    result = _reseal(_made(base_config, NEW))
    assert result.exit_code == 1
    assert "1 sealed under a key that is neither IDP_SECRET_KEY nor listed in IDP_SECRET_KEY_FALLBACKS" in result.output
    assert _signed_in_with_totp(_made(base_config, OLD), user, secret)  # left as it was


def test_campaign_links_mailed_before_the_change_still_open(app, base_config, runner, mailbox):
    person("a@example.fi")
    started(runner, "all")
    deliver()
    link = local(campaign_link(mailbox, "a@example.fi"))
    before = base_config["IDP_SECRET_KEY"]
    with_fallback = Browser(_made(base_config, NEW, (before,)))
    with_fallback.get(link)
    assert with_fallback.page.status_code == 200 and "Continue to confirm" in with_fallback.text
    without = Browser(_made(base_config, NEW))
    without.get(link)
    assert without.page.status_code == 404


def test_a_seed_removed_while_reseal_runs_is_left_and_the_others_are_moved(app, base_config, user, monkeypatch):
    """Before, the seed removed meanwhile failed the whole run (StaleDataError), and nothing
    was resealed."""
    other_user = identities.create("pekka@example.fi", "another horse battery staple", "Pekka", verified=True)
    other_user.test_password = "another horse battery staple"
    before = _made(base_config, OLD)
    removed, _ = enrolled(before, user)
    kept, _ = enrolled(before, other_user)
    after = _made(base_config, NEW, (OLD,))
    owner = Browser(after)
    sign_in_to_code_step(owner, user)
    owner.submit("/totp", code=app_code(removed))
    original, calls = secrets_box.reseal, []

    def the_owner_turns_the_app_off_meanwhile(sealed, info):
        if not calls:
            owner.get("/account/totp")
            owner.submit("/account/totp/disable", current_password=user.test_password,
                         code=app_code(removed, steps_later=1))
            assert "Two-step verification is off." in owner.text
        calls.append(sealed)
        return original(sealed, info)

    monkeypatch.setattr(secrets_box, "reseal", the_owner_turns_the_app_off_meanwhile)
    result = _reseal(after, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["totp_seeds"] == 1
    monkeypatch.undo()
    assert _signed_in_with_totp(_made(base_config, NEW), other_user, kept)
