"""Rate limits per IP, per account and per client, in memory and in a real Redis; and the
growing wait that slows password guessing against one account without locking its owner out."""
from __future__ import annotations

import os
import re
import time
from urllib.parse import urlsplit

import pytest
import redis
from joserfc.jwk import ECKey

from idp import create_app
from idp.extensions import limiter
from idp.models import AuditEvent, LegacyAccount
from idp.services import clients, clock, identities
from tests.conftest import IsolatedClient
from tests.support import kiosk
from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.owned_servers import RedisServer
from tests.support.rp import REDIRECT_URI, RelyingParty
from tests.support.totp import enrolled, wrong_code

SAME_MESSAGE = "The email address or password is incorrect, or the account is locked."


@pytest.fixture(scope="module")
def redis_url():
    if os.environ.get("IDP_TEST_REDIS_URL"):
        yield os.environ["IDP_TEST_REDIS_URL"]
        return
    if RedisServer.missing():
        pytest.skip(RedisServer.missing())
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def limited(request, app, base_config):
    """make(**settings): an app with these limits, counting in memory or in Redis."""
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None

    def make(**settings):
        made = create_app(dict(base_config, IDP_REDIS_URL=url, **settings))
        made.test_client_class = IsolatedClient
        with made.app_context():
            limiter.reset()
        return made

    make.redis_url = url
    return make


def _from(browser, ip):
    browser.client.environ_base["REMOTE_ADDR"] = ip
    return browser


def _password_step(made, email, ip="10.0.0.1"):
    browser = _from(Browser(made), ip)
    browser.get("/login")
    browser.submit("/identify", email=email)
    return browser


def test_password_limit_per_ip_trips_with_retry_after_and_resets(limited, user):
    made = limited(IDP_LOGIN_RATE_LIMIT="3 per 2 seconds")
    browser = _password_step(made, user.email)
    login_page = browser.url
    statuses = [browser.submit("/password", password="wrong").status_code for _ in range(3)]
    assert statuses == [401, 401, 401]
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    blocked = browser.submit("/password", password=user.test_password)
    assert blocked.status_code == 429 and "Liian monta yritystä" in browser.text
    assert 1 <= int(blocked.headers["Retry-After"]) <= 2
    if limited.redis_url:
        assert redis.Redis.from_url(limited.redis_url).keys("*tunnus*"), "not counted in Redis"

    # The page leads back to the password step it came from, when the person chooses: a
    # page that moves by itself after a time limit fails WCAG 2.2.1 (F40).
    again = re.search(r'<a href="([^"]+)">Yritä uudelleen</a>', browser.text).group(1)
    assert again == urlsplit(login_page).path
    assert "http-equiv" not in browser.text
    assert "<title>Liian monta yritystä · Tunnus</title>" in browser.text
    time.sleep(2.1)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    browser.get(again)
    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 200 and "Your account" in browser.text


def test_the_first_step_is_limited_per_ip_so_old_user_names_cannot_be_walked_through(limited, tmp_path):
    """An old user name shows its masked address. Before, nothing limited the first step:
    sequential customer codes (AS-40012, AS-40013, ...) could be read at full speed."""
    made = limited(IDP_LOGIN_RATE_LIMIT="3 per minute")
    browser = _from(Browser(made), "10.0.0.9")
    browser.get("/login")
    statuses = [browser.submit("/identify", email=f"AS-4001{n}").status_code for n in range(4)]
    assert statuses == [400, 400, 400, 429]  # no old names imported here: each is a mistyped address
    assert _password_step(made, "someone@example.fi", ip="10.0.0.10").page.status_code == 200  # another IP


