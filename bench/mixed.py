"""Machine traffic beside sign-ins on one core: do password hashes hold the tokens up?

For each layout (workers x threads per worker), starts serve.py with every worker pinned to
SERVER_CPU and runs two loads at once from WRK_CPU: wrk asking for client_credentials
tokens below full load (bench/paced.lua around the peer harness's token_post.lua, as
bench/compare.sh does) and people signing in RATE times a second through the real pages
(email, then password: one argon2 hash each). Prints the token requests' p50/p99 and the
password step's, per layout, with and without the sign-ins. Runs on PostgreSQL + Redis: a
scratch database (created if missing; its schema public is DROPPED and recreated). A
benchmark, not a test.

    .venv/bin/python bench/mixed.py [--layouts 1x4,1x1,2x1] [--rate 10] [--seconds 10] [--pause-ms 3]

Needs wrk and taskset (apt-get install -y wrk), a venv (make install) and ../shared/peers.
"""
from __future__ import annotations

import os
import sys

# Python puts this folder first on sys.path, and bench/token.py there would shadow the
# standard library's `token` module. Resolve imports from the repository root instead.
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.dirname(os.path.abspath(__file__)):
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

import argparse
import base64
import html
import json
import re
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.scratch_database import recreate

ROOT = Path(__file__).resolve().parent.parent
TUNNUS = str(ROOT / ".venv" / "bin" / "tunnus")
EMAIL, PASSWORD = "asukas@example.fi", "correct horse battery staple"
FORMS = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
FIELDS = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layouts", default="1x4,1x1,2x1", help="workers x threads, comma-separated")
    parser.add_argument("--rate", type=float, default=10, help="sign-ins per second")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--pause-ms", type=int, default=3, help="each wrk connection's pause between requests")
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--wrk-cpu", type=int, default=1)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_perf")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/5")
    parser.add_argument("--peers", default=str(ROOT.parent / "shared" / "peers"))
    parser.add_argument("--port", type=int, default=5078)
    return parser.parse_args()


def settings(args, work: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("IDP_", "TUNNUS_"))}
    return env | {
        "IDP_DATABASE_URL": args.database_url, "IDP_REDIS_URL": args.redis_url, "IDP_KEYS_DIR": str(work / "keys"),
        "IDP_ISSUER": f"http://127.0.0.1:{args.port}", "IDP_SECRET_KEY": base64.b64encode(os.urandom(32)).decode(),
        "PROMETHEUS_MULTIPROC_DIR": str(work), "IDP_ACCESS_LOG": "0", "TUNNUS_BIND": f"127.0.0.1:{args.port}",
        # Every request counts against the limits; set so high that none is refused.
        **{name: "100000000 per minute" for name in ("IDP_TOKEN_RATE_LIMIT", "IDP_TOKEN_CLIENT_RATE_LIMIT",
                                                      "IDP_LOGIN_RATE_LIMIT", "IDP_LOGIN_ACCOUNT_RATE_LIMIT")}}


def prepare(args, env: dict) -> str:
    """A fresh schema, a machine client and a person; the client's Basic credentials."""
    recreate(args.database_url)
    subprocess.run([TUNNUS, "db", "upgrade"], env=env, check=True, capture_output=True)
    client = json.loads(subprocess.run([TUNNUS, "clients", "create", "--name", "Mixed", "--grant-type",
                                        "client_credentials", "--json"], env=env, check=True,
                                       capture_output=True).stdout)
    subprocess.run([TUNNUS, "users", "create", "--email", EMAIL, "--password", PASSWORD], env=env, check=True,
                   capture_output=True)
    return base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode()).decode()


def _form(page: str, contains: str) -> tuple[str, dict]:
    for action, body in FORMS.findall(page):
        if contains in action:
            return html.unescape(action), dict(FIELDS.findall(body))
    raise RuntimeError(f"no form posting to {contains}")


