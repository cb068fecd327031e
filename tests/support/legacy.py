"""Accounts of an old service, imported as operators do (`tunnus legacy import`)."""
from __future__ import annotations

import json

import bcrypt

from idp.extensions import db
from idp.models import Identity
from idp.services import legacy_import

OLD_PASSWORD = "Kesaloma2019"


def imported(tmp_path, system, login_name, email, name="", password=OLD_PASSWORD, verified=False) -> Identity:
    """One person's account in `system` with a bcrypt hash of `password`; the identity the
    import made for the address (proven if `verified`, as after an earlier verification)."""
    rows = tmp_path / f"{system}.jsonl"
    rows.write_text(json.dumps({"legacy_id": "1", "login_name": login_name, "email": email, "name": name,
                                "hash_scheme": "bcrypt",
                                "password_hash": bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()}))
    legacy_import.run(str(rows), system)
    identity = Identity.by_email(email)
    identity.email_verified = verified or identity.email_verified
    db.session.commit()
    return identity