def test_password_limit_per_account_counts_across_ips(limited, user):
    made = limited(IDP_LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    for n in range(3):
        assert _password_step(made, user.email, f"10.0.1.{n}").submit("/password", password="wrong").status_code == 401
    fourth = _password_step(made, "  MAIJA.meikalainen@example.FI", "10.0.1.9")
    assert fourth.submit("/password", password=user.test_password).status_code == 429
    assert "Too many attempts" in fourth.text and "Retry-After" in fourth.page.headers

    identities.create("toinen@example.fi", user.test_password, "Toinen", verified=True)
    other = _password_step(made, "toinen@example.fi", "10.0.1.9")
    other.submit("/password", password=user.test_password)
    assert "Your account" in other.text


def test_step_up_codes_count_per_account_across_ips(limited, user):
    """Before, only per IP: a session held elsewhere guessed the app's code from many
    addresses."""
    made = limited(IDP_LOGIN_ACCOUNT_RATE_LIMIT="3 per minute", IDP_TOTP_LOCK_THRESHOLD=100)
    holder = _password_step(made, user.email)
    holder.submit("/password", password=user.test_password)  # a session from before the app was set up
    secret, _ = enrolled(made, user)
    for n in range(4):
        _from(holder, f"10.0.2.{n}").get("/login/step-up")
        answer = holder.submit("/login/step-up", code=wrong_code(secret))
    assert answer.status_code == 429


def test_email_change_codes_and_mails_count_per_address_across_flows_and_ips(limited, user, mailbox):
    """Before, only each flow's five tries held: with several flows and IPs the code for
    someone else's address could be guessed, and their inbox flooded."""
    made = limited(IDP_CODE_ACCOUNT_RATE_LIMIT="3 per 10 minutes", IDP_MAIL_ACCOUNT_RATE_LIMIT="2 per hour")
    holder = _password_step(made, user.email)
    holder.submit("/password", password=user.test_password)
    codes = []
    for n in range(2):
        _from(holder, f"10.0.3.{n}").get("/account")
        holder.submit("/account/email", new_email="uhri@example.org", current_password=user.test_password)
        wrong = "000000" if mailbox.code("uhri@example.org") != "000000" else "111111"
        codes += [holder.submit("/account/email/", code=wrong).status_code for _ in range(2)]
    assert codes == [400, 400, 400, 429]
    holder.get("/account")
    holder.submit("/account/email", new_email="uhri@example.org", current_password=user.test_password)
    assert holder.page.status_code == 429 and len(mailbox.to("uhri@example.org")) == 2


def test_password_guesses_on_the_account_pages_count_together_per_account_across_ips(limited, user):
    """Someone holding a stolen session: the pages asking the password again before a change
    share one count per account. Before, only the data download had one."""
    made = limited(IDP_LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    browser = _password_step(made, user.email)
    browser.submit("/password", password=user.test_password)
    guesses = [("/account/password", {"new_password": "uusi pitkä salasana"}), ("/account/delete", {}),
               ("/account/email", {"new_email": "uusi@example.fi"}), ("/account/data", {})]
    answers = []
    for n, (page, fields) in enumerate(guesses):
        _from(browser, f"10.0.2.{n}").get("/account")
        answers.append(browser.submit(page, current_password="wrong", **fields).status_code)
    assert answers == [400, 400, 400, 429]
    assert "Too many attempts" in browser.text and "Retry-After" in browser.page.headers


def test_reset_and_registration_mails_per_address_count_together_across_ips(limited, user, mailbox):
    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="2 per hour")
    reset = _from(Browser(made), "10.0.2.1")
    reset.get("/recovery")
    assert reset.submit("/recovery", follow=False, email=user.email).status_code == 302
    register = _from(Browser(made), "10.0.2.2")
    register.get("/register")
    response = register.submit("/register/", follow=False, email=user.email.upper(), name="Joku",
                               password="purple otter climbs marble stairs",
                               password_repeat="purple otter climbs marble stairs")
    assert response.status_code == 302
    third = _from(Browser(made), "10.0.2.3")
    third.get("/recovery")
    assert third.submit("/recovery", follow=False, email=user.email).status_code == 429
    assert len(mailbox.messages) == 2

    third.get("/recovery")
    assert third.submit("/recovery", follow=False, email="someone.else@example.fi").status_code == 302


def test_signing_in_to_an_unverified_account_mails_its_code_within_the_addresss_limit(limited, app, mailbox):
    # Whoever registered someone else's address knows its password: before, each sign-in
    # mailed that inbox a new code, as often as the login's own limits allowed.
    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="2 per hour")
    with made.app_context():
        identities.create("toinen@example.fi", "purple otter climbs marble stairs", "Toinen")
    answers = []
    for n in range(3):
        browser = _from(Browser(made), f"10.0.2.{30 + n}")
        browser.get("/account")
        sign_in(browser, "toinen@example.fi", "purple otter climbs marble stairs")
        answers.append(browser.page.status_code)
    assert answers == [200, 200, 429] and "Too many attempts" in browser.text
    assert len(mailbox.to("toinen@example.fi")) == 2


