"""The benchmarks of the README run, at their smallest sizes: they set up their own database
outside the `tunnus db` command, which nothing else in the suite does."""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
PEERS = ROOT.parent / "shared" / "peers"  # bench/compare.sh's default


def run_bench(script: str, *args: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if not name.startswith(("IDP_", "BENCH_"))}
    return subprocess.run([sys.executable, f"bench/{script}", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_token_bench_exchanges_codes_on_sqlite():
    done = run_bench("token.py", "--requests", "1", "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    exchange = next(line for line in done.stdout.splitlines() if line.startswith("POST /token authorization_code"))
    assert exchange.split()[4] == "0"  # errors: every minted code is accepted
    assert "requests failed" not in done.stdout


def test_token_bench_server_writes_no_access_lines(tmp_path):
    """Its log would otherwise hold a line for each of the thousands of requests measured."""
    spec = importlib.util.spec_from_file_location("bench_token", ROOT / "bench" / "token.py")
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # its dataclasses look their module up
    try:
        spec.loader.exec_module(bench)
        port = bench.free_port()
        config = bench.server_config(bench.parse_args([]), tmp_path, port)
        with bench.server(config, port, tmp_path / "server.log") as base:
            assert requests.get(base + bench.DISCOVERY, timeout=5).status_code == 200
    finally:
        del sys.modules[spec.name]
    assert "tunnus.access" not in (tmp_path / "server.log").read_text()


def test_legacy_import_bench_imports_on_sqlite():
    done = run_bench("legacy_import.py", "--rows", "30")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "database: 5 identities, 30 legacy accounts" in done.stdout


def test_campaign_bench_starts_a_campaign_on_postgresql():
    # A scratch database beside the test database: the benchmark recreates its schema.
    scratch = _scratch_database("campaign_bench")
    admin = sa.create_engine(os.environ["IDP_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{scratch.database}"'))
    try:
        done = run_bench("campaign.py", "--identities", "100",
                         "--database-url", scratch.render_as_string(hide_password=False))
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr
        assert "100 members stored" in done.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()


def _scratch_database(suffix: str) -> sa.URL:
    url = os.environ.get("IDP_TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        pytest.skip("this benchmark is for PostgreSQL")
    return sa.make_url(url).set(database=f"{sa.make_url(url).database}_{suffix}")


def test_compare_bench_measures_tunnus_on_postgresql():
    """Every endpoint answers without an error and the worker's RSS is sampled; the peer is
    left out (SKIP_PEER), as a fresh machine has no node. The script makes its own database."""
    scratch = _scratch_database("compare_bench")
    if not shutil.which("wrk"):
        pytest.skip("wrk is not installed (apt-get install -y wrk)")
    if not (PEERS / "report.lua").is_file():  # the shared wrk scripts, beside a checkout made there
        pytest.skip(f"no peer harness at {PEERS}")
    env = {name: value for name, value in os.environ.items() if not name.startswith(("IDP_", "BENCH_"))}
    cpus = sorted(os.sched_getaffinity(0))
    env.update(SKIP_PEER="1", DURATION="1s", RSS_AFTER="10", TUNNUS_PORT="5079", SERVER_CPU=str(cpus[0]),
               WRK_CPU=str(cpus[-1]),
               BENCH_DATABASE_URL=scratch.render_as_string(hide_password=False),
               BENCH_REDIS_URL=os.environ.get("IDP_TEST_REDIS_URL") or "redis://127.0.0.1:6379/5")
    admin = sa.create_engine(os.environ["IDP_TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}"'))
    try:
        done = subprocess.run(["bench/compare.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        rows = {}
        for line in done.stdout.splitlines():  # the full-load table comes first
            rows.setdefault(line.split()[0] if line.split() else "", line.split())
        for endpoint in ("discovery", "jwks", "token_cc", "introspection"):
            assert float(rows[endpoint][2]) > 0 and rows[endpoint][7] == "0", done.stdout  # req/s, errors
        assert "tunnus worker RSS after" in done.stdout
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{scratch.database}" WITH (FORCE)'))
        admin.dispose()
