"""The outbox and its SMTP sender, against a real SMTP server."""
from idp.extensions import db
from idp.models import OutboxMail
from idp.services import clock, mail


def _queue(to="maija@example.fi"):
    message = mail.enqueue("test_message", to, "en", link="https://tunnus.example/x")
    db.session.commit()
    return message


def test_mail_is_delivered_as_text_and_html(app, mailbox):
    message = _queue()
    assert mail.deliver_now(message)
    received = mailbox.last("maija@example.fi")
    assert received["Subject"] == "Tunnus test message"
    assert "https://tunnus.example/x" in mailbox.text(received)
    assert '<a href="https://tunnus.example/x">' in mailbox.html(received)
    assert db.session.get(OutboxMail, message.id).status == "sent"


def test_mail_is_rendered_in_the_recipients_language(app, mailbox):
    message = mail.enqueue("test_message", "m@example.fi", "fi", link="x")
    db.session.commit()
    mail.deliver_now(message)
    assert mailbox.last("m@example.fi")["Subject"] != ""  # rendered; translated text is tested with the catalogs


def test_unreachable_server_is_retried_later_with_backoff(app, mailbox, smtp_down):
    message = _queue()
    assert not mail.deliver_now(message)
    assert message.status == "pending" and message.attempts == 1
    assert message.next_attempt_at > clock.now()
    assert mail.deliver_due()["pending"] == 0  # not due yet

    clock.advance(31)
    counts = mail.deliver_due()
    assert counts["pending"] == 1 and db.session.get(OutboxMail, message.id).attempts == 2


def test_permanent_refusal_is_marked_failed_not_retried(app, mailbox):
    mailbox.reject_with = (550, "no such user")
    message = _queue()
    assert not mail.deliver_now(message)
    assert message.status == "failed" and "550" in message.last_error


def test_mail_send_command_delivers_due_mail(app, runner, mailbox):
    _queue("a@example.fi")
    _queue("b@example.fi")
    result = runner.invoke(args=["mail", "send", "--json"])
    assert result.exit_code == 0 and '"sent": 2' in result.output
    assert {m["To"] for m in mailbox.messages} == {"a@example.fi", "b@example.fi"}


def test_without_smtp_url_mail_is_logged_with_its_link(app, caplog):
    app.config["IDP_SMTP_URL"] = None
    message = _queue()
    with caplog.at_level("WARNING"):
        assert mail.deliver_now(message)
    assert message.status == "logged" and "https://tunnus.example/x" in caplog.text