def test_a_reset_by_old_user_name_counts_against_the_accounts_address(limited, user, mailbox):
    from tests.campaigns.helpers import legacy_account

    legacy_account(user, "kirjasto", "7")  # old user name "user7"
    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="1 per hour")
    first = _from(Browser(made), "10.0.2.11")
    first.get("/recovery")
    assert first.submit("/recovery", follow=False, email="user7").status_code == 302
    second = _from(Browser(made), "10.0.2.12")
    second.get("/recovery")
    assert second.submit("/recovery", follow=False, email=user.email).status_code == 429
    assert len(mailbox.to(user.email)) == 1


def test_the_too_many_attempts_page_says_how_long_the_wait_is(limited):
    made = limited(IDP_RECOVERY_RATE_LIMIT="1 per hour")
    browser = _from(Browser(made), "10.0.2.21")
    browser.get("/recovery")
    browser.submit("/recovery", email="nobody@example.fi")
    for language, said in (("en", "Too many attempts. Try again in 60 minutes."),
                           ("fi", "Liian monta yritystä. Yritä uudelleen 60 minuutin kuluttua."),
                           ("sv", "För många försök. Försök igen om 60 minuter.")):
        browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        browser.get("/recovery")
        blocked = browser.submit("/recovery", email="nobody@example.fi")
        assert blocked.status_code == 429 and 3540 < int(blocked.headers["Retry-After"]) <= 3600
        assert said in browser.text


def test_form_mistakes_do_not_count_against_the_address(limited, user):
    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="1 per hour")
    browser = _from(Browser(made), "10.0.3.1")
    browser.get("/register")
    for _ in range(3):
        browser.submit("/register/", email=user.email, name="Joku", password="short", password_repeat="short")
        assert browser.page.status_code == 400


def test_code_attempts_per_account_count_across_ips(limited, user, mailbox):
    made = limited(IDP_CODE_ACCOUNT_RATE_LIMIT="3 per 10 minutes")
    browser = _from(Browser(made), "10.0.4.1")
    browser.get("/recovery")
    browser.submit("/recovery", email=user.email)
    for n in range(3):
        _from(browser, f"10.0.4.{n + 2}").submit("/recovery/", code="000000")
        assert browser.page.status_code == 400
    _from(browser, "10.0.4.9").submit("/recovery/", code=mailbox.code(user.email))
    assert browser.page.status_code == 429


def test_registration_code_attempts_are_limited_per_ip(limited, mailbox):
    made = limited(IDP_CODE_RATE_LIMIT="2 per 10 minutes")
    browser = _from(Browser(made), "10.0.5.1")
    browser.get("/register")
    browser.submit("/register/", email="uusi@example.fi", name="Uusi", password="purple otter climbs marble stairs",
                   password_repeat="purple otter climbs marble stairs")
    assert [browser.submit("/verify", code="000000").status_code for _ in range(2)] == [400, 400]
    assert browser.submit("/verify", code=mailbox.code("uusi@example.fi")).status_code == 429


