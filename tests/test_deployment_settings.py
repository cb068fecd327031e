"""What a deployment must be given, and settings a process cannot start with: one line
naming the variable, from `tunnus` and from serve.py (before any worker starts), never a
traceback. The embedded default (SQLite, an http issuer: `make run`) needs nothing."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from idp import config
from tests.support.served import serve

ROOT = Path(__file__).resolve().parent.parent
TUNNUS = str(Path(sys.executable).with_name("tunnus"))
SECRET = "s3cret-" + "x" * 40
NO_SECRET = "IDP_SECRET_KEY is not set: give every machine the same random value of at least 32 characters"


def _run(tmp_path, *args, program=(TUNNUS,), **settings):
    """A command with these settings only (a SQLite file of its own, keys in tmp_path/keys)."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": os.environ.get("PYTHONPATH"), "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'idp.db'}",
           "IDP_KEYS_DIR": str(tmp_path / "keys"), **settings}
    return subprocess.run([*program, *args], env={k: v for k, v in env.items() if v is not None}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)


def _serve(tmp_path, **settings):
    return _run(tmp_path, program=(sys.executable, str(ROOT / "serve.py")), TUNNUS_BIND="127.0.0.1:1", **settings)


def _production(**settings):
    """Not the embedded default: an https issuer (as a PostgreSQL URL would)."""
    return {"IDP_ISSUER": "https://tunnus.example.fi", **settings}


def test_the_embedded_default_needs_no_secret_and_makes_its_keys(tmp_path):
    done = _run(tmp_path, "keys", "list", "--json")
    assert done.returncode == 0, done.stderr
    assert sorted((row["alg"], row["signing"]) for row in json.loads(done.stdout)) == [("ES256", True),
                                                                                        ("RS256", True)]


@pytest.mark.parametrize("secret", [None, ""])
def test_a_deployment_without_the_secret_does_not_start(tmp_path, secret):
    done = _run(tmp_path, "db", "upgrade", **_production(IDP_SECRET_KEY=secret))
    assert done.returncode == 1
    assert done.stderr.startswith("Error: " + NO_SECRET) and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "idp.db").exists()


def test_a_deployment_with_a_weak_secret_does_not_start(tmp_path):
    done = _run(tmp_path, "db", "upgrade", **_production(IDP_SECRET_KEY="abc"))
    assert done.returncode == 1
    assert done.stderr == "Error: IDP_SECRET_KEY is too short (3 characters): use a random value of at least 32\n"


def test_serve_refuses_without_the_secret_before_any_worker_starts(tmp_path):
    done = _serve(tmp_path, **_production(IDP_LOG_FORMAT="json"))
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert json.loads(line)["level"] == "ERROR" and json.loads(line)["message"].startswith(NO_SECRET)


def test_a_deployment_does_not_invent_keys_they_are_made_once_with_keys_rotate(tmp_path):
    settings = _production(IDP_SECRET_KEY=SECRET)
    refusal = f"no signing keys in {tmp_path / 'keys'} (IDP_KEYS_DIR); create them once with `tunnus keys rotate`"
    assert _run(tmp_path, "db", "upgrade", **settings).returncode == 0  # needs no keys
    listed = _run(tmp_path, "clients", "list", **settings)
    assert listed.returncode == 1 and listed.stderr == f"Error: {refusal}\n"
    no_keys = _run(tmp_path, "keys", "list", **settings)
    assert no_keys.returncode == 1 and no_keys.stderr == f"Error: {refusal}\n"
    served = _serve(tmp_path, **settings)
    assert served.returncode == 1 and served.stderr.splitlines()[-1].endswith(f"ERROR serve [-] {refusal}")
    assert len(served.stderr.splitlines()) == 1
    assert not list((tmp_path / "keys").glob("*.json"))

    made = _run(tmp_path, "keys", "rotate", **settings)
    assert made.returncode == 0, made.stderr
    listed = _run(tmp_path, "keys", "list", "--json", **settings)
    assert sorted((row["alg"], row["signing"]) for row in json.loads(listed.stdout)) == [("ES256", True),
                                                                                          ("RS256", True)]
    assert _run(tmp_path, "clients", "list", **settings).returncode == 0


