"""Sender loops (`tunnus mail send --loop`, `tunnus logouts send --loop`) stopped with Ctrl-C
or SIGTERM: what they had claimed but not sent is given back, so the next sender sends it
at once, and a mail a server had already taken is not sent again."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from idp.extensions import db
from idp.models import AuditEvent, LogoutNotification, OutboxMail
from idp.services import clients, clock, mail
from tests.support import smtp
from tests.support.logout_receiver import LogoutReceiver

STOPS = [signal.SIGINT, signal.SIGTERM]


@contextmanager
def sender_loop(base_config, tmp_path, command, **settings):
    """`tunnus <command> send --loop` in a process of its own; yields (process, its stderr)."""
    env = {**os.environ, "IDP_DATABASE_URL": base_config["IDP_DATABASE_URL"],
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": base_config["IDP_KEYS_DIR"], **settings}
    env.pop("IDP_REDIS_URL", None)
    stderr = tmp_path / "stderr.log"
    with stderr.open("w") as err:
        process = subprocess.Popen([str(Path(sys.executable).with_name("tunnus")), command, "send", "--loop",
                                    "--interval", "0.2"], env=env, stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield process, stderr
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def stopped(process, stderr, stop) -> tuple[int, str]:
    """Its exit status and what it said, once the stop has ended it."""
    process.send_signal(stop)
    return process.wait(20), stderr.read_text()


def killed_at_every_attempt(base_config, tmp_path, command, model, reached: threading.Event, attempts: int,
                            **settings) -> None:
    """`attempts` sender loops, each killed (SIGKILL) once it is in the middle of sending,
    after which the lease it held is made to end."""
    for _ in range(attempts):
        reached.clear()
        with sender_loop(base_config, tmp_path, command, **settings) as (loop, stderr):
            assert reached.wait(30), stderr.read_text()
            loop.kill()
            loop.wait(10)
        db.session.execute(db.update(model).values(next_attempt_at=clock.now()))
        db.session.commit()


def send_round(runner, command) -> dict:
    result = runner.invoke(args=[command, "send", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@contextmanager
def smtp_server(stall_at):
    controller, server = smtp.start(smtp.Stalling(stall_at))
    try:
        yield server, f"smtp://{controller.hostname}:{controller.port}"
    finally:
        controller.stop()


@contextmanager
def a_service_keeping_posts_waiting(first_only: bool, attempts_made: int):
    """A relying service whose back-channel endpoint keeps a post waiting (the first, or
    each), and a notification for it, due; yields (client, its receiver, posted)."""
    posted, answer = threading.Event(), threading.Event()

    def waits():
        if not (first_only and posted.is_set()):
            posted.set()
            answer.wait(30)

    receiver = LogoutReceiver(on_post=waits)
    client, _ = clients.create("Kirjasto", ["https://kirjasto.example/cb"], backchannel_logout_uri=receiver.url)
    db.session.add(LogoutNotification(client_id=client.id, sid="sid-1", sub="sub-1", status="pending",
                                      attempts=attempts_made, next_attempt_at=clock.now()))
    db.session.commit()
    try:
        yield client, receiver, posted
    finally:
        answer.set()
        receiver.stop()


def queued(to):
    mail.enqueue("test_message", to, "en", link="https://tunnus.example/x")
    db.session.commit()


@pytest.mark.parametrize("stop", STOPS, ids=lambda s: s.name)
def test_a_mail_sender_stopped_before_the_server_took_the_mail_gives_it_back(app, base_config, runner, mailbox,
                                                                             tmp_path, stop):
    queued("maija@example.fi")
    with smtp_server("MAIL") as (slow, url), \
            sender_loop(base_config, tmp_path, "mail", IDP_SMTP_URL=url, IDP_MAIL_TIMEOUT="60") as (loop, stderr):
        assert slow.stuck.wait(30), stderr.read_text()
        status, said = stopped(loop, stderr, stop)

    assert send_round(runner, "mail")["sent"] == 1  # at once, not when the stopped sender's lease ends
    assert len(mailbox.to("maija@example.fi")) == 1
    assert status == 0 and "stopped; nothing left in hand" in said, said


def test_a_mail_the_server_took_is_not_sent_again_when_its_sender_is_stopped_saying_goodbye(
        app, base_config, runner, mailbox, tmp_path):
    queued("maija@example.fi")
    with smtp_server("QUIT") as (slow, url), \
            sender_loop(base_config, tmp_path, "mail", IDP_SMTP_URL=url, IDP_MAIL_TIMEOUT="60") as (loop, stderr):
        assert slow.stuck.wait(30), stderr.read_text()
        status, said = stopped(loop, stderr, signal.SIGTERM)
    assert len(slow.to("maija@example.fi")) == 1

    clock.advance(3600)  # long after any lease the stopped sender held
    assert send_round(runner, "mail") == {"sent": 0, "logged": 0, "pending": 0, "failed": 0, "still_pending": 0}
    assert mailbox.to("maija@example.fi") == []
    assert status == 0, said


@pytest.mark.parametrize("stop", STOPS, ids=lambda s: s.name)
def test_a_logout_sender_stopped_while_a_service_keeps_it_waiting_gives_the_notification_back(
        app, base_config, runner, tmp_path, stop):
    with a_service_keeping_posts_waiting(first_only=True, attempts_made=1) as (_client, receiver, posted):
        with sender_loop(base_config, tmp_path, "logouts", IDP_BACKCHANNEL_TIMEOUT="60") as (loop, stderr):
            assert posted.wait(30), stderr.read_text()
            status, said = stopped(loop, stderr, stop)

        assert send_round(runner, "logouts")["sent"] == 1  # at once, not when the stopped sender's lease ends
        assert len(receiver.received) == 2
        assert status == 0 and "stopped; nothing left in hand" in said, said


def test_a_mail_whose_sender_dies_at_every_attempt_is_given_up_not_taken_again_for_ever(
        app, base_config, runner, mailbox, tmp_path):
    """A sender killed during the conversation (SIGKILL, out of memory) leaves its mail
    SENDING, to be taken again when the lease ends. Before, a mail whose sending ended its
    sender every time was taken again at every lease, for ever."""
    queued("maija@example.fi")
    with smtp_server("MAIL") as (slow, url):
        killed_at_every_attempt(base_config, tmp_path, "mail", OutboxMail, slow.stuck, 2, IDP_SMTP_URL=url,
                                IDP_MAIL_TIMEOUT="60", IDP_MAIL_MAX_ATTEMPTS="2")

    app.config["IDP_MAIL_MAX_ATTEMPTS"] = 2
    queued("pekka@example.fi")
    assert send_round(runner, "mail") == {"sent": 1, "logged": 0, "pending": 0, "failed": 1, "still_pending": 0}
    given_up = db.session.execute(db.select(OutboxMail).where(OutboxMail.recipient == "maija@example.fi")).scalar_one()
    assert (given_up.status, given_up.attempts, given_up.text) == ("failed", 2, "")
    assert given_up.last_error == "the sender stopped during each of its 2 attempts"
    assert mailbox.to("maija@example.fi") == [] and len(mailbox.to("pekka@example.fi")) == 1


def test_a_logout_whose_sender_dies_at_every_attempt_is_given_up_and_recorded(app, base_config, runner, tmp_path):
    with a_service_keeping_posts_waiting(first_only=False, attempts_made=0) as (client, _receiver, posted):
        killed_at_every_attempt(base_config, tmp_path, "logouts", LogoutNotification, posted, 2,
                                IDP_BACKCHANNEL_TIMEOUT="60", IDP_BACKCHANNEL_MAX_ATTEMPTS="2")

    app.config["IDP_BACKCHANNEL_MAX_ATTEMPTS"] = 2
    assert send_round(runner, "logouts")["failed"] == 1
    notification = LogoutNotification.query.one()
    assert (notification.status, notification.attempts) == ("failed", 2)
    recorded = AuditEvent.query.filter_by(event="logout.backchannel").one()
    assert (recorded.result, recorded.client_id, recorded.details["error"]) == (
        "failure", client.client_id, "the sender stopped during each of its 2 attempts")