def test_token_limit_per_client_answers_json_with_retry_after(limited):
    made = limited(IDP_TOKEN_CLIENT_RATE_LIMIT="3 per minute")
    with made.app_context():
        busy = RelyingParty(made, *clients.create("Kiireinen", [], grant_types=["client_credentials"]))
        calm = RelyingParty(made, *clients.create("Rauhallinen", [], grant_types=["client_credentials"]))
    assert [busy.token_request(grant_type="client_credentials").status_code for _ in range(3)] == [200] * 3
    blocked = busy.token_request(auth="post", grant_type="client_credentials")
    assert blocked.status_code == 429 and blocked.get_json()["error"] == "slow_down"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert calm.token_request(grant_type="client_credentials").status_code == 200


def test_an_assertion_without_client_id_counts_against_its_clients_limit(limited):
    # RFC 7523 §3 makes client_id optional beside an assertion: the limit goes by its sub.
    made = limited(IDP_TOKEN_CLIENT_RATE_LIMIT="2 per minute")
    with made.app_context():
        busy = RelyingParty.register(made, name="Kiireinen", grant_types=["client_credentials"],
                                     key=ECKey.generate_key("P-256", auto_kid=True))
        calm = RelyingParty.register(made, name="Rauhallinen", grant_types=["client_credentials"],
                                     key=ECKey.generate_key("P-256", auto_kid=True))
    assert [busy.token_request(grant_type="client_credentials").status_code for _ in range(2)] == [200] * 2
    blocked = busy.token_request(grant_type="client_credentials")
    assert blocked.status_code == 429 and blocked.get_json()["error"] == "slow_down"
    assert calm.token_request(grant_type="client_credentials").status_code == 200


def test_token_limit_per_ip_answers_json(limited):
    made = limited(IDP_TOKEN_RATE_LIMIT="2 per minute")
    with made.app_context():
        machine = RelyingParty(made, *clients.create("Kone", [], grant_types=["client_credentials"]))
    assert [machine.token_request(grant_type="client_credentials").status_code for _ in range(2)] == [200, 200]
    blocked = machine.http.post("/token", data={"grant_type": "client_credentials"})
    assert blocked.status_code == 429 and blocked.is_json and "Retry-After" in blocked.headers


def test_par_limit_per_client_answers_json_with_retry_after(limited):
    made = limited(IDP_PAR_CLIENT_RATE_LIMIT="2 per minute")
    with made.app_context():
        busy = RelyingParty(made, *clients.create("Kiireinen", [REDIRECT_URI]))
        calm = RelyingParty(made, *clients.create("Rauhallinen", [REDIRECT_URI]))
    assert [busy.push().status_code for _ in range(2)] == [201, 201]
    blocked = busy.push(auth="post")
    assert blocked.status_code == 429 and blocked.get_json()["error"] == "slow_down"
    assert 1 <= int(blocked.headers["Retry-After"]) <= 60
    assert calm.push().status_code == 201


def _audit(event):
    return [e for e in AuditEvent.query.order_by(AuditEvent.id) if e.event == event]


def test_the_wait_doubles_with_each_wrong_password_up_to_the_maximum(app, browser, user):
    app.config.update(IDP_LOGIN_DELAY_AFTER=2, IDP_LOGIN_DELAY_BASE=10, IDP_LOGIN_DELAY_MAX=25)
    browser.get("/login")
    browser.submit("/identify", email=user.email)
    browser.submit("/password", password="wrong")
    browser.submit("/password", password="wrong")  # the second in a row: wait 10 s
    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 401 and SAME_MESSAGE in browser.text

    clock.advance(11)
    browser.submit("/password", password="wrong")  # the third: wait 20 s
    clock.advance(11)
    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 401 and SAME_MESSAGE in browser.text
    clock.advance(10)
    browser.submit("/password", password="wrong")  # the fourth: 40 s, capped at 25 s
    assert [e.details["seconds"] for e in _audit("identity.locked")] == [10, 20, 25]
    reasons = [e.details.get("reason") for e in _audit("login.password")]
    assert reasons == ["wrong_password", "locked_now", "locked", "locked_now", "locked", "locked_now"]

    clock.advance(26)
    browser.submit("/password", password=user.test_password)
    assert browser.page.status_code == 200 and "Your account" in browser.text


