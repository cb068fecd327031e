"""Mail over TLS (smtp+starttls://, smtps://) to real servers holding a certificate of a
test authority: sent only over a verified connection, the password only inside it."""
from __future__ import annotations

import contextlib

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from idp.extensions import db
from idp.services import mail
from tests.support.smtp import Mailbox, free_port
from tests.support.tls import HOST, Authority


class Guarded(Mailbox):
    """A mailbox that takes mail from one user, and notes who signed in and over what."""

    def __init__(self):
        super().__init__()
        self.signed_in: list[tuple[str, str, bool]] = []

    def authenticate(self, server, _session, _envelope, _mechanism, auth_data):
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.signed_in.append((login, password, server.transport.get_extra_info("ssl_object") is not None))
        return AuthResult(success=(login, password) == ("tunnus", "sala sana#1"))


@pytest.fixture
def trusted(tmp_path, monkeypatch):
    """An authority the sender trusts, as a deployment trusts its own CA."""
    authority = Authority(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority.ca_file))
    return authority


@contextlib.contextmanager
def serving(**settings):
    box = Guarded()
    # aiosmtpd offers AUTH "only over TLS" after STARTTLS alone; over smtps the whole
    # conversation is (the mailbox notes it), so there it is told to offer it.
    settings.setdefault("auth_require_tls", "ssl_context" not in settings)
    controller = Controller(box, hostname=HOST, port=free_port(), authenticator=box.authenticate, **settings)
    controller.start()
    try:
        yield box, controller.port
    finally:
        controller.stop()


def _queued():
    message = mail.enqueue("test_message", "maija@example.fi", "en", link="https://tunnus.example/x")
    db.session.commit()
    return message


def test_starttls_delivers_and_signs_in_only_inside_the_encrypted_connection(app, trusted):
    with serving(tls_context=trusted.server_context(), require_starttls=True) as (box, port):
        app.config["IDP_SMTP_URL"] = f"smtp+starttls://tunnus:sala%20sana%231@{HOST}:{port}"
        message = _queued()
        assert mail.deliver_now(message), message.last_error
    assert box.signed_in == [("tunnus", "sala sana#1", True)]
    assert "https://tunnus.example/x" in box.text(box.last("maija@example.fi"))


def test_smtps_delivers_over_tls_from_the_first_byte(app, trusted):
    with serving(ssl_context=trusted.server_context()) as (box, port):
        app.config["IDP_SMTP_URL"] = f"smtps://tunnus:sala%20sana%231@{HOST}:{port}"
        assert mail.deliver_now(_queued())
    assert box.signed_in == [("tunnus", "sala sana#1", True)] and box.last("maija@example.fi")


def test_a_server_that_offers_no_starttls_gets_no_mail_and_no_password_in_plain_text(app, trusted):
    """An attacker on the path can strip STARTTLS from the server's EHLO: the sender must not
    go on in plain text."""
    with serving() as (box, port):
        app.config["IDP_SMTP_URL"] = f"smtp+starttls://tunnus:sala%20sana%231@{HOST}:{port}"
        message = _queued()
        assert not mail.deliver_now(message)
    assert message.status == "pending" and message.last_error.startswith("SMTPNotSupportedError")
    assert box.signed_in == [] and box.messages == []


@pytest.mark.parametrize("scheme, settings", [("smtp+starttls", "tls_context"), ("smtps", "ssl_context")])
def test_a_certificate_no_trusted_authority_signed_is_refused_before_anything_is_said(app, trusted, tmp_path,
                                                                                    scheme, settings):
    stranger = Authority(tmp_path, name="Someone else")
    extra = {"require_starttls": True} if settings == "tls_context" else {}
    with serving(**{settings: stranger.server_context()}, **extra) as (box, port):
        app.config["IDP_SMTP_URL"] = f"{scheme}://tunnus:sala%20sana%231@{HOST}:{port}"
        message = _queued()
        assert not mail.deliver_now(message)
    assert message.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in message.last_error
    assert box.signed_in == [] and box.messages == []
