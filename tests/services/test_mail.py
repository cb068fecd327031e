"""The outbox and its SMTP sender, against a real SMTP server."""
import contextlib
import socket
import threading
import time

from idp.extensions import db
from idp.models import OutboxMail
from idp.services import clock, mail
from tests.support.browser import Browser
from tests.support.senders import another_round_during_first_send


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


def test_a_mail_to_an_address_stored_before_specials_were_refused_goes_to_it_as_stored(app, mailbox):
    """Registering "a,b@example.fi" is refused now (identities.SPECIALS); one stored before
    is sent to as stored. Before, the envelope was read back from the headers, where it is
    two addresses: a ValueError, a 500 for the person and `tunnus mail send` stopped at it
    round after round."""
    stored_before = _queue("a,b@example.fi")
    mail.deliver_now(stored_before)  # the server decides; the test server reads it as "a"
    assert stored_before.status in ("sent", "failed")
    assert mail.deliver_now(_queue()) and mailbox.envelopes[-1] == ("no-reply@tunnus.invalid", ["maija@example.fi"])


def test_tunnus_own_address_refused_is_tried_again_not_a_bounce_of_the_person(app, mailbox):
    """Before, a 5xx at MAIL FROM (IDP_MAIL_FROM refused by the server) failed the mail for
    good and counted as the person's bounce: a campaign never reminded them."""
    mailbox.refuse_sender = "553 5.7.1 Sender address rejected"
    message = _queue()
    assert not mail.deliver_now(message)
    assert message.status == "pending" and message.last_error.startswith("SMTPSenderRefused: 553 5.7.1")
    mailbox.refuse_sender = None
    clock.advance(31)
    assert mail.deliver_due()["sent"] == 1 and mailbox.last("maija@example.fi")


def test_an_address_beyond_ascii_to_a_server_without_esmtp_is_tried_again(app, mailbox):
    """smtplib falls back to HELO and writes the address as ASCII: before, the UnicodeError
    was a 500 for the person and stopped `tunnus mail send`."""
    mailbox.speaks_esmtp = False
    message = _queue("m\u00e4ij\u00e4@esimerkki.fi")
    assert not mail.deliver_now(message)
    assert message.status == "pending" and message.last_error.startswith("UnicodeEncodeError")
    assert mail.deliver_now(_queue()) and mailbox.envelopes[0][1] == ["maija@example.fi"]


