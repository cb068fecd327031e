"""An operator opens a campaign in a real browser: the funnel and daily charts render."""
import datetime as dt
import re

from playwright.sync_api import expect

from tests.campaigns.helpers import NEW_PASSWORD, campaign_link, cli, deliver, local, person, started
from tests.support.browser import Browser


def test_operator_page_draws_the_funnel_and_daily_charts(app, page, live_server, mailbox, tmp_path):
    runner = app.test_cli_runner()
    for n in range(4):
        person(f"h{n}@example.fi", f"Henkilö {n}")
    campaign_id = started(runner, "all", name="Siirto Tunnukseen", deadline="2099-01-01T12:00")
    deliver()
    done = Browser(app)
    done.get(local(campaign_link(mailbox, "h0@example.fi")))
    done.submit("/campaign/")
    done.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)
    operator = person("operaattori@example.fi", "Oona")
    cli(runner, "users", "grant-operator", "--email", operator.email)

    page.goto(f"{live_server}/operator/campaigns/{campaign_id}")
    page.get_by_label("Email address").fill(operator.email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(operator.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()

    expect(page.get_by_role("heading", name="Siirto Tunnukseen")).to_be_visible()
    funnel = page.get_by_test_id("funnel-chart")
    expect(funnel).to_be_visible()
    expect(funnel.locator("rect.bar")).to_have_count(9)
    widths = {state: funnel.locator(f'[data-state="{state}"] rect.bar').bounding_box()["width"]
              for state in ("targeted", "delivered", "completed", "bounced")}
    assert widths["targeted"] == widths["delivered"] > widths["completed"] > 0 and widths["bounced"] == 0
    daily = page.get_by_test_id("daily-chart")
    expect(daily).to_be_visible()
    expect(daily.locator("polyline")).not_to_have_count(0)
    assert daily.bounding_box()["height"] > 50
    expect(page.get_by_test_id("pending")).to_contain_text("h1@example.fi")

    # Not by colour alone: each line's dash and marker, the same in its legend entry.
    drawn = [(daily.locator(f'[data-state="{state}"] polyline').get_attribute("stroke-dasharray"),
              daily.locator(f'[data-state="{state}"] use').first.get_attribute("href"),
              page.locator(f'#daily-legend [data-state="{state}"] line').get_attribute("stroke-dasharray"),
              page.locator(f'#daily-legend [data-state="{state}"] use').get_attribute("href"))
             for state in ("delivered", "completed")]
    assert all(line == legend and marker == key for line, marker, legend, key in drawn)
    assert drawn[0][0] != drawn[1][0] and drawn[0][1] != drawn[1][1]
    expect(daily).to_have_accessible_description(re.compile(r"Delivered \(4\).*Completed \(1\)"))

    # The figures themselves, for those who cannot see the chart.
    table = page.get_by_role("table", name="Per day")
    expect(table).to_be_hidden()
    page.get_by_text("Per day as a table").click()
    expect(table.get_by_role("columnheader")).to_have_text(["Day (UTC)", "Delivered", "Link opened",
                                                            "Email verified", "Password changed", "Completed"])
    today = table.get_by_role("row").last
    expect(today.get_by_role("rowheader")).to_have_text(dt.datetime.now(dt.timezone.utc).date().isoformat())
    expect(today.get_by_role("cell")).to_have_text(["4", "1", "1", "1", "1"])
    page.screenshot(path=str(tmp_path / "campaign-operator.png"), full_page=True)

    page.set_viewport_size({"width": 320, "height": 640})  # WCAG 1.4.10: tables scroll in their own box
    assert page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth") == 0
    page.screenshot(path=str(tmp_path / "campaign-operator-320.png"), full_page=True)
