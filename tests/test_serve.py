"""serve.py runs its workers under Linux's usual scheduling policy, and every thread of
them under SCHED_BATCH when asked to or when a worker has one thread (see its
_batch_scheduling)."""
from __future__ import annotations

import json
import logging
import logging.config
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

import serve as serve_py
from tests.support.served import serve

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="SCHED_BATCH is Linux's")


def _policies(served) -> set[int]:
    """The scheduling policy of every thread of every worker, granian's own threads included."""
    return {os.sched_getscheduler(int(thread))
            for worker in served.workers() for thread in os.listdir(f"/proc/{worker}/task")}


def test_batch_scheduling_reaches_every_worker_thread_when_asked_for(app, base_config, database_url):
    served = serve(base_config, database_url, TUNNUS_BATCH_SCHEDULING="1")
    try:
        assert served.workers()
        assert _policies(served) == {os.SCHED_BATCH}
    finally:
        served.stop()


def test_the_usual_policy_unless_asked_for(app, base_config, database_url):
    served = serve(base_config, database_url)
    try:
        assert _policies(served) == {os.SCHED_OTHER}
    finally:
        served.stop()


def test_one_thread_runs_under_batch_scheduling_unless_told_otherwise(app, base_config, database_url):
    for settings, policy in (({}, os.SCHED_BATCH), ({"TUNNUS_BATCH_SCHEDULING": "0"}, os.SCHED_OTHER)):
        served = serve(base_config, database_url, TUNNUS_THREADS="1", **settings)
        try:
            assert _policies(served) == {policy}, settings
        finally:
            served.stop()


@pytest.fixture
def server_logging():
    """serve.py's logging configured in this process, taken down after the test."""
    yield
    for name in serve_py._log_config()["loggers"]:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True


def test_a_refused_batch_scheduling_is_logged_in_the_log_format(server_logging, monkeypatch, capsys):
    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "sched_setscheduler", refuse)
    monkeypatch.setenv("IDP_LOG_FORMAT", "json")
    monkeypatch.delenv("TUNNUS_BATCH_SCHEDULING", raising=False)
    logging.config.dictConfig(serve_py._log_config())
    serve_py._batch_scheduling(1)
    line = json.loads(capsys.readouterr().err)
    assert line["level"] == "WARNING" and line["logger"] == "serve"
    assert line["message"] == "SCHED_BATCH not set ([Errno 1] Operation not permitted); running under the usual policy"


def test_metrics_add_up_what_every_worker_answered(app, base_config, database_url):
    served = serve(base_config, database_url, TUNNUS_WORKERS="2")
    try:
        for _ in range(20):  # new connections: the kernel spreads them over both workers
            urllib.request.urlopen(served.base + "/.well-known/openid-configuration", timeout=5).close()
        text = urllib.request.urlopen(served.base + "/metrics", timeout=5).read().decode()
    finally:
        served.stop()
    counts = re.findall(r'^tunnus_request_seconds_count\{endpoint="([^"]+)",method="GET"\} (\S+)$', text, re.M)
    assert ("/.well-known/openid-configuration", "20.0") in counts, counts


def test_the_outbox_depths_are_each_one_series_whatever_workers_came_and_went(app, base_config, database_url):
    from idp.extensions import db
    from idp.models import OutboxMail

    db.session.add(OutboxMail(kind="notice", recipient="maija@example.fi", subject="Tervetuloa", text="Hei",
                              html="<p>Hei</p>"))
    db.session.commit()
    served = serve(base_config, database_url)
    try:
        scrape = lambda: urllib.request.urlopen(served.base + "/metrics", timeout=5).read().decode()
        scrape()
        [worker] = served.workers()
        os.kill(worker, signal.SIGKILL)  # its files stay in PROMETHEUS_MULTIPROC_DIR
        deadline = time.monotonic() + 30
        while True:
            try:
                text = scrape()
                break
            except OSError:
                assert time.monotonic() < deadline, "no worker was started again"
                time.sleep(0.1)
        text = scrape()
    finally:
        served.stop()
    assert re.findall(r"^tunnus_mail_outbox_pending.*$", text, re.M) == ["tunnus_mail_outbox_pending 1.0"], text
    assert re.findall(r"^tunnus_logout_outbox_pending.*$", text, re.M) == ["tunnus_logout_outbox_pending 0.0"]
    assert text.count("# TYPE tunnus_mail_outbox_pending gauge") == 1
    assert re.findall(r"^tunnus_database_up.*$", text, re.M) == ["tunnus_database_up 1.0"]