class OneConversation:
    """A server on a real port that talks with the first sender to connect as `converse` says."""
    credentials = ""  # user:password@ in the URL

    def __init__(self):
        self._sock = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"smtp://{self.credentials}127.0.0.1:{self._sock.getsockname()[1]}"

    def _serve(self):
        conn, _ = self._sock.accept()
        with conn, contextlib.suppress(OSError):
            self.converse(conn)

    def converse(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def stop(self):
        self._sock.close()


def _not_delivered_through(app, server: OneConversation) -> OutboxMail:
    """A mail tried once through `server`, which does not take it."""
    app.config["IDP_SMTP_URL"] = server.url
    try:
        message = _queue()
        assert not mail.deliver_now(message)
    finally:
        server.stop()
    return message


class Greeting(OneConversation):
    """A server that greets a line at a time, `every` seconds, and never ends its greeting."""

    def __init__(self, every: float):
        self.every, self.sent = every, 0
        super().__init__()

    def converse(self, conn):
        while True:
            conn.sendall(b"220-still greeting " + b"x" * 1000 + b"\r\n")
            self.sent += 1
            time.sleep(self.every)


def test_a_server_greeting_a_line_at_a_time_is_given_up_within_the_conversations_time(app, monkeypatch):
    """smtplib's timeout restarts at every line. Before, such a server kept the sender past
    its lease, and another sender took the mail as due and sent it again."""
    monkeypatch.setattr(mail, "CONVERSATION_TIMEOUTS", 2)
    app.config["IDP_MAIL_TIMEOUT"] = 1
    started = time.monotonic()
    message = _not_delivered_through(app, Greeting(every=0.3))
    assert time.monotonic() - started < 3 and message.status == "pending"
    assert message.last_error.startswith("SMTPServerDisconnected: Connection unexpectedly closed: ")
    assert message.last_error.endswith(("timed out", "the service did not answer in time"))


def test_a_reply_of_endless_lines_is_cut_off(app):
    """Before, the sender kept every line: 400 MB of greeting took 383 MB of its memory."""
    message = _not_delivered_through(app, Greeting(every=0))
    assert message.status == "pending" and message.last_error == (
        "SMTPServerDisconnected: Connection unexpectedly closed: the server's replies are longer than 65536 bytes")


class Challenging(OneConversation):
    """A server offering CRAM-MD5 whose challenge is no base64."""
    credentials = "tunnus:salasana@"

    def converse(self, conn):
        conn.sendall(b"220 mail.example ESMTP\r\n")
        with conn.makefile("rb") as lines:
            for line in lines:
                command = line[:4].upper()
                conn.sendall(b"250-mail.example\r\n250 AUTH CRAM-MD5\r\n" if command == b"EHLO"
                             else b"334 abc\r\n" if command == b"AUTH" else b"250 OK\r\n")


def test_an_auth_challenge_that_is_no_base64_is_tried_again(app):
    """smtplib lets the binascii.Error through: before, a 500 for the person and `tunnus mail
    send` stopped at the mail, round after round."""
    message = _not_delivered_through(app, Challenging())
    assert message.status == "pending" and message.last_error == "Error: Incorrect padding"


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


def test_a_mail_is_not_sent_twice_when_the_sender_loop_runs_during_the_request(app, mailbox, monkeypatch):
    """A request sends its own mail at once; `tunnus mail send --loop` in another process
    may run a round during that SMTP conversation and must not send the same mail too."""
    another_round_during_first_send(app, monkeypatch)
    browser = Browser(app)
    browser.get("/register")
    browser.submit("/register/", email="kaksi@example.fi", name="Kaksi Kertaa",
                   password="purple otter climbs marble stairs", password_repeat="purple otter climbs marble stairs")
    assert len(mailbox.to("kaksi@example.fi")) == 1, "the verification mail was delivered twice"


def test_a_sender_stopped_mid_round_does_not_send_the_round_again(app, mailbox, monkeypatch):
    """A sender stopped in the middle of a round (a deploy, SIGINT, the database gone at a
    commit) has recorded every mail that left: the next round sends only the rest. The mail
    it had in hand waits for its lease to end (it may have left: at least once)."""
    for n in range(3):
        _queue(f"r{n}@example.fi")
    original = mail._send_smtp
    calls = []

    def stopped_at_the_third(*args):
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt  # the sender is stopped here
        return original(*args)

    monkeypatch.setattr(mail, "_send_smtp", stopped_at_the_third)

    def first_round():
        with app.app_context():
            try:
                mail.deliver_due()
            except KeyboardInterrupt:
                pass
            db.session.remove()

    worker = threading.Thread(target=first_round)
    worker.start()
    worker.join()
    assert sorted(m["To"] for m in mailbox.messages) == ["r0@example.fi", "r1@example.fi"]
    monkeypatch.setattr(mail, "_send_smtp", original)
    clock.advance(15 * 60)  # past the lease of the mail in hand (a few minutes)
    mail.deliver_due()  # the next round, by the restarted sender
    got = sorted(m["To"] for m in mailbox.messages)
    assert got == ["r0@example.fi", "r1@example.fi", "r2@example.fi"], f"delivered: {got}"


def test_a_line_beginning_with_from_arrives_as_written_and_no_automatic_answers_come_back(app, mailbox):
    """Not ">From now on": mbox quoting has no place in SMTP. Auto-Submitted keeps
    out-of-office replies away (RFC 3834); the Date says its zone; MIME-Version is said once,
    at the top (RFC 2045 §4)."""
    for to in ("maija@example.fi", "säde.järvi@example.fi"):
        message = mail.enqueue("email_changed_notice", to, "en", new_email="uusi@example.fi", when=clock.now())
        db.session.commit()
        assert mail.deliver_now(message)
        received = mailbox.last(to)
        assert "\nFrom now on, sign in with the new address" in mailbox.text(received)
        assert "<p>From now on, sign in with the new address" in mailbox.html(received)
        assert received["Auto-Submitted"] == "auto-generated" and received["Date"].endswith("+0000")
        assert received.as_string().count("MIME-Version:") == 1


def test_both_parts_end_saying_not_to_reply_and_that_tunnus_never_asks_for_the_password(app, mailbox):
    message = mail.enqueue("test_message", "m@example.fi", "fi", link="https://tunnus.example/x")
    db.session.commit()
    mail.deliver_now(message)
    received = mailbox.last("m@example.fi")
    footer = ("Tämä viesti on lähetetty automaattisesti. Älä vastaa siihen. "
              "Tunnus ei koskaan kysy salasanaasi sähköpostitse eikä puhelimessa.")
    assert mailbox.text(received).replace("\r\n", "\n").endswith(f"\n\n-- \n{footer}\n")
    assert footer in mailbox.html(received)
