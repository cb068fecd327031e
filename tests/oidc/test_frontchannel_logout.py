"""OpenID Connect Front-Channel Logout 1.0: the page after a logout frames the logout page
of each relying service that got tokens in the ended session, with iss and sid, and its
CSP allows exactly those frames. (tests/e2e/test_frontchannel_logout.py runs it in Chromium.)"""
from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlencode, urlsplit

from idp.services import clients, identities
from tests.support.browser import Browser
from tests.support.journeys import sign_in, tokens_for
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty


def _framing_rp(app, name, logout_uri, extra_redirect=None):
    redirects = [REDIRECT_URI] + ([extra_redirect] if extra_redirect else [])
    client, secret = clients.create(name, redirects, [POST_LOGOUT_URI], frontchannel_logout_uri=logout_uri)
    return RelyingParty(app, client, secret)


def _frames(page) -> list[str]:
    return [unescape(src) for src in re.findall(r'<iframe src="([^"]+)"', page.get_data(as_text=True))]


def _frame_src(page) -> str:
    return re.search(r"frame-src ([^;]+)", page.headers["Content-Security-Policy"]).group(1)


def test_logout_page_frames_each_service_of_the_session_with_iss_and_sid(app, browser, user):
    kirjasto = _framing_rp(app, "Kirjasto", "https://kirjasto.example/logout?from=tunnus",
                           extra_redirect="https://kirjasto.example/cb")
    uimahalli = _framing_rp(app, "Uimahalli", "https://rp.example/frontchannel")
    silent = RelyingParty.register(app, name="Ei kehyksiä")
    elsewhere = _framing_rp(app, "Muualla", "https://rp.example/elsewhere")
    tokens = tokens_for(browser, kirjasto, user)
    tokens_for(browser, uimahalli, user)
    tokens_for(browser, silent, user)
    sid = kirjasto.verify_id_token(tokens["id_token"])["sid"]
    tokens_for(Browser(app), elsewhere, user)  # another session: not this logout's business

    browser.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_URI,
                                        "state": "bye-1"}))
    page = browser.page
    assert page.status_code == 200 and "You have logged out" in browser.text
    assert _frames(page) == [f"https://kirjasto.example/logout?from=tunnus&iss=http%3A%2F%2Flocalhost&sid={sid}",
                             f"https://rp.example/frontchannel?iss=http%3A%2F%2Flocalhost&sid={sid}"]
    assert "Kirjasto" in browser.text and "Uimahalli" in browser.text and "Ei kehyksiä" not in browser.text
    assert _frame_src(page) == "https://kirjasto.example https://rp.example"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    continue_to = unescape(re.search(r'<a id="continue" href="([^"]+)"', browser.text).group(1))
    assert continue_to.startswith(POST_LOGOUT_URI) and parse_qs(urlsplit(continue_to).query)["state"] == ["bye-1"]
    assert '<script src="/static/logout.js" defer></script>' in browser.text

    browser.get(kirjasto.authorize_url(prompt="none"))
    assert kirjasto.callback_params(browser.url)["error"] == "login_required"


def test_logging_out_with_the_header_button_or_from_the_account_page_frames_too(app, user):
    rp = _framing_rp(app, "Kirjasto", "https://rp.example/frontchannel")
    header, account = Browser(app), Browser(app)
    header_sid = rp.verify_id_token(tokens_for(header, rp, user)["id_token"])["sid"]
    account_sid = rp.verify_id_token(tokens_for(account, rp, user)["id_token"])["sid"]

    header.get("/account")
    header.submit("/logout", button=("confirm", "1"))
    assert [urlsplit(src).query for src in _frames(header.page)] == [
        urlencode({"iss": "http://localhost", "sid": header_sid})]
    assert 'id="continue"' not in header.text and _frame_src(header.page) == "https://rp.example"

    account.get("/account")
    session_id = re.search(r'id="session-(\d+)">[^<]*</strong>\s*<span class="tag">', account.text).group(1)
    account.submit(f"/account/sessions/{session_id}/end")
    assert "You have logged out" in account.text
    assert _frames(account.page) == [f"https://rp.example/frontchannel?iss=http%3A%2F%2Flocalhost&sid={account_sid}"]


def test_another_person_signing_in_here_logs_the_first_out_of_front_channel_services(app, browser, user):
    """Before, the first person's session ended (back-channel services were told) but the
    services logging out in the browser were not: the next person at a shared computer
    found them still signed in as the first."""
    rp = _framing_rp(app, "Kirjasto", "https://rp.example/frontchannel")
    sid = rp.verify_id_token(tokens_for(browser, rp, user)["id_token"])["sid"]
    other = identities.create("toinen@example.fi", "another horse battery staple", "Toinen", verified=True)
    browser.get("/login")
    sign_in(browser, other.email, "another horse battery staple", switching=True)
    assert "The previous account was logged out" in browser.text and user.email not in browser.text
    assert _frames(browser.page) == [f"https://rp.example/frontchannel?iss=http%3A%2F%2Flocalhost&sid={sid}"]
    assert re.search(r'<a id="continue" href="/account"', browser.text) and _frame_src(browser.page) == \
        "https://rp.example"
    browser.get("/account")
    assert "Toinen" in browser.text


def test_deleting_the_account_logs_out_of_front_channel_services_in_this_browser(app, browser, user):
    """Before, the deleted page framed nothing: the deletion takes the tokens the frames are
    found by."""
    rp = _framing_rp(app, "Kirjasto", "https://rp.example/frontchannel")
    sid = rp.verify_id_token(tokens_for(browser, rp, user)["id_token"])["sid"]
    browser.get("/account")
    browser.submit("/account/delete", current_password=user.test_password)
    assert "Your account was deleted" in browser.text
    assert _frames(browser.page) == [f"https://rp.example/frontchannel?iss=http%3A%2F%2Flocalhost&sid={sid}"]


def test_without_front_channel_services_logout_redirects_at_once_and_frames_nothing(browser, rp, user):
    tokens = tokens_for(browser, rp, user)
    response = browser.client.get("/logout?" + urlencode({"id_token_hint": tokens["id_token"],
                                                          "post_logout_redirect_uri": POST_LOGOUT_URI}))
    assert response.status_code == 302 and response.location.startswith(POST_LOGOUT_URI)
    assert "frame-src" not in response.headers["Content-Security-Policy"]


def test_a_front_channel_uri_is_registered_on_a_redirect_uris_origin(app, runner):
    result = runner.invoke(args=["clients", "create", "--name", "Kirjasto", "--redirect-uri", "https://kirjasto.example/cb",
                                 "--frontchannel-logout-uri", "https://kirjasto.example/logout", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["frontchannel_logout_uri"] == "https://kirjasto.example/logout"
    for uri, reason in (("https://other.example/logout", "scheme, host and port of a redirect URI"),
                        ("https://kirjasto.example:8443/logout", "scheme, host and port of a redirect URI"),
                        ("https://kirjasto.example/logout#x", "no #fragment")):
        refused = runner.invoke(args=["clients", "create", "--name", "X", "--redirect-uri", "https://kirjasto.example/cb",
                                      "--frontchannel-logout-uri", uri])
        assert refused.exit_code == 1 and reason in refused.output


def test_discovery_advertises_both_logout_channels_with_sessions(rp):
    meta = rp.http.get("/.well-known/openid-configuration").get_json()
    for channel in ("frontchannel", "backchannel"):
        assert meta[f"{channel}_logout_supported"] is True
        assert meta[f"{channel}_logout_session_supported"] is True

