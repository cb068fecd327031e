"""Throughput and memory of `tunnus legacy import`, in-process through the same service.

Writes N synthetic rows split over three old systems (mixed hash schemes reused from a
small pool of real hashes; 30% of the people appear in all three systems under the same
email, 5% of the rows have no email) to temporary JSON Lines files, imports them one
system after another into a fresh database, and prints rows/s and the peak RSS. Then
imports the first file again, which must change nothing. Prints figures; not a test.

    .venv/bin/python bench/legacy_import.py [--rows N] [--batch-size B] [--database-url URL]

A PostgreSQL --database-url must be a scratch database: its schema public is dropped and
recreated (never point it at the test database).
"""
from __future__ import annotations

import os
import sys

# Python puts this folder first on sys.path, and bench/token.py there would shadow the
# standard library's `token` module. Resolve imports from the repository root instead.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if sys.path and os.path.abspath(sys.path[0] or os.curdir) == os.path.join(ROOT, "bench"):
    sys.path[0] = ROOT

import argparse
import hashlib
import json
import platform
import resource
import secrets
import tempfile
import time
from pathlib import Path

import argon2
import bcrypt
import sqlalchemy as sa
from passlib import hash as passlib_hash

from idp import create_app, schema_migrations
from idp.extensions import db
from idp.services import legacy_import

SYSTEMS = ("kirjasto", "verkkokauppa", "asiakasrekisteri")
SHARED = 0.30
WITHOUT_EMAIL = 0.05


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, metavar="N", help="rows in all (default 100000)")
    parser.add_argument("--batch-size", type=int, default=legacy_import.BATCH_SIZE, metavar="B",
                        help=f"rows per transaction (default {legacy_import.BATCH_SIZE})")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"), metavar="URL",
                        help="SQLAlchemy URL, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_legacy_bench "
                             "(default $BENCH_DATABASE_URL, else a temporary SQLite file); "
                             "PostgreSQL: its schema public is dropped and recreated")
    return parser.parse_args(argv)


def hash_pool() -> list[tuple[str, str]]:
    """A few real hashes per scheme: (scheme, hash), computed once and reused."""
    pool = []
    for n in range(3):
        password = f"bench-{n}"
        salt = secrets.token_hex(4)
        pool += [
            ("bcrypt", bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()),
            ("argon2", argon2.PasswordHasher(time_cost=1, memory_cost=256).hash(password)),
            ("django_pbkdf2_sha256", passlib_hash.django_pbkdf2_sha256.using(rounds=1000).hash(password)),
            ("pbkdf2_sha1", passlib_hash.django_pbkdf2_sha1.using(rounds=1000).hash(password)),
            ("md5_crypt", passlib_hash.md5_crypt.hash(password)),
            ("sha256_crypt", passlib_hash.sha256_crypt.using(rounds=1000).hash(password)),
            ("sha512_crypt", passlib_hash.sha512_crypt.using(rounds=1000).hash(password)),
            ("phpass", passlib_hash.phpass.hash(password)),
            ("salted_sha1", f"sha1${salt}${hashlib.sha1((salt + password).encode()).hexdigest()}"),
            ("salted_sha256", f"sha256${salt}${hashlib.sha256((salt + password).encode()).hexdigest()}"),
        ]
    return pool


def write_files(folder: Path, rows: int) -> list[Path]:
    pool = hash_pool()
    per_system = rows // len(SYSTEMS)
    paths = []
    for number, system in enumerate(SYSTEMS):
        path = folder / f"{system}.jsonl"
        with path.open("w", encoding="utf-8") as out:
            for i in range(per_system):
                scheme, hashed = pool[(i + number) % len(pool)]
                slot = i % 100
                if slot < WITHOUT_EMAIL * 100:
                    email = None
                elif slot < (WITHOUT_EMAIL + SHARED) * 100:
                    email = f"Henkilo.{i}@Example.FI"  # the same person in every system
                else:
                    email = f"asiakas.{number}.{i}@example.fi"
                row = {"legacy_id": f"{number}-{i}", "login_name": f"user{i}", "email": email,
                       "name": f"Henkilö {i}", "phone": f"+35840{i:07d}" if i % 3 else None,
                       "password_hash": hashed, "hash_scheme": scheme,
                       "created_at": "2015-03-01T09:00:00+02:00", "last_login_at": "2024-01-02T10:00:00Z"}
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def reset_postgres(url: str) -> None:
    engine = sa.create_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


def main(argv=None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tunnus-legacy-bench-") as tmp:
        tmp = Path(tmp)
        url = args.database_url or f"sqlite:///{tmp / 'tunnus.sqlite3'}"
        reset_postgres(url)
        # The import signs nothing: on PostgreSQL (not embedded) no keys are made or needed.
        app = create_app({"IDP_DATABASE_URL": url, "IDP_KEYS_DIR": str(tmp / "keys"),
                          "IDP_SECRET_KEY": secrets.token_urlsafe(32)}, keys_required=False)
        started = time.perf_counter()
        paths = write_files(tmp, args.rows)
        generated = time.perf_counter() - started
        with app.app_context():
            schema_migrations.upgrade()
            base_rss = peak_rss_mb()
            print(f"{platform.python_implementation()} {platform.python_version()}, {db.engine.dialect.name}, "
                  f"{args.rows:,} rows in {len(paths)} files ({generated:.1f} s to generate), "
                  f"batch {args.batch_size}, RSS before import {base_rss:.0f} MB")
            total_rows, total_seconds = 0, 0.0
            for path in paths:
                started = time.perf_counter()
                report = legacy_import.run(str(path), path.stem, batch_size=args.batch_size)
                seconds = time.perf_counter() - started
                total_rows += report.counts["rows"]
                total_seconds += seconds
                c = report.counts
                print(f"  {path.stem:18} {c['rows']:>9,} rows {seconds:7.1f} s {c['rows'] / seconds:9,.0f} rows/s"
                      f"  identities +{c['identities_created']:,}, merged {c['accounts_merged']:,},"
                      f" without email {c['accounts_without_email']:,}, rejected {c['rejected']}")
            print(f"  {'all':18} {total_rows:>9,} rows {total_seconds:7.1f} s "
                  f"{total_rows / total_seconds:9,.0f} rows/s  peak RSS {peak_rss_mb():.0f} MB")
            started = time.perf_counter()
            again = legacy_import.run(str(paths[0]), paths[0].stem, batch_size=args.batch_size)
            seconds = time.perf_counter() - started
            print(f"  re-import {paths[0].stem}: {again.counts['unchanged']:,} unchanged of "
                  f"{again.counts['rows']:,} in {seconds:.1f} s ({again.counts['rows'] / seconds:,.0f} rows/s)")
            with db.engine.connect() as conn:
                identities = conn.execute(sa.text("SELECT COUNT(*) FROM identities")).scalar()
                accounts = conn.execute(sa.text("SELECT COUNT(*) FROM legacy_accounts")).scalar()
            print(f"  database: {identities:,} identities, {accounts:,} legacy accounts; "
                  f"peak RSS {peak_rss_mb():.0f} MB")
            db.engine.dispose()


if __name__ == "__main__":
    main()
