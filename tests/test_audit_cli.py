"""`tunnus audit search`: an operator answers "what happened to my account?" from the
audit records of real logins."""
from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

from idp.services import clock
from tests.support.journeys import sign_in


@pytest.fixture
def two_logins(app, browser, user):
    """A wrong password three days ago; today a right one, sent with the proxy's request id."""
    browser.get("/login")
    sign_in(browser, user.email, "not the password")
    clock.advance(3 * 24 * 3600)
    browser.get("/account")
    browser.client.environ_base["HTTP_X_REQUEST_ID"] = "lb-7f3a9c2e-0001"
    sign_in(browser, user.email, user.test_password)
    assert "/account" in browser.url
    return user


def _search(runner, *args):
    result = runner.invoke(args=["audit", "search", *args])
    return result, (json.loads(result.output) if result.exit_code == 0 and "--json" in args else None)


def test_search_lists_the_events_of_a_real_login_in_order(runner, two_logins):
    result, events = _search(runner, "--email", "  MAIJA.meikalainen@example.fi ", "--since", "7d", "--json")
    assert result.exit_code == 0, result.output
    assert [(e["event"], e["result"]) for e in events] == [
        ("identity.created", "success"), ("login.password", "failure"), ("login.password", "success"),
        ("session.started", "success")]
    assert events[1]["details"]["reason"] == "wrong_password"
    assert [e["request_id"] for e in events[2:]] == ["lb-7f3a9c2e-0001"] * 2
    assert events[2]["ip"] == "127.0.0.1" and events[2]["at"].endswith("+00:00")


def test_relative_and_iso_periods_and_event_filters(runner, two_logins):
    _, recent = _search(runner, "--email", two_logins.email, "--since", "24h", "--json")
    assert [e["event"] for e in recent] == ["login.password", "session.started"]

    helsinki = ZoneInfo("Europe/Helsinki")
    two_days_ago = (clock.now() - dt.timedelta(days=2)).replace(tzinfo=dt.timezone.utc).astimezone(helsinki)
    _, older = _search(runner, "--email", two_logins.email, "--since", "2000-01-01",
                       "--until", two_days_ago.replace(tzinfo=None).isoformat(timespec="minutes"), "--json")
    assert [(e["event"], e["result"]) for e in older] == [("identity.created", "success"),
                                                           ("login.password", "failure")]

    _, sessions = _search(runner, "--email", two_logins.email, "--since", "7d", "--event", "session.*", "--json")
    assert [e["event"] for e in sessions] == ["session.started"]
    _, latest = _search(runner, "--email", two_logins.email, "--since", "7d", "--limit", "1", "--json")
    # The search before: reading a person's history is access to their data, and recorded.
    [searched] = latest
    assert searched["event"] == "audit.searched" and searched["user_agent"].startswith("tunnus-cli (user ")
    assert (searched["details"]["only"], searched["details"]["found"]) == ("session.*", 1)


def test_a_terminal_gets_a_readable_table(runner, two_logins):
    result, _ = _search(runner, "--email", two_logins.email, "--since", "1w")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["time", "event", "result", "ip", "client", "details"]
    assert "login.password" in lines[2] and "failure" in lines[2] and '"reason": "wrong_password"' in lines[2]
    assert lines[-1] == "(4 events, times in Europe/Helsinki)"


def test_unknown_email_and_bad_dates_are_clear_errors(runner, user):
    result, _ = _search(runner, "--email", "nobody@example.fi", "--since", "7d")
    assert result.exit_code == 1 and "No identity with the email address nobody@example.fi" in result.output
    result, _ = _search(runner, "--email", user.email, "--since", "last tuesday")
    assert result.exit_code == 2 and "'last tuesday': use 7d, 24h, 30m or ISO 8601" in result.output
    result, _ = _search(runner, "--email", user.email, "--since", "7d", "--until", "2026-13-01")
    assert result.exit_code == 2 and "--until" in result.output


def test_a_period_too_long_or_reversed_is_refused_saying_so(runner, user):
    too_long = runner.invoke(args=["audit", "search", "--email", user.email, "--since", "99999999d"])
    assert too_long.exit_code == 2 and isinstance(too_long.exception, SystemExit)
    assert "Invalid value for '--since': '99999999d': at most 100 years (36500d)" in too_long.output
    reversed_ = runner.invoke(args=["audit", "search", "--email", user.email, "--since", "1d", "--until", "2020-01-01"])
    assert reversed_.exit_code == 2 and "the period is reversed: --until (2020-01-01T00:00" in reversed_.output
    assert "no events" not in reversed_.output
    first_day = runner.invoke(args=["audit", "search", "--email", user.email, "--since", "0001-01-01"])
    assert first_day.exit_code == 2 and "'0001-01-01': not a date that can be counted in UTC" in first_day.output
    pruning = runner.invoke(args=["prune", "--older-than", "99999999999w"])
    assert pruning.exit_code == 2 and "at most 100 years" in pruning.output


def test_the_start_and_end_of_a_session_name_the_same_session(runner, browser, user):
    browser.get("/login")
    sign_in(browser, user.email, user.test_password)
    browser.get("/logout")
    browser.submit("/logout", button=("confirm", "1"))
    _, events = _search(runner, "--email", user.email, "--since", "1h", "--event", "session.*", "--json")
    assert [e["event"] for e in events] == ["session.started", "session.ended"]
    assert events[0]["details"]["sid"] and events[0]["details"]["sid"] == events[1]["details"]["sid"]