def test_an_old_account_not_merged_yet_waits_after_wrong_passwords_as_an_identity_does(app, browser, tmp_path):
    """Its owner has only the old password, so guessing it slows down the same way."""
    _old_account(tmp_path)
    app.config.update(IDP_LOGIN_DELAY_AFTER=2, IDP_LOGIN_DELAY_BASE=10, IDP_LOGIN_DELAY_MAX=25)
    browser.get("/login")
    browser.submit("/identify", email="AS-40012")
    browser.submit("/password", password="wrong")
    browser.submit("/password", password="wrong")  # the second in a row: wait 10 s
    browser.submit("/password", password="Pulla&Kahvi")
    assert browser.page.status_code == 401
    reasons = [e.details.get("reason") for e in _audit("login.legacy")]
    assert reasons == ["wrong_password", "locked_now", "locked"]

    clock.advance(11)
    browser.submit("/password", password="Pulla&Kahvi")
    assert "Add your email address" in browser.text
    assert LegacyAccount.query.one().failed_logins == 0


def test_a_successful_login_starts_the_count_again(app, user):
    app.config.update(IDP_LOGIN_DELAY_AFTER=2, IDP_LOGIN_DELAY_BASE=60)
    first = Browser(app)
    first.get("/login")
    sign_in(first, user.email, "wrong")
    first.submit("/password", password=user.test_password)
    assert "Your account" in first.text

    second = Browser(app)
    second.get("/login")
    sign_in(second, user.email, "wrong")  # one wrong after the success: no wait yet
    second.submit("/password", password=user.test_password)
    assert "Your account" in second.text
    assert _audit("identity.locked") == []


def _kiosk_pin_step(made, kiosk_rp, resident, ip):
    browser = _from(Browser(made), ip)
    browser.get(kiosk_rp.authorize_url())
    browser.submit("/choose", button=("resident", str(kiosk.membership_id(browser, resident.display_name))))
    return browser


def _back_at_the_kiosk_client(browser) -> bool:
    browser.submit("/pin", pin=kiosk.PIN)
    return "code" in RelyingParty.callback_params(browser.url)


@pytest.fixture
def kiosk_building(limited):
    def make(**settings):
        made = limited(**settings)
        with made.app_context():
            house = kiosk.building()
            screen = kiosk.kiosk(made, house)
            residents = [kiosk.resident(house, f"{name.replace(' ', '').lower()}@koivukuja.fi", name)
                         for name in ("A 1", "A 2")]
        return made, screen, residents
    return make


def test_pin_attempts_are_limited_per_ip(kiosk_building):
    made, screen, (first, second) = kiosk_building(IDP_PIN_RATE_LIMIT="3 per minute")
    assert [_kiosk_pin_step(made, screen, first, "10.0.6.1").submit("/pin", pin="1357").status_code
            for _ in range(2)] == [401, 401]
    browser = _kiosk_pin_step(made, screen, second, "10.0.6.1")
    assert browser.submit("/pin", pin="1357").status_code == 401
    pin_page = urlsplit(browser.url).path
    assert browser.submit("/pin", pin=kiosk.PIN).status_code == 429
    # A shared screen is not led to the password sign-in: back to its own page when the wait is over.
    assert f'<a href="{pin_page.rsplit("/", 1)[0]}">' in browser.text and 'href="/login"' not in browser.text
    assert _back_at_the_kiosk_client(_kiosk_pin_step(made, screen, second, "10.0.6.2"))


def test_pin_attempts_per_person_count_across_ips(kiosk_building):
    made, screen, (first, second) = kiosk_building(IDP_PIN_ACCOUNT_RATE_LIMIT="2 per minute")
    for n in range(2):
        assert _kiosk_pin_step(made, screen, first, f"10.0.7.{n}").submit("/pin", pin="1357").status_code == 401
    blocked = _kiosk_pin_step(made, screen, first, "10.0.7.9").submit("/pin", pin=kiosk.PIN)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert _back_at_the_kiosk_client(_kiosk_pin_step(made, screen, second, "10.0.7.9"))


