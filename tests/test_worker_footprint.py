"""What a serving worker holds in memory: only what serving requests needs."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_a_worker_leaves_unloaded_what_only_commands_and_rare_requests_need(tmp_path, base_config):
    # Each would cost every worker megabytes it never uses (README, Performance): Alembic
    # (with Mako) runs only under `tunnus db`, py_webauthn at a passkey ceremony, requests
    # at an upstream provider.
    rare = ("alembic", "flask_migrate", "mako", "webauthn", "requests")
    code = f"import sys, wsgi; print(' '.join(m for m in {rare!r} if m in sys.modules))"
    env = {"PATH": os.environ["PATH"], "IDP_DATABASE_URL": f"sqlite:///{tmp_path / 'idp.db'}",
           "IDP_SECRET_KEY": base_config["IDP_SECRET_KEY"], "IDP_KEYS_DIR": str(tmp_path / "keys")}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == []
