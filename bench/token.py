"""Throughput and latency of discovery, JWKS and the token endpoint under the production server.

Starts serve.py (granian) with one worker on a fresh database, fires a fixed number of requests per
endpoint from a few client threads, and prints req/s and latency percentiles. Then counts,
in-process, the SQL statements and transactions of one /token request. Prints figures; not
a test. A PostgreSQL --database-url must be a scratch database: its schema is recreated.

    .venv/bin/python bench/token.py [--requests N] [--concurrency C]
                                    [--database-url URL] [--redis-url URL]
"""
from __future__ import annotations

import os
import sys

# Python puts this file's folder first on sys.path, and this file is named token.py: it
# would shadow the standard library's `token` module (imported by inspect, and so by Flask
# and SQLAlchemy). Resolve imports from the repository root instead.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.join(ROOT, "bench"):
    sys.path[0] = ROOT

import argparse
import base64
import datetime as dt
import hashlib
import json
import math
import platform
import secrets
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import requests
import sqlalchemy as sa

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.models import AuthorizationCode, LoginSession, Token
from idp.models.grants import token_hash
from idp.services import clients, clock, identities

WARMUP = 50
STATEMENT_SAMPLE = 20
REDIRECT_URI = "https://rp.example/callback"
SCOPE = "openid profile email"
DISCOVERY = "/.well-known/openid-configuration"


@dataclass(frozen=True)
class Fixture:
    client_pk: int
    client_id: str
    secret: str
    user_pk: int

    @property
    def basic(self) -> tuple[str, str]:
        return self.client_id, self.secret


@dataclass
class Result:
    label: str
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0

    def percentile_ms(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return 1000 * ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="A PostgreSQL database given here must be a scratch database: the benchmark runs "
               "DROP SCHEMA public CASCADE; CREATE SCHEMA public on it before migrating.",
    )
    parser.add_argument("--requests", type=int, default=2000, metavar="N",
                        help="measured requests per endpoint (default 2000, after %d warm-up)" % WARMUP)
    parser.add_argument("--concurrency", type=int, default=4, metavar="C",
                        help="client threads, each with its own HTTP session (default 4)")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"), metavar="URL",
                        help="SQLAlchemy URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_bench "
                             "(default $BENCH_DATABASE_URL, else a temporary SQLite file); "
                             "PostgreSQL: its schema public is dropped and recreated")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL"), metavar="URL",
                        help="Redis for rate limits (default $BENCH_REDIS_URL, else in-process)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be at least 1")
    return args


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_config(args: argparse.Namespace, tmp: Path, port: int) -> dict[str, str]:
    """The settings shared by the in-process app and the server, as environment strings."""
    config = {
        "IDP_DATABASE_URL": args.database_url or f"sqlite:///{tmp / 'tunnus.sqlite3'}",
        "IDP_KEYS_DIR": str(tmp / "keys"),
        "IDP_SECRET_KEY": secrets.token_urlsafe(32),
        "IDP_ISSUER": f"http://127.0.0.1:{port}",
        # The rate limit would otherwise turn the benchmark into a 429 counter.
        "IDP_TOKEN_RATE_LIMIT": "1000000 per minute",
    }
    if args.redis_url:
        config["IDP_REDIS_URL"] = args.redis_url
    return config


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def prepare(app) -> Fixture:
    with app.app_context():
        schema_migrations.upgrade()
        client, secret = clients.create("Bench", [REDIRECT_URI], [],
                                        grant_types=["authorization_code", "refresh_token", "client_credentials"])
        user = identities.create("bench@example.com", secrets.token_urlsafe(16), "Bench User", verified=True)
        # The minted codes name this browser session: a code whose session ended is refused.
        now = clock.now()
        db.session.add(LoginSession(sid="bench", identity_id=user.id, auth_time=now, amr=["pwd"],
                                    expires_at=now + dt.timedelta(hours=1)))
        db.session.commit()
        return Fixture(client.id, client.client_id, secret, user.id)


