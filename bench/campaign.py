"""Starting a password change campaign over a million identities, and asking its status.

Creates N identities in a scratch PostgreSQL database with one INSERT … SELECT
generate_series (a third each in Finnish, Swedish and English), creates a campaign
targeting all of them and starts it through the service `tunnus campaigns start` uses:
members and one outbox mail each, set-based. Prints the seconds to start (target ≤ 30 s)
and the time of `status` (the funnel counts, target ≤ 200 ms), right after the start and
again once every invitation has been marked delivered and a tenth of the people have
finished. Prints figures; not a test.

    .venv/bin/python bench/campaign.py [--identities N] [--database-url URL]

The database is created if missing and its schema public dropped and recreated: never
point it at `test`.
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
import secrets
import statistics
import tempfile
import time

import sqlalchemy as sa

from bench.scratch_database import recreate
from idp import create_app, schema_migrations
from idp.extensions import db
from idp.services import campaigns
from idp.services.campaigns import progress

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/tunnus_campaign_bench"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--identities", type=int, default=1_000_000, metavar="N", help="default 1000000")
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL), metavar="URL",
                        help=f"a scratch PostgreSQL database (default {DEFAULT_URL}); its schema is recreated")
    return parser.parse_args(argv)


def timed(function, repeat: int = 1):
    """(result, [seconds of each run])."""
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        result = function()
        runs.append(time.perf_counter() - began)
    return result, runs


def status(campaign_id):
    db.session.expire_all()
    return progress.funnel(campaigns.get(campaign_id))


def report_status(label: str, campaign_id) -> None:
    counts, runs = timed(lambda: status(campaign_id), repeat=7)
    print(f"  status {label}: median {statistics.median(runs) * 1000:.0f} ms, worst {max(runs) * 1000:.0f} ms "
          f"(target ≤ 200 ms)  {counts}")


def main(argv=None) -> None:
    args = parse_args(argv)
    recreate(args.database_url)
    with tempfile.TemporaryDirectory(prefix="tunnus-campaign-bench-") as keys:
        app = create_app({"IDP_DATABASE_URL": args.database_url, "IDP_KEYS_DIR": keys,
                          "IDP_SECRET_KEY": secrets.token_urlsafe(32), "IDP_ISSUER": "https://tunnus.example.fi",
                          # as `tunnus campaigns start`: commands run without the web's statement timeout
                          "IDP_DATABASE_STATEMENT_TIMEOUT": 0},
                         keys_required=False)  # a campaign's mail signs nothing
        with app.app_context():
            schema_migrations.upgrade()
            _, (seconds,) = timed(lambda: (db.session.execute(sa.text("""
                INSERT INTO identities (sub, email, email_normalized, email_verified, name, locale, is_operator,
                                        failed_logins, created_at, updated_at)
                SELECT gen_random_uuid()::text, 'Henkilo.' || g || '@Example.FI', 'henkilo.' || g || '@example.fi',
                       g % 4 = 0, 'Henkilö ' || g, (ARRAY['fi', 'sv', 'en'])[g % 3 + 1], false, 0, now(), now()
                FROM generate_series(1, :n) AS g"""), {"n": args.identities}), db.session.commit()))
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE identities"))
            print(f"PostgreSQL {db.session.execute(sa.text('SHOW server_version')).scalar()}: "
                  f"{args.identities:,} identities created in {seconds:.1f} s")

            campaign, found = campaigns.create("Siirto Tunnukseen", "all", ["verify_email", "change_password"],
                                               reminder_days=[7, 14], rate_per_minute=600)
            result, (seconds,) = timed(lambda: campaigns.start(campaign.id))
            mails = db.session.execute(sa.text("SELECT COUNT(*) FROM mail_outbox WHERE campaign_id = :c"),
                                       {"c": campaign.id}).scalar()
            print(f"  start: {seconds:.1f} s in all, one transaction: {result['members']:,} members stored in "
                  f"{result['members_seconds']:.1f} s, {mails:,} outbox mails written in {result['mail_seconds']:.1f} s "
                  f"(target ≤ 30 s; {mails / result['mail_seconds']:,.0f} mails/s), commit "
                  f"{result['commit_seconds']:.1f} s")
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE campaign_members"))
                conn.execute(sa.text("ANALYZE mail_outbox"))
            report_status("right after the start", campaign.id)

            # As if the sender had delivered everything (1% bounced) and a tenth had finished.
            db.session.execute(sa.text("UPDATE mail_outbox SET status = 'sent', sent_at = now() "
                                       "WHERE campaign_id = :c"), {"c": campaign.id})
            db.session.execute(sa.text("""
                UPDATE campaign_members SET
                    last_mailed_at = CASE WHEN id % 100 <> 1 THEN now() END,
                    bounced_at = CASE WHEN id % 100 = 1 THEN now() END,
                    link_opened_at = CASE WHEN id % 10 = 0 THEN now() END,
                    email_verified_at = CASE WHEN id % 10 = 0 THEN now() END,
                    password_changed_at = CASE WHEN id % 10 = 0 THEN now() END,
                    completed_at = CASE WHEN id % 10 = 0 THEN now() END
                WHERE campaign_id = :c"""), {"c": campaign.id})
            db.session.commit()
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("VACUUM ANALYZE campaign_members"))
                conn.execute(sa.text("VACUUM ANALYZE mail_outbox"))
            report_status("all mailed (1% bounced), 10% completed", campaign.id)
            _, runs = timed(lambda: progress.daily(campaigns.get(campaign.id)), repeat=3)
            print(f"  per-day counts (operator page chart): median {statistics.median(runs) * 1000:.0f} ms")
            _, runs = timed(lambda: list(progress.pending(campaigns.get(campaign.id), limit=100)), repeat=3)
            print(f"  first 100 of the pending list: median {statistics.median(runs) * 1000:.0f} ms")
            db.engine.dispose()


if __name__ == "__main__":
    main()
