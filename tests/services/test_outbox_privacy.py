"""What someone holding a copy of the database finds in the mail outbox: no body of a mail
that has ended, so no reset link or code to take an account over with."""
import logging
import re

import sqlalchemy as sa

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.services import clock, mail
from tests.support.browser import Browser


def _stored() -> str:
    """Every mail's subject, text, HTML and error, as a database copy shows them."""
    rows = db.session.execute(sa.text("SELECT subject, text, html, last_error FROM mail_outbox")).all()
    return "\n".join(str(value) for row in rows for value in row)


def test_a_delivered_reset_mail_leaves_neither_its_link_nor_its_code_in_the_outbox(app, browser, user, mailbox):
    browser.get("/recovery")
    browser.submit("/recovery", email=user.email)
    received = mailbox.text(mailbox.last(user.email))
    link, code = mailbox.link(user.email, "/recovery/"), mailbox.code(user.email)

    stored = _stored()
    assert link not in stored and link.rsplit("/", 2)[-2] not in stored  # nor its flow id
    assert code not in stored and re.sub(r"(\d{3})(\d{3})", r"\1 \2", code) not in stored
    assert received not in stored
    row = db.session.execute(sa.text("SELECT kind, recipient, subject, status FROM mail_outbox")).one()
    assert tuple(row) == ("reset_password", user.email, mailbox.last(user.email)["Subject"], "sent")

    attacker = Browser(app)  # the mailed link still works for whoever has the mail
    attacker.get(re.sub(r"^https?://[^/]+", "", link))
    assert attacker.page.status_code == 200


def test_a_mail_refused_for_good_keeps_no_body_but_what_operators_use(app, mailbox):
    mailbox.reject_with = (550, "no such user")
    message = mail.enqueue("test_message", "maija@example.fi", "en", link="https://tunnus.example/secret")
    db.session.commit()
    assert not mail.deliver_now(message)
    row = db.session.execute(sa.text("SELECT kind, recipient, subject, status, text, html FROM mail_outbox")).one()
    assert tuple(row) == ("test_message", "maija@example.fi", "Tunnus test message", "failed", "", "")


def _mail(conn, id_, status):
    conn.execute(sa.text(
        "INSERT INTO mail_outbox (id, kind, recipient, subject, text, html, status, attempts, next_attempt_at, "
        "created_at) VALUES (:id, 'reset_password', 'maija@example.fi', 'Salasana', :text, :html, :status, 1, "
        "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
        {"id": id_, "status": status, "text": f"https://tunnus.example/recovery/{id_}/link",
         "html": f'<a href="https://tunnus.example/recovery/{id_}/link">'})


def test_migration_0027_blanks_the_bodies_of_mail_that_has_ended_and_keeps_those_waiting(
        base_config, migrated, tmp_path):
    app = create_app({**base_config, "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'before.sqlite3'}"})
    with app.app_context():
        schema_migrations.upgrade("0026_identity")
        with db.engine.begin() as conn:
            for id_, status in enumerate(("sent", "logged", "failed", "pending", "sending"), start=1):
                _mail(conn, id_, status)
        schema_migrations.upgrade()

        rows = db.session.execute(sa.text("SELECT status, text = '', html = '', subject FROM mail_outbox "
                                          "ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [
            ("sent", 1, 1, "Salasana"), ("logged", 1, 1, "Salasana"), ("failed", 1, 1, "Salasana"),
            ("pending", 0, 0, "Salasana"), ("sending", 0, 0, "Salasana")]
        db.session.remove()
        db.engine.dispose()


def test_a_refused_recipients_address_is_neither_stored_nor_logged(app, runner, mailbox, caplog):
    from tests.campaigns.helpers import member, person, started

    pekka = person("pekka@example.fi")
    campaign_id = started(runner, "all")
    mailbox.refuse_recipient = 450
    with caplog.at_level(logging.WARNING, logger="idp.services.mail"):
        assert mail.deliver_due()["pending"] == 1
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name == "idp.services.mail")
    assert "450 5.1.1 <recipient>: Recipient address rejected" in logged and "pekka@" not in logged
    assert "pekka@" not in _stored() and "450" in _stored()

    clock.advance(31)
    mailbox.refuse_recipient = 550
    assert mail.deliver_due()["failed"] == 1
    assert "pekka@" not in _stored() and "550 5.1.1 <recipient>" in _stored()
    assert member(campaign_id, pekka).bounce_reason == "550 5.1.1 <recipient>: Recipient address rejected"


def test_a_mail_waiting_for_the_mail_server_holds_neither_its_link_nor_its_words(app, base_config, mailbox,
                                                                                smtp_down):
    message = mail.enqueue("test_message", "maija@example.fi", "en", link="https://tunnus.example/t/s3cr3t")
    db.session.commit()
    assert not mail.deliver_now(message)
    waiting = _stored()  # what a database copy taken now shows
    app.config["IDP_SMTP_URL"] = base_config["IDP_SMTP_URL"]  # the server is back
    clock.advance(31)
    assert mail.deliver_due()["sent"] == 1

    received = mailbox.last("maija@example.fi")
    assert "https://tunnus.example/t/s3cr3t" in mailbox.text(received)
    assert "s3cr3t" not in waiting and mailbox.text(received).strip().splitlines()[0] not in waiting


def test_mail_waiting_since_before_0027_is_sent_as_it_was_written(base_config, migrated, tmp_path, mailbox):
    app = create_app({**base_config, "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'waiting.sqlite3'}"})
    with app.app_context():
        schema_migrations.upgrade("0026_identity")
        with db.engine.begin() as conn:
            _mail(conn, 1, "pending")
        schema_migrations.upgrade()
        assert mail.deliver_due()["sent"] == 1
        assert "https://tunnus.example/recovery/1/link" in mailbox.text(mailbox.last("maija@example.fi"))
        db.session.remove()
        db.engine.dispose()