def test_workers_starting_together_on_an_empty_folder_make_one_key_each(base_config, tmp_path):
    keys = tmp_path / "keys"
    served = serve(dict(base_config, IDP_KEYS_DIR=str(keys)), f"sqlite:///{tmp_path / 'idp.db'}", TUNNUS_WORKERS="4")
    try:
        assert len(served.workers()) == 4
    finally:
        served.stop()
    assert len(list(keys.glob("*.json"))) == 2


def test_a_relative_keys_folder_is_in_the_checkout_whichever_folder_a_command_runs_in(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    values = config.load({"IDP_KEYS_DIR": "keys", "IDP_DATABASE_URL": None, "IDP_SECRET_KEY": SECRET},
                         str(ROOT / "instance"))
    assert values["IDP_KEYS_DIR"] == str(ROOT / "keys")


def test_postgres_urls_in_libpq_spelling_mean_psycopg(tmp_path):
    values = config.load({"IDP_DATABASE_URL": "postgres://tunnus@db.internal/tunnus", "IDP_SECRET_KEY": SECRET},
                         str(tmp_path))
    assert values["IDP_DATABASE_URL"] == "postgresql+psycopg://tunnus@db.internal/tunnus"
    # Nothing listens at port 1: the URL was understood, only the database does not answer.
    done = _run(tmp_path, "db", "upgrade", IDP_DATABASE_URL="postgres://postgres@127.0.0.1:1/tunnus",
                IDP_SECRET_KEY=SECRET)
    assert done.returncode == 1 and done.stderr.startswith("Error: database unavailable:"), done.stderr
    assert len(done.stderr.splitlines()) <= 2 and "Traceback" not in done.stderr


SMTP_URL_REFUSED = ("IDP_SMTP_URL is not an SMTP URL: use smtp://HOST[:PORT], smtp+starttls://USER:PASSWORD@HOST:587 "
                    "or smtps://HOST[:PORT], with any of @ : / ? # % in the user or password percent-encoded "
                    "(%40 %3A %2F %3F %23 %25)")


@pytest.mark.parametrize(("settings", "message"), [
    ({"IDP_DATABASE_URL": "cockroach://db/tunnus"},
     "IDP_DATABASE_URL names an unknown database 'cockroach' (postgresql://user@host/name)"),
    ({"IDP_DATABASE_URL": "not a url"}, "IDP_DATABASE_URL is not a database URL (postgresql://user@host/name)"),
    ({"IDP_REDIS_URL": "redis//redis.internal:6379/0"},
     "IDP_REDIS_URL is not a Redis URL: it must start with redis://, rediss:// or unix:// (redis://host:6379/0)"),
    ({"IDP_CLIENT_CACHE_SECONDS": "abc"}, "IDP_CLIENT_CACHE_SECONDS must be a number, not 'abc'"),
    # Every request sending mail was a 500, and the log showed the password up to its '#'.
    ({"IDP_SMTP_URL": "smtp+starttls://tunnus:Kj4#pQz9/rT@mail.internal:587"}, SMTP_URL_REFUSED),
    ({"IDP_SMTP_URL": "http://mail.example"}, SMTP_URL_REFUSED),
    ({"IDP_SMTP_URL": "smtp://user:s3cret@"}, SMTP_URL_REFUSED),
    # Read as two addresses: every mail was a 500.
    ({"IDP_MAIL_FROM": "Helsingin kaupunki, Tunnus <no-reply@hel.fi>"},
     "IDP_MAIL_FROM must be one address, such as Tunnus <no-reply@example.fi> (a name with a comma in quotes: "
     "\"Kaupunki, Tunnus\" <no-reply@example.fi>), not 'Helsingin kaupunki, Tunnus <no-reply@hel.fi>'"),
    ({"IDP_MAIL_TIMEOUT": "ten"}, "IDP_MAIL_TIMEOUT must be a whole number, not 'ten'"),
    # Read as "off", a typo dropped Secure from the cookies of an https issuer.
    ({"IDP_SECURE_COOKIES": "ture"}, "IDP_SECURE_COOKIES must be on or off (1/0, true/false, yes/no), not 'ture'"),
    # Flask-Limiter logged an error at each request and applied no limit.
    ({"IDP_LOGIN_RATE_LIMIT": "lots"}, "IDP_LOGIN_RATE_LIMIT is not a rate limit such as '20 per minute': 'lots'"),
    ({"IDP_TOKEN_RATE_LIMIT": "5 per fortnight"},
     "IDP_TOKEN_RATE_LIMIT is not a rate limit such as '20 per minute': '5 per fortnight'"),
    ({"IDP_ISSUER": "notaurl"}, "IDP_ISSUER must be a URL such as https://tunnus.example.fi, not 'notaurl'"),
    ({"IDP_TIMEZONE": "Mars/Base"}, "IDP_TIMEZONE is not a known time zone: 'Mars/Base' (e.g. Europe/Helsinki)"),
    # The next `tunnus prune` would have deleted every audit record.
    ({"IDP_AUDIT_RETENTION_DAYS": "0"}, "IDP_AUDIT_RETENTION_DAYS must be from 1 to 36500 (100 years), not 0"),
    # Kept "for ever": every prune failed (a date before the year 1), pruning nothing.
    ({"IDP_AUDIT_RETENTION_DAYS": "1000000"},
     "IDP_AUDIT_RETENTION_DAYS must be from 1 to 36500 (100 years), not 1000000"),
    ({"IDP_JWKS_MAX_AGE": "3600"}, "IDP_JWKS_MAX_AGE (3600) must be shorter than IDP_KEY_PUBLISH_DELAY (900): "
                                   "relying services would still hold a key set without a rotated key when it "
                                   "begins to sign"),
    ({"IDP_SUPPORT_CONTACT": "call us"}, "IDP_SUPPORT_CONTACT must be an email address or an https:// URL such as "
                                         "tuki@example.fi or https://example.fi/tuki, not 'call us'"),
])
def test_a_setting_that_cannot_work_is_one_line_naming_it(tmp_path, settings, message):
    done = _run(tmp_path, "clients", "list", **settings)
    assert done.returncode == 1 and done.stderr == f"Error: {message}\n"
    done = _run(tmp_path, "clients", "list", IDP_LOG_FORMAT="json", **settings)
    assert done.returncode == 1 and json.loads(done.stderr)["message"] == message
    served = _serve(tmp_path, IDP_LOG_FORMAT="json", **settings)
    assert served.returncode == 1 and [json.loads(line)["message"] for line in served.stderr.splitlines()] == [message]


def test_a_keys_folder_that_is_a_file_is_one_line(tmp_path):
    (tmp_path / "keys").write_text("not a folder")
    embedded = _run(tmp_path, "keys", "list")
    assert embedded.returncode == 1
    assert embedded.stderr == f"Error: IDP_KEYS_DIR {tmp_path / 'keys'} cannot hold the keys: File exists\n"
    deployed = _run(tmp_path, "clients", "list", **_production(IDP_SECRET_KEY=SECRET))
    assert deployed.stderr == f"Error: IDP_KEYS_DIR {tmp_path / 'keys'} is not a folder\n"
    assert _run(tmp_path, "keys", "rotate", **_production(IDP_SECRET_KEY=SECRET)).stderr == embedded.stderr
    served = _serve(tmp_path)
    assert served.returncode == 1 and len(served.stderr.splitlines()) == 1 and "cannot hold the keys" in served.stderr
