"""A form is sent once however many times its button is clicked (static/once.js)."""
import re
import time

from playwright.sync_api import expect


def slow_posts(app, seconds):
    """The app, answering each POST only after `seconds`: a slow network or a busy server."""
    def slowed(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            time.sleep(seconds)
        return app(environ, start_response)
    return slowed


def test_a_second_click_while_the_first_is_under_way_mails_no_second_code(app, page, live_server, http_server,
                                                                           user, mailbox):
    http_server.app = slow_posts(app, 0.5)
    page.goto(f"{live_server}/recovery")
    page.get_by_label("Email address").fill(user.email)
    # The second click comes while the first answer is on its way (a click at Playwright's
    # pace would wait for the page to change, as no person does).
    page.evaluate("""() => {
        const button = [...document.querySelectorAll("button")].find((b) => b.textContent === "Send code");
        button.click();
        setTimeout(() => button.click(), 150);
    }""")
    expect(page).to_have_url(re.compile(r"/recovery/[\w-]+$"))
    page.wait_for_timeout(500)  # a second request, had one gone, would have mailed by now
    assert len(mailbox.to(user.email)) == 1
    page.get_by_label("Code").fill(mailbox.code(user.email))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_label("New password", exact=True)).to_be_visible()


def test_a_page_come_back_to_sends_again(app, page, live_server, user, mailbox):
    page.goto(f"{live_server}/recovery")
    page.get_by_label("Email address").fill(user.email)
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url("**/recovery/*")
    page.go_back()
    page.get_by_role("button", name="Send code").click()
    page.wait_for_url("**/recovery/*")
    page.wait_for_timeout(200)
    assert len(mailbox.to(user.email)) == 2
