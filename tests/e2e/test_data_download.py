"""Downloading one's data from the account page in a real Chromium: the file is saved,
named for the day, and holds the person's details; a wrong password saves nothing."""
from __future__ import annotations

import json
import re

from playwright.sync_api import expect


def test_the_account_page_downloads_the_persons_data_after_the_password(page, live_server, user):
    page.goto(live_server + "/account")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Password", exact=True).fill(user.test_password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    section = page.get_by_role("region", name="Your data")

    section.get_by_label("Current password").fill("not my password")
    section.get_by_role("button", name="Download your data").click()
    section = page.get_by_role("region", name="Your data")
    expect(section.get_by_role("alert")).to_have_text("Your current password is not correct.")

    section.get_by_label("Current password").fill(user.test_password)
    with page.expect_download() as started:
        section.get_by_role("button", name="Download your data").click()
    download = started.value
    assert re.fullmatch(r"tunnus-data-\d{4}-\d{2}-\d{2}\.json", download.suggested_filename)
    with open(download.path(), encoding="utf-8") as saved:
        data = json.load(saved)
    assert (data["profile"]["email"], data["profile"]["name"]) == (user.email, "Maija Meikäläinen")
