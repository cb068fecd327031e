"""granian's WSGI and RSGI interfaces side by side, without Tunnus: what the server costs
per request and in what order a worker answers requests that each take ~70 µs of Python
(about what a client_credentials token costs Tunnus). A benchmark, not a test.

Each case starts one granian worker pinned to SERVER_CPU (under SCHED_BATCH, as serve.py
does with TUNNUS_BATCH_SCHEDULING=1, or with `--policy other` the usual policy) with the tiny apps below, loads it with wrk from
WRK_CPU and prints req/s, the worker's CPU time per request and p50/p99 at full load:

    .venv/bin/python bench/interfaces.py [--seconds 5] [--rounds 2] [--work-us 70] [--policy batch|other]

`--work-us 0` measures the floor: what the server and the load generator add to an app
that does nothing, which Tunnus's own p99/p50 can only be read against.

Needs wrk and taskset (apt-get install -y wrk). RSGI with uvloop is measured if uvloop is
installed (pip install uvloop). README *Performance*, "Threads and the tail", says what
the figures decided.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

APPS = '''
import time

WORK = WORK_SECONDS

def _work(body):
    until = time.perf_counter() + WORK  # Python holding the GIL: 70 µs is about a token's worth
    while time.perf_counter() < until:
        pass
    return b'{"ok": true}'

def wsgi(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = _work(environ["wsgi.input"].read(length) if length else b"")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]

async def rsgi(scope, proto):
    data = _work(await proto() if scope.method == "POST" else b"")
    proto.response_bytes(200, [("Content-Type", "application/json")], data)
'''
POST = 'wrk.method = "POST"\nwrk.body = "grant_type=client_credentials"\n' \
       'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
GRANIAN = str(Path(sys.executable).with_name("granian"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--server-cpu", default="0")
    parser.add_argument("--wrk-cpu", default="1")
    parser.add_argument("--port", type=int, default=5096)
    parser.add_argument("--work-us", type=float, default=70,
                        help="µs of Python per request; 0: the floor, what server and load add to any app")
    parser.add_argument("--policy", choices=("batch", "other"), default="batch",
                        help="scheduling policy: SCHED_BATCH, or the usual one (serve.py's with several threads)")
    return parser.parse_args()


def cases() -> list[tuple[str, list[str]]]:
    found = [("WSGI, 4 threads", ["--interface", "wsgi", "--blocking-threads", "4", "apps:wsgi"]),
             ("WSGI, 1 thread", ["--interface", "wsgi", "--blocking-threads", "1", "apps:wsgi"]),
             ("RSGI, asyncio", ["--interface", "rsgi", "--loop", "asyncio", "apps:rsgi"])]
    if importlib.util.find_spec("uvloop"):
        found.append(("RSGI, uvloop", ["--interface", "rsgi", "--loop", "uvloop", "apps:rsgi"]))
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def measure(args, work: Path, arguments: list[str]) -> str:
    command = ["taskset", "-c", args.server_cpu, "chrt", f"--{args.policy}", "0", GRANIAN, "--workers", "1",
               "--port", str(args.port), "--no-access-log", *arguments]
    server = subprocess.Popen(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{args.port}/token"
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        worker = int(Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()[0])
        before = cpu_ticks(worker)
        out = subprocess.run(["taskset", "-c", args.wrk_cpu, "wrk", "-t2", "-c16", f"-d{args.seconds}s", "--latency",
                              "-s", str(work / "post.lua"), url], capture_output=True, text=True, check=True).stdout
        used = (cpu_ticks(worker) - before) / os.sysconf("SC_CLK_TCK")
    finally:
        server.terminate()
        server.wait(10)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50, p99 = (_ms(re.search(rf"\s{q}%\s+([\d.]+\w+)", out).group(1)) for q in (50, 99))
    return f"{rps:10.0f} {used / requests * 1e6:8.1f} {p50:8.3f} {p99:8.3f} {p99 / p50:8.2f}"


def _ms(value: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", value).groups()
    return float(number) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "apps.py").write_text(APPS.replace("WORK_SECONDS", repr(args.work_us / 1e6)))
        (work / "post.lua").write_text(POST)
        print(f"{'':18} {'req/s':>10} {'CPU µs':>8} {'p50 ms':>8} {'p99 ms':>8} {'p99/p50':>8}   (POST, 16 connections)")
        for round_ in range(1, args.rounds + 1):
            for name, arguments in cases():
                print(f"{name:18} {measure(args, work, arguments)}   round {round_}", flush=True)


if __name__ == "__main__":
    main()