def test_token_limits_of_several_processes_meet_in_redis(redis_url):
    """Each process sends its count at most every FLUSH_EVERY seconds: together they may
    pass the limit by what they counted in between, then the store refuses in both."""
    from limits import parse
    from limits.storage import storage_from_string

    from idp.oidc.token_limits import FLUSH_EVERY, BatchedWindows

    limit = parse("10 per minute")
    key = limit.key_for("test", "shared", os.urandom(4).hex())
    first, second = (BatchedWindows(storage_from_string(redis_url)) for _ in range(2))
    assert [first.hit([(limit, key)]) for _ in range(6)] == [None] * 6
    assert [second.hit([(limit, key)]) for _ in range(6)] == [None] * 6
    time.sleep(FLUSH_EVERY)
    assert first.hit([(limit, key)]) is None  # sends 7: the store has seen 7
    wait = second.hit([(limit, key)])  # sends 7: 14, over
    assert wait is not None and 1 <= wait <= 61
    assert [first.hit([(limit, key)]) for _ in range(4)][-1] is not None  # 7 + 4 > 10: sends, sees 18
    assert int(redis.Redis.from_url(redis_url).get(f"LIMITS:{key}")) == 18


def _old_account(tmp_path, **row):
    """An account of an old system (its password: Pulla&Kahvi), not yet merged."""
    import json

    import bcrypt

    from idp.services import legacy_import

    row = {"legacy_id": "2", "login_name": "AS-40012",
           "password_hash": bcrypt.hashpw(b"Pulla&Kahvi", bcrypt.gensalt(rounds=4)).decode(), **row}
    path = tmp_path / "asiakas.jsonl"
    path.write_text(json.dumps(row))
    legacy_import.run(str(path), "asiakas")


def test_password_limit_per_old_user_name_counts_across_ips(limited, tmp_path):
    _old_account(tmp_path)
    made = limited(IDP_LOGIN_ACCOUNT_RATE_LIMIT="3 per minute")
    for n in range(3):
        assert _password_step(made, "AS-40012", f"10.0.7.{n}").submit("/password", password="wrong").status_code == 401
    fourth = _password_step(made, " as-40012 ", "10.0.7.9")
    assert fourth.submit("/password", password="Pulla&Kahvi").status_code == 429
    assert "Too many attempts" in fourth.text


def test_adding_an_email_to_an_old_account_counts_mails_and_codes_per_address(limited, tmp_path, mailbox):
    """Each code opens the account of that address and a new code brings new tries, so
    both count per address, across IPs."""
    _old_account(tmp_path)
    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="2 per hour", IDP_CODE_ACCOUNT_RATE_LIMIT="3 per 10 minutes")
    browsers, asked = [], []
    for n in range(3):
        browser = _password_step(made, "AS-40012", f"10.0.8.{n}")
        browser.submit("/password", password="Pulla&Kahvi")
        asked.append(browser.submit("/login/add-email/", email="uhri@example.fi").status_code)
        browsers.append(browser)
    assert asked == [200, 200, 429] and len(mailbox.messages) == 2

    guesses = [_from(browsers[n % 2], f"10.0.9.{n}").submit("/code", code="000000").status_code for n in range(4)]
    assert guesses == [400, 400, 400, 429]


def _campaign_step(made, who, ip):
    browser = _from(Browser(made), ip)
    browser.get("/login")
    sign_in(browser, who.email, who.test_password)
    browser.submit("/campaign")
    return browser


