"""How long a mailed code works, as the mail says it: the exact duration in the reader's
language, never "0 hours" or "1 hours". (Times in mail: test_account.)"""
import pytest

from tests.conftest import running_app
from tests.support.browser import Browser


@pytest.fixture
def app(base_config, migrated, request):
    with running_app(dict(base_config, **getattr(request, "param", {}))) as app:
        yield app


def _register(app, mailbox, language):
    browser = Browser(app)
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    browser.get("/register")
    browser.submit("/register/", email="aino@example.fi", name="Aino", password="kolme karhua metsässä",
                   password_repeat="kolme karhua metsässä")
    return mailbox.text(mailbox.last("aino@example.fi"))


@pytest.mark.parametrize(("app", "language", "said"), [
    ({"IDP_VERIFICATION_TTL": 1800}, "en", "The code and the link work once, for 30 minutes."),
    ({"IDP_VERIFICATION_TTL": 3600}, "en", "The code and the link work once, for 1 hour."),
    ({"IDP_VERIFICATION_TTL": 5400}, "sv", "Koden och länken gäller i 90 minuter och kan användas en gång."),
    ({"IDP_VERIFICATION_TTL": 3600}, "fi", "Koodi ja linkki ovat voimassa 1 tunti, ja niitä voi käyttää kerran."),
    ({"IDP_VERIFICATION_TTL": 2 * 86400}, "fi", "Koodi ja linkki ovat voimassa 2 päivää, ja niitä voi käyttää kerran."),
], indirect=["app"])
def test_the_verification_mail_says_exactly_how_long_the_code_works(app, mailbox, language, said):
    assert said in _register(app, mailbox, language)
