"""An operator opens a campaign in a real browser: the funnel and daily charts render."""
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
    page.screenshot(path=str(tmp_path / "campaign-operator.png"), full_page=True)
