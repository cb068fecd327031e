"""`tunnus demo setup`: a demo client and user for `make run`, created once.

Their secrets are kept in instance/demo.json (never committed) so each run can print
them again and clients/demo can read the client's.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from flask import current_app

from ..extensions import db
from ..models import Client, Identity
from ..models.client import hash_secret
from ..services import clients, identities, passwords
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("demo", help="Demo client and user for trying Tunnus out.")

DEMO_CLIENT_ID = "tunnus-demo"
DEMO_EMAIL = "demo@example.com"
DEMO_RP = "http://127.0.0.1:5001"


def _store_path() -> Path:
    return Path(current_app.instance_path) / "demo.json"


@group.command("setup")
@json_option
def setup(as_json):
    """Create the demo client and user (once) and print how to sign in."""
    path = _store_path()
    stored = json.loads(path.read_text()) if path.exists() else {}
    client = Client.by_client_id(DEMO_CLIENT_ID)
    if client is None:
        _, stored["client_secret"] = clients.create(
            "Tunnus demo service", [f"{DEMO_RP}/callback"], [f"{DEMO_RP}/"], client_id=DEMO_CLIENT_ID)
    elif "client_secret" not in stored:
        stored["client_secret"] = secrets.token_urlsafe(32)
        client.secret_hash = hash_secret(stored["client_secret"])
        db.session.commit()
    identity = Identity.by_email(DEMO_EMAIL)
    if identity is None or "password" not in stored:
        stored["password"] = secrets.token_urlsafe(12)
        if identity is None:
            identities.create(DEMO_EMAIL, stored["password"], "Demo User", verified=True)
        else:
            identity.password_hash = passwords.hash_password(stored["password"])
            db.session.commit()
    stored.update(issuer=current_app.config["IDP_ISSUER"], client_id=DEMO_CLIENT_ID, email=DEMO_EMAIL)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle, indent=2)
    emit({"issuer": stored["issuer"], "email": DEMO_EMAIL, "password": stored["password"],
          "client_id": DEMO_CLIENT_ID, "client_secret_file": str(path), "relying_service": f"{DEMO_RP}/"}, as_json, f"""
Tunnus is ready.
  Issuer:         {stored['issuer']}
  Discovery:      {stored['issuer']}/.well-known/openid-configuration
  Demo user:      {DEMO_EMAIL}
  Demo password:  {stored['password']}
  Demo client:    {DEMO_CLIENT_ID} (secret in {path})
  Try it:         in another terminal, `make demo`, then open {DEMO_RP}/
""")