class SignIns:
    """People signing in `rate` times a second, each in a thread of its own, until stopped."""

    def __init__(self, base: str, rate: float):
        self.base, self.rate = base, rate
        self.password_steps: list[float] = []
        self.failures = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _one(self) -> None:
        browser = requests.Session()
        try:
            action, fields = _form(browser.get(self.base + "/login").text, "/identify")
            action, fields = _form(browser.post(self.base + action, data={**fields, "email": EMAIL}).text, "/password")
            started = time.perf_counter()
            answer = browser.post(self.base + action, data={**fields, "password": PASSWORD}, allow_redirects=False)
            self.password_steps.append(time.perf_counter() - started)
            self.failures += answer.status_code != 302
        except (requests.RequestException, RuntimeError):
            self.failures += 1

    def _loop(self) -> None:
        while not self._stop.wait(1 / self.rate):
            thread = threading.Thread(target=self._one)
            thread.start()
            self._threads.append(thread)

    def __enter__(self) -> "SignIns":
        if self.rate > 0:
            self._threads.append(threading.Thread(target=self._loop))
            self._threads[0].start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def tokens_paced(args, work: Path, auth: str) -> dict[str, float]:
    env = dict(os.environ, WRK_SCRIPT=str(work / "token_post.lua"), WRK_PAUSE_MS=str(args.pause_ms),
               WRK_TOKEN_EXTRA="")
    out = subprocess.run(["taskset", "-c", str(args.wrk_cpu), "wrk", "-t2", "-c16", f"-d{args.seconds}s",
                          "-s", str(ROOT / "bench" / "paced.lua"), "-H", f"Authorization: Basic {auth}",
                          f"http://127.0.0.1:{args.port}/token"], env=env, capture_output=True, text=True).stdout
    line = next((line for line in out.splitlines() if line.startswith("RESULT")), None)
    if line is None:
        raise SystemExit(f"wrk printed no RESULT:\n{out}")
    return {key: float(value) for key, value in (field.split("=") for field in line.split()[1:])}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000 if ordered else float("nan")


def measure(args, env: dict, work: Path, auth: str, workers: int, threads: int) -> list[str]:
    layout = dict(env, TUNNUS_WORKERS=str(workers), TUNNUS_THREADS=str(threads))
    server = subprocess.Popen(["taskset", "-c", args.server_cpu, sys.executable, "serve.py"], cwd=ROOT, env=layout,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{args.port}"
        for _ in range(150):
            try:
                requests.get(base + "/healthz", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        rows = []
        for rate in (0, args.rate):
            with SignIns(base, rate) as sign_ins:
                tokens = tokens_paced(args, work, auth)
            steps = sign_ins.password_steps
            rows.append(f"{workers}x{threads:<9} {rate:>9g} {tokens['rps']:>10.0f} {tokens['p50_ms']:>8.2f} "
                        f"{tokens['p99_ms']:>8.2f} {int(tokens['non2xx3xx'] + tokens['sock_errors']):>6} "
                        f"{len(steps):>8} {percentile(steps, .5):>8.1f} {percentile(steps, .99):>8.1f} "
                        f"{sign_ins.failures:>6}")
        return rows
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    args = parse_args()
    os.sched_setaffinity(0, {args.wrk_cpu})  # the sign-ins' clients beside wrk, off the server's core
    with tempfile.TemporaryDirectory(prefix="tunnus-mixed-") as tmp:
        work = Path(tmp)
        (work / "token_post.lua").write_text((Path(args.peers) / "token_post.lua").read_text())
        env = settings(args, work)
        auth = prepare(args, env)
        rows = [row for layout in args.layouts.split(",")
                for row in measure(args, env, work, auth, *map(int, layout.split("x")))]
    print(f"serve.py on cpu {args.server_cpu}; wrk (16 connections, {args.pause_ms} ms pauses) and sign-ins on cpu "
          f"{args.wrk_cpu}, {args.seconds} s each; PostgreSQL + Redis")
    print(f"{'layout':<11} {'sign-ins/s':>9} {'token r/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
          f"{'sign-ins':>8} {'pw p50':>8} {'pw p99':>8} {'failed':>6}")
    print("\n".join(rows))
    print("layout: workers x threads per worker (all workers on the one core); pw: the password step, ms")


if __name__ == "__main__":
    main()