def test_a_second_server_at_the_same_address_does_not_start(app, base_config, database_url):
    served = serve(base_config, database_url)
    try:
        second = subprocess.run([sys.executable, "serve.py"], cwd=serve_py.ROOT, capture_output=True, text=True,
                                timeout=60, env={**os.environ, "TUNNUS_BIND": served.base.removeprefix("http://")})
        answered = urllib.request.urlopen(served.base + "/healthz", timeout=5).status
    finally:
        served.stop()
    assert second.returncode != 0
    assert f"cannot listen at {served.base.removeprefix('http://')}: Address already in use" in second.stderr
    assert answered == 200



def _start_warnings(monkeypatch, capsys, keys_dir, **settings) -> list[str]:
    """What serve.py warns of before starting a deployment (an https issuer) with these
    settings: each warning's first words."""
    for name in [name for name in os.environ if name.startswith("IDP_")]:
        monkeypatch.delenv(name)
    for name, value in {"IDP_ISSUER": "https://tunnus.example.fi", "IDP_SECRET_KEY": "s" * 40,
                        "IDP_KEYS_DIR": keys_dir, "IDP_LOG_FORMAT": "json", **settings}.items():
        if value is not None:
            monkeypatch.setenv(name, value)
    logging.config.dictConfig(serve_py._log_config())
    serve_py._check_configuration()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert {line["level"] for line in lines} <= {"WARNING"}
    return [line["message"].split(":")[0] for line in lines]


@pytest.mark.parametrize(("hops", "warned"), [("0", True), ("1", False)])
def test_an_https_issuer_without_proxy_hops_is_warned_of_at_start(server_logging, monkeypatch, capsys, keys_dir,
                                                                   hops, warned):
    """Behind the TLS proxy such an issuer implies, 0 hops makes every person one address
    (the proxy's) to the per-IP limits."""
    warnings = _start_warnings(monkeypatch, capsys, keys_dir, IDP_PROXY_HOPS=hops,
                               IDP_SMTP_URL="smtp://mail.example.fi", IDP_MAIL_FROM="Tunnus <tunnus@example.fi>")
    assert warnings == (["IDP_ISSUER is https but IDP_PROXY_HOPS is 0"] if warned else [])


@pytest.mark.parametrize(("smtp", "warned"), [(None, True), ("smtp://mail.example.fi", False)])
def test_a_deployment_without_a_mail_server_is_warned_of_at_start(server_logging, monkeypatch, capsys, keys_dir,
                                                                   smtp, warned):
    """Its mail, reset links and codes included, would go to the log instead."""
    warnings = _start_warnings(monkeypatch, capsys, keys_dir, IDP_PROXY_HOPS="1", IDP_SMTP_URL=smtp,
                               IDP_MAIL_FROM="Tunnus <tunnus@example.fi>")
    assert warnings == (["IDP_SMTP_URL is not set"] if warned else [])


@pytest.mark.parametrize(("sender", "warned"), [(None, True), ("Tunnus <tunnus@example.fi>", False)])
def test_mail_from_the_placeholder_sender_is_warned_of_at_start(server_logging, monkeypatch, capsys, keys_dir,
                                                                  sender, warned):
    """no-reply@tunnus.invalid cannot exist: receiving servers refuse such mail or call it spam."""
    warnings = _start_warnings(monkeypatch, capsys, keys_dir, IDP_PROXY_HOPS="1", IDP_SMTP_URL="smtp://mail.example.fi",
                               IDP_MAIL_FROM=sender)
    assert warnings == (["IDP_MAIL_FROM is not set"] if warned else [])


@pytest.mark.parametrize(("name", "value", "message"), [
    ("TUNNUS_THREADS", "abc", "TUNNUS_THREADS must be a whole number of at least 1, not 'abc'"),
    ("TUNNUS_WORKERS", "0", "TUNNUS_WORKERS must be a whole number of at least 1, not '0'"),
    ("TUNNUS_BIND", "nonsense", "TUNNUS_BIND must be host:port (127.0.0.1:5000), not 'nonsense'"),
])
def test_a_server_setting_that_cannot_work_is_one_line_naming_it(name, value, message):
    done = subprocess.run([sys.executable, "serve.py"], cwd=serve_py.ROOT, capture_output=True, text=True,
                          timeout=60, env={**os.environ, name: value})
    assert done.returncode == 1 and done.stderr.strip().splitlines()[-1] == f"serve.py: {message}", done.stderr
    assert "Traceback" not in done.stderr
