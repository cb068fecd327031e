"""Fixtures: a migrated database chosen by env, a fresh app per test, a browser-like client.

IDP_TEST_DATABASE_URL / IDP_TEST_REDIS_URL select PostgreSQL and Redis; without them
the tests run on a temporary SQLite file with in-process rate limits.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager
import secrets

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from idp import create_app
from idp.extensions import db, limiter
from idp.services import clock
from idp.services.keys import KeyStore

from .support import smtp
from .support.browser import Browser
from .support.rp import RelyingParty


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    url = os.environ.get("IDP_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tunnus.sqlite3'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def keys_dir(tmp_path_factory):
    """Signing keys made once, as an operator does (`tunnus keys rotate`): on PostgreSQL
    the app does not make its own."""
    folder = tmp_path_factory.mktemp("keys")
    KeyStore(str(folder), 900, 3600).rotate()
    return str(folder)


@pytest.fixture(scope="session")
def smtp_server():
    controller, mailbox = smtp.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    """What the real SMTP server of the tests received during this test."""
    _, box = smtp_server
    box.clear()
    return box


@pytest.fixture
def smtp_down(app):
    """Point mail delivery at a port where nothing listens."""
    app.config["IDP_SMTP_URL"] = f"smtp://127.0.0.1:{smtp.free_port()}"
    app.config["IDP_MAIL_TIMEOUT"] = 2


@pytest.fixture(scope="session")
def base_config(database_url, keys_dir, smtp_server):
    controller, _ = smtp_server
    return {
        "IDP_SMTP_URL": f"smtp://{controller.hostname}:{controller.port}",
        "TESTING": True,
        "IDP_DATABASE_URL": database_url,
        "IDP_REDIS_URL": os.environ.get("IDP_TEST_REDIS_URL"),
        "IDP_KEYS_DIR": keys_dir,
        "IDP_SECRET_KEY": "test-secret-" + secrets.token_hex(16),
        "IDP_ISSUER": "http://localhost",
        # Race tests hold row locks for up to races.WAIT on purpose: on a busy machine a request
        # waiting behind them must not hit the production 5 s limit (test_faults tests that limit).
        "IDP_DATABASE_STATEMENT_TIMEOUT": 30,
        # Cheap hashing keeps the suite fast; production parameters are tested separately.
        "IDP_ARGON2_MEMORY_KIB": 1024,
        "IDP_ARGON2_TIME_COST": 1,
    }


@pytest.fixture(scope="session")
def migrated(base_config):
    from idp import schema_migrations

    app = create_app(base_config)
    with app.app_context():
        schema_migrations.upgrade()
    # INFO lines (an access line for every request) would flood the test output; tests
    # about log lines raise the level themselves (caplog) or read serve.py's output.
    logging.getLogger().setLevel(logging.WARNING)
    return True


class IsolatedClient(FlaskClient):
    """Each request gets its own app context, as in production.

    Without this the test's own app context would be reused, sharing `g` and the
    database session between requests and hiding bugs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Tests read English texts; Finnish (the default) and Swedish are tested explicitly.
        self.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


@contextmanager
def running_app(config):
    """An app on the migrated database, inside its app context; emptied and clock reset after."""
    app = create_app(config)
    app.test_client_class = IsolatedClient
    with app.app_context():
        limiter.reset()  # counters in Redis outlive the app; each test starts with none
    with app.app_context():
        yield app
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        # Each test's app has its own pool: close it now rather than when it is collected,
        # or a PostgreSQL shared by several test runs runs out of connections.
        db.engine.dispose()
    clock.reset()


@pytest.fixture
def app(base_config, migrated):
    with running_app(base_config) as app:
        yield app


@pytest.fixture
def browser(app):
    return Browser(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def user(app):
    from idp.services import identities

    identity = identities.create("Maija.Meikalainen@Example.FI", "correct horse battery staple", "Maija Meikäläinen",
                                 verified=True)
    identity.test_password = "correct horse battery staple"
    return identity


@pytest.fixture
def rp(app):
    """A confidential relying service registered with Tunnus."""
    return RelyingParty.register(app, name="Kirjasto", first_party=False)


@pytest.fixture
def public_rp(app):
    return RelyingParty.register(app, name="Mobiilisovellus", public=True, first_party=True)