def mint_codes(app, fixture: Fixture, count: int) -> list[tuple[str, str]]:
    """(code, PKCE verifier) pairs, written straight to the database.

    Driving the real login for every code would measure the login, not the exchange. The
    rows expire in an hour rather than IDP_CODE_TTL so they outlive the whole run.
    """
    now = clock.now()
    pairs, rows = [], []
    for _ in range(count):
        code, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        pairs.append((code, verifier))
        rows.append({
            "code_hash": token_hash(code), "client_id": fixture.client_pk, "identity_id": fixture.user_pk,
            "redirect_uri": REDIRECT_URI, "scope": SCOPE, "code_challenge": challenge,
            "code_challenge_method": "S256", "sid": "bench", "auth_time": clock.to_timestamp(now),
            "acr": "urn:tunnus:acr:password", "amr": ["pwd"], "expires_at": now + dt.timedelta(hours=1),
        })
    with app.app_context():
        db.session.execute(sa.insert(AuthorizationCode), rows)
        db.session.commit()
    return pairs


def code_form(pair: tuple[str, str]) -> dict[str, str]:
    code, verifier = pair
    return {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}


@contextmanager
def server(config: dict[str, str], port: int, log_path: Path):
    """serve.py with one worker; yields its base URL and always stops it."""
    env = dict(os.environ, **config, TUNNUS_BIND=f"127.0.0.1:{port}", TUNNUS_WORKERS="1", IDP_ACCESS_LOG="0")
    command = [sys.executable, "serve.py"]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(process, base, log_path)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_ready(process: subprocess.Popen, base: str, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if requests.get(base + DISCOVERY, timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the server did not start; its log:\n{log_path.read_text()[-3000:]}")


def run(label: str, send, items: list, concurrency: int) -> Result:
    """Send every item once, split over `concurrency` threads, timing each request."""
    result = Result(label)
    lock = threading.Lock()

    def worker(chunk: list) -> None:
        timings, errors = [], 0
        with requests.Session() as http:
            for item in chunk:
                start = time.perf_counter()
                try:
                    ok = send(http, item).status_code == 200
                except requests.RequestException:
                    ok = False
                timings.append(time.perf_counter() - start)
                errors += not ok
        with lock:
            result.latencies.extend(timings)
            result.errors += errors

    threads = [threading.Thread(target=worker, args=(items[i::concurrency],)) for i in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - start
    return result


def measure_http(base: str, fixture: Fixture, codes: list, args: argparse.Namespace) -> list[Result]:
    token_url = base + "/token"
    endpoints = [
        ("GET  " + DISCOVERY, lambda http, _: http.get(base + DISCOVERY, timeout=10), None),
        ("GET  /jwks", lambda http, _: http.get(base + "/jwks", timeout=10), None),
        ("POST /token client_credentials",
         lambda http, _: http.post(token_url, data={"grant_type": "client_credentials"}, auth=fixture.basic,
                                   timeout=10), None),
        ("POST /token authorization_code",
         lambda http, pair: http.post(token_url, data=code_form(pair), auth=fixture.basic, timeout=10), codes),
    ]
    results = []
    for label, send, items in endpoints:
        items = items or [None] * (WARMUP + args.requests)
        run(label, send, items[:WARMUP], args.concurrency)
        results.append(run(label, send, items[WARMUP:], args.concurrency))
    return results


@contextmanager
def sql_counter(engine):
    """Counts the statements and transactions `engine` runs inside the block."""
    counts = Counter()

    def statement(*_):
        counts["statements"] += 1

    def transaction(*_):
        counts["transactions"] += 1

    sa.event.listen(engine, "before_cursor_execute", statement)
    sa.event.listen(engine, "begin", transaction)
    try:
        yield counts
    finally:
        sa.event.remove(engine, "before_cursor_execute", statement)
        sa.event.remove(engine, "begin", transaction)


def sql_per_request(app, fixture: Fixture) -> dict[str, tuple[float, float, int]]:
    """By grant: average statements and transactions per /token request, and failed requests.

    Requests run outside any app context, so each gets its own session as under the server.
    """
    codes = iter(mint_codes(app, fixture, STATEMENT_SAMPLE))
    with app.app_context():
        engine = db.engine
    http = app.test_client()
    forms = {
        "client_credentials": lambda: {"grant_type": "client_credentials"},
        "authorization_code": lambda: code_form(next(codes)),
    }
    averages = {}
    for grant, form in forms.items():
        with sql_counter(engine) as counts:
            failed = sum(http.post("/token", data=form(), auth=fixture.basic).status_code != 200
                         for _ in range(STATEMENT_SAMPLE))
        averages[grant] = (counts["statements"] / STATEMENT_SAMPLE, counts["transactions"] / STATEMENT_SAMPLE, failed)
    return averages


def access_token_storage(app, fixture: Fixture) -> str:
    """How one freshly issued client_credentials token looks, and whether anything of it is stored."""
    response = app.test_client().post("/token", data={"grant_type": "client_credentials"}, auth=fixture.basic)
    value = response.get_json()["access_token"]
    header = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
    with app.app_context():
        stored = Token.by_access_token(value) is not None
    verdict = ("the database keeps its SHA-256 hash" if stored
               else "not stored (self-contained; a person's tokens keep their SHA-256 hash) (checked)")
    return f"client_credentials: JWT, alg {header.get('alg')}, typ {header.get('typ')}; {verdict}"


def print_report(args, results: list[Result], sql: dict, tokens: str) -> None:
    database = (sa.engine.make_url(args.database_url).render_as_string(hide_password=True)
                if args.database_url else "SQLite, temporary file")
    print()
    print(f"database     {database}")
    print(f"redis        {args.redis_url or 'not used (in-process rate limits)'}")
    print(f"server       serve.py: granian {version('granian')}, 1 worker, Python {platform.python_version()}")
    print(f"clients      {args.concurrency} threads, one requests.Session each; "
          f"{args.requests} requests per endpoint after {WARMUP} warm-up")
    print(f"access token {tokens}")
    print()
    print(f"{'endpoint':<46}{'requests':>9}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}")
    for result in results:
        count = len(result.latencies)
        print(f"{result.label:<46}{count:>9}{result.errors:>8}{count / result.seconds:>9.0f}"
              f"{result.percentile_ms(0.50):>9.2f}{result.percentile_ms(0.99):>9.2f}")
    print()
    print(f"SQL per /token request, in-process, {STATEMENT_SAMPLE} requests each:")
    print(f"  {'grant':<20}{'statements':>12}{'transactions':>14}")
    for grant, (statements, transactions, failed) in sql.items():
        print(f"  {grant:<20}{statements:>12.1f}{transactions:>14.1f}"
              + (f"   ({failed} requests failed)" if failed else ""))
    print("  Statements exclude BEGIN, COMMIT/ROLLBACK and the pool's pre-ping: on PostgreSQL those add "
          "3 round-trips per transaction; SQLite has no round-trips.")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    # The server must see exactly the settings below, not whatever IDP_* the shell has.
    for name in [n for n in os.environ if n.startswith("IDP_")]:
        del os.environ[name]
    with tempfile.TemporaryDirectory(prefix="tunnus-bench-") as tmp:
        port = free_port()
        config = server_config(args, Path(tmp), port)
        if args.database_url:
            reset_postgres(args.database_url)
        app = create_app(dict(config))
        fixture = prepare(app)
        codes = mint_codes(app, fixture, WARMUP + args.requests)
        with server(config, port, Path(tmp) / "server.log") as base:
            results = measure_http(base, fixture, codes, args)
        sql = sql_per_request(app, fixture)
        tokens = access_token_storage(app, fixture)
        print_report(args, results, sql, tokens)


if __name__ == "__main__":
    main()