def test_a_campaigns_codes_count_against_the_address_and_a_step_that_mails_none_does_not(limited, runner,
                                                                                          mailbox, tmp_path):
    from tests.campaigns.helpers import person, started

    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="2 per hour")
    maija, kalle = person("maija@example.fi", "Maija"), person("kalle@example.fi", "Kalle")
    for who, require in ((kalle, "change_password"), (maija, "verify_email")):
        (tmp_path / who.name).write_text(who.email)
        started(runner, f"emails:{tmp_path / who.name}", require=require)
    for n in range(3):  # nothing mailed: nothing counted
        assert "Choose a new password" in _campaign_step(made, kalle, f"10.0.10.{n}").text

    browser = _campaign_step(made, maija, "10.0.11.1")
    assert browser.submit("/resend").status_code == 200
    assert _from(browser, "10.0.11.2").submit("/resend").status_code == 429
    assert _campaign_step(made, maija, "10.0.11.3").page.status_code == 429
    assert len(mailbox.to(maija.email)) == 2 and not mailbox.to(kalle.email)


def _strangers_register(made, email, times=5):
    for n in range(times):
        stranger = _from(Browser(made), f"10.0.13.{n}")
        stranger.get("/register")
        stranger.submit("/register/", email=email, name="Joku", password="purple otter climbs marble stairs",
                        password_repeat="purple otter climbs marble stairs")
        assert stranger.page.status_code == 200


def test_strangers_mail_to_an_address_holds_nobody_at_their_own_sign_in(limited, runner, mailbox):
    """Registrations by anyone use up the address's mail limit; the codes its owner's own
    sign-in mails (an unproven address, a campaign's step) count apart. Before, five
    strangers' registration forms answered the owner's right password 429 for an hour."""
    from tests.campaigns.helpers import person, started

    made = limited(IDP_MAIL_ACCOUNT_RATE_LIMIT="5 per hour")
    with made.app_context():
        identities.create("toinen@example.fi", "purple otter climbs marble stairs", "Toinen")  # unproven
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", require="verify_email")
    for email in ("toinen@example.fi", maija.email):
        _strangers_register(made, email)
    owner = _from(Browser(made), "192.0.2.7")
    owner.get("/login")
    sign_in(owner, "toinen@example.fi", "purple otter climbs marble stairs")
    assert owner.page.status_code == 200 and "We sent a 6-digit code to" in owner.text
    stepping = _campaign_step(made, maija, "192.0.2.8")
    assert stepping.page.status_code == 200 and "/campaign/flow/" in stepping.url


def test_a_campaigns_code_guesses_count_per_account_across_ips(limited, runner, mailbox):
    """Before, nothing limited them: each new code brought five more tries, from any IP."""
    from tests.campaigns.helpers import person, started

    made = limited(IDP_CODE_ACCOUNT_RATE_LIMIT="3 per 10 minutes")
    maija = person("maija@example.fi", "Maija")
    started(runner, "all", deadline="2099-01-01T12:00")
    browser = _campaign_step(made, maija, "10.0.12.1")
    wrong = "000000" if mailbox.code(maija.email) != "000000" else "111111"
    guesses = [_from(browser, f"10.0.12.{n + 2}").submit("/code", code=wrong).status_code for n in range(3)]
    _from(browser, "10.0.12.9").submit("/code", code=mailbox.code(maija.email))
    assert guesses == [400, 400, 400] and browser.page.status_code == 429


def test_a_campaigns_wrong_codes_are_limited_per_ip_and_right_ones_hold_nobody(limited, runner, mailbox):
    from tests.campaigns.helpers import person, started

    made = limited(IDP_CODE_RATE_LIMIT="1 per 10 minutes")
    colleagues = [person(f"h{n}@firma.fi", f"Henkilö {n}") for n in range(3)]
    started(runner, "all", deadline="2099-01-01T12:00")
    for colleague in colleagues[:2]:
        browser = _campaign_step(made, colleague, "198.51.100.10")
        assert "Choose a new password" in browser.submit("/code", code=mailbox.code(colleague.email)).text
    browser = _campaign_step(made, colleagues[2], "198.51.100.10")
    wrong = "000000" if mailbox.code(colleagues[2].email) != "000000" else "111111"
    assert browser.submit("/code", code=wrong).status_code == 400
    assert browser.submit("/code", code=mailbox.code(colleagues[2].email)).status_code == 429
