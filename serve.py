"""The production server: granian (WSGI) serving Tunnus. `python serve.py`

Chosen over gunicorn by bench/compare.sh (README, *Performance*): granian parses HTTP in
Rust and keeps connections alive, so a worker spends far less per request on anything but
Tunnus itself. Settings from the environment:

    TUNNUS_BIND     127.0.0.1:5000
    TUNNUS_WORKERS  number of CPUs: processes, each one Python interpreter
    TUNNUS_THREADS  4: Python threads per worker, so a request waiting for PostgreSQL,
                    Redis or a password hash does not hold up the others (1 gives
                    machine traffic alone a shorter tail: README, *Performance*)
    TUNNUS_BATCH_SCHEDULING  0: Linux's usual scheduling policy; 1: SCHED_BATCH, see
                    _batch_scheduling; 1 by default when TUNNUS_THREADS is 1

The app writes the access lines itself (idp/web/access_log.py: request id, no query
strings); granian's own lines use the app's log format too (IDP_LOG_FORMAT). Behind a
proxy, IDP_PROXY_HOPS says whose X-Forwarded-For/-Proto to believe. Workers share nothing
but PostgreSQL, Redis and the key folder; metrics from all of them are summed through
PROMETHEUS_MULTIPROC_DIR. A worker that dies is started again.
"""
from __future__ import annotations

import copy
import logging
import logging.config
import os
import socket
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("serve")


def _log_config() -> dict:
    """granian's logging, in the app's format, to stderr like the app's own lines."""
    from granian.log import LOGGING_CONFIG

    from idp import config

    log_format = os.environ.get("IDP_LOG_FORMAT", config.default("IDP_LOG_FORMAT"))
    settings = copy.deepcopy(LOGGING_CONFIG)
    settings["formatters"]["generic"] = (
        {"()": "idp.logging_setup.JsonLines"} if log_format == "json"
        else {"()": "logging.Formatter", "fmt": "%(asctime)s %(levelname)s %(name)s [-] %(message)s"})
    for handler in settings["handlers"].values():
        handler["stream"] = "ext://sys.stderr"
    settings["loggers"]["serve"] = {"handlers": ["console"], "level": "INFO", "propagate": False}
    return settings


def _batch_scheduling(threads: int) -> None:
    """SCHED_BATCH (sched(7)) for this process and so for its workers and all their threads.

    Under the usual policy a thread that wakes preempts the one running: granian's network
    thread preempted the Python threads as packets came, and a token request's body read
    (granian releases the GIL for it) lost the core for 1.4 ms at p99. Batch threads wait
    for their turn instead, and the worker spends less per request: a token 10% less CPU,
    discovery and JWKS a third less (bench/compare.sh, README *Performance*). Nothing
    outside the server is affected; PostgreSQL and Redis, waking, still preempt it.

    Off by default with several threads: on a busy host a thread that has to wait for the
    GIL may then wait far longer, having no way to take the core; with 4 threads
    introspection's p99 reached 0.07-1.6 s at full load where the usual policy kept it at
    8-14 ms. With one thread nothing waits for the GIL, and the usual policy's preemptions
    cost a token ~35 us more CPU (README, *Performance*), so there it is on by default.
    """
    if os.environ.get("TUNNUS_BATCH_SCHEDULING", "1" if threads == 1 else "0") != "1" or not hasattr(os, "SCHED_BATCH"):
        return
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    except OSError as error:  # a sandbox may forbid it; the usual policy works, only dearer
        log.warning("SCHED_BATCH not set (%s); running under the usual policy", error)


def _address_free(host: str, port: int) -> None:
    """Exit when something listens at the address already. granian listens with
    SO_REUSEPORT, so a second serve.py there (a release started beside the running one)
    would start too, and the kernel would share the connections between them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Connections of a server stopped just now (TIME_WAIT) are no listener.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host.strip("[]"), port))
        except OSError as error:
            raise SystemExit(f"serve.py: cannot listen at {host}:{port}: {error.strerror}") from None


def _check_configuration() -> None:
    """The app's settings, checked once before any worker starts: one a worker cannot start
    with would otherwise crash every worker again and again, a traceback each, until granian
    gives up ("Worker crash loop detected"). The embedded setup's first keys are made here,
    so that its workers find them instead of each making its own."""
    from idp import config
    from idp.services import keys

    try:
        values = config.load(None, str(ROOT / "instance"))
        keys.open_store(values)
    except config.ConfigurationError as error:
        log.error("%s", error)
        raise SystemExit(1) from None
    # granian here speaks plain HTTP, so an https issuer means TLS ends at a proxy in front.
    if values["IDP_ISSUER"].startswith("https://") and not values["IDP_PROXY_HOPS"]:
        log.warning("IDP_ISSUER is https but IDP_PROXY_HOPS is 0: every request will seem to come from the proxy "
                    "in front, and one address's rate limits will hold back everyone; set IDP_PROXY_HOPS to the "
                    "number of proxies that append to X-Forwarded-For")
    if not values["IDP_SMTP_URL"] and not config.embedded(values):
        log.warning("IDP_SMTP_URL is not set: mail is not sent but written to the log, codes and links included "
                    "(meant for trying Tunnus out); set it to your mail server")
    if config.sends_from_placeholder(values):
        log.warning("%s", config.PLACEHOLDER_SENDER)


def _count(name: str, default: int) -> int:
    text = os.environ.get(name, str(default))
    if not text.strip().isdigit() or int(text) < 1:
        raise SystemExit(f"serve.py: {name} must be a whole number of at least 1, not {text!r}")
    return int(text)


def _bind() -> tuple[str, int]:
    text = os.environ.get("TUNNUS_BIND", "127.0.0.1:5000")
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"serve.py: TUNNUS_BIND must be host:port (127.0.0.1:5000), not {text!r}")
    return host, int(port)


def main() -> None:
    from granian import Granian
    from granian.constants import Interfaces

    # Before anything imports prometheus_client (idp does): it picks in-memory or shared-file
    # counters once, at import, and workers that counted in memory would leave /metrics empty.
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="tunnus-metrics-"))
    log_config = _log_config()
    logging.config.dictConfig(log_config)
    _check_configuration()
    threads = _count("TUNNUS_THREADS", 4)
    _batch_scheduling(threads)
    host, port = _bind()
    _address_free(host, port)
    Granian(
        "wsgi:app",
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=_count("TUNNUS_WORKERS", os.cpu_count() or 1),
        blocking_threads=threads,
        log_access=False,
        log_dictconfig=log_config,
        respawn_failed_workers=True,
        workers_kill_timeout=20,
        working_dir=ROOT,
    ).serve()


if __name__ == "__main__":
    main()
