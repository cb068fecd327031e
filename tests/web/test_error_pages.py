"""What a person sees when something fails on our side: the translated page, whatever
the request had read before it failed, never a stack trace or the server's bare error."""
import threading
import time

import pytest
import sqlalchemy as sa

from idp.extensions import db
from idp.models import Identity
from idp.services import account_deletion
from idp.services.audit import SYSTEM
from idp.web.browser import current_identity
from tests.support.journeys import signed_in
from tests.support.orgs import organisation
from tests.support.races import post, row_locks


def test_a_fault_after_the_account_was_deleted_elsewhere_shows_the_error_page(app, user):
    """The page had read who is signed in; the account is then deleted in another browser
    and the page fails. The error page's header must not read that session again."""
    browser = signed_in(app, user)

    def delete_elsewhere():
        with app.app_context():
            account_deletion.delete(Identity.by_email(user.email), origin=SYSTEM, locale="en", reason="own_request")

    def failing_page():
        assert current_identity() is not None
        elsewhere = threading.Thread(target=delete_elsewhere)
        elsewhere.start()
        elsewhere.join()
        raise RuntimeError("a defect")

    app.view_functions["account.home"] = failing_page
    page = browser.client.get("/account", headers={"Accept-Language": "fi"})

    assert page.status_code == 500
    assert "Jokin meni vikaan" in page.get_data(as_text=True)


@row_locks
def test_a_deadlock_asks_the_person_to_try_again_and_tells_the_operator_what_it_was(app, user, caplog):
    """Another transaction takes the rows this request needs in the other order: the
    browser's session, then the person's row the request already holds. PostgreSQL rolls
    the request back. The person is asked to try again in a moment (503, Retry-After), and
    the log says the database rolled it back, not that it was unavailable."""
    org = organisation("Siivous Oy", "0737546-2", user)
    browser = signed_in(app, user)
    browser.get("/account")
    choose = post(app, browser, "/account/organisation", organisation=str(org.id))
    with db.engine.connect() as other:
        other.execute(sa.text("SET deadlock_timeout = '10s'"))  # the request's own check (1 s) finds it
        other.execute(sa.text("UPDATE login_sessions SET remember = remember WHERE identity_id = :id"),
                      {"id": user.id})
        answers = []
        request = threading.Thread(target=lambda: answers.append(choose()))
        request.start()
        _until_a_lock_is_awaited(other)
        other.execute(sa.text("SELECT id FROM identities WHERE id = :id FOR UPDATE"), {"id": user.id})
        other.rollback()
    request.join()

    assert answers[0].status_code == 503 and answers[0].headers["Retry-After"]
    assert "The service is temporarily unavailable. Please try again in a moment." in answers[0].get_data(as_text=True)
    assert "transaction rolled back by the database on POST /account/organisation" in caplog.text
    assert "database unavailable" not in caplog.text


def _until_a_lock_is_awaited(connection):
    for _ in range(200):
        if connection.execute(sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
            return
        time.sleep(0.02)
    raise AssertionError("the request never waited for the session's row")


@pytest.mark.parametrize("host", ["a" * 64, "a..b"])
def test_a_host_no_url_can_be_made_with_is_a_plain_400(app, host, caplog):
    """Werkzeug refuses such a Host (BadHost) before any page: the error page's links could
    not be written, and before, every page was a 500 with two tracebacks in the log."""
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served
    for path in ("/login", "/healthz", "/.well-known/openid-configuration"):
        answer = app.test_client().get(path, headers={"Host": host, "Accept-Language": "fi"})
        assert answer.status_code == 400 and answer.mimetype == "text/plain", path
        assert answer.get_data(as_text=True).startswith("Pyyntöä ei hyväksytty\n\nPyyntöä ei voitu käsitellä.")
        assert answer.headers["X-Request-ID"] and "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
    assert "Traceback" not in caplog.text and not [r for r in caplog.records if r.levelname == "ERROR"]
