"""Changing IDP_SECRET_KEY without voiding what it sealed (README, "Changing
IDP_SECRET_KEY"): while the earlier value is listed in IDP_SECRET_KEY_FALLBACKS it is
still accepted; reseal() moves the stored secrets under the current one, so that the
fallback is then needed only for what cannot be moved (recovery codes, mailed codes and
links, cookies: see the README)."""
from __future__ import annotations

from ..extensions import db
from ..models import TotpCredential, UpstreamProvider
from . import audit, secrets_box

# (what is counted, the model, its sealed column, the purpose it was sealed for)
SEALED = (("totp_seeds", TotpCredential, "secret_encrypted", secrets_box.TOTP),
          ("upstream_client_secrets", UpstreamProvider, "client_secret_encrypted", secrets_box.UPSTREAM_CLIENT_SECRET))


def reseal() -> dict[str, int]:
    """Seal every TOTP seed and upstream client secret again under the current key, and
    count those moved; one under the current key already is counted as such (so a second
    run shows nothing left to do), one no configured key opens as unreadable, left as it is."""
    counts = {counted: 0 for counted, *_ in SEALED} | {"already_current": 0, "unreadable": 0}
    for counted, model, column, info in SEALED:
        for row in db.session.execute(db.select(model)).scalars():
            try:
                resealed = secrets_box.reseal(getattr(row, column), info)
            except secrets_box.Unreadable:
                counts["unreadable"] += 1
                continue
            if resealed is None:
                counts["already_current"] += 1
            else:
                setattr(row, column, resealed)
                counts[counted] += 1
    audit.record("secrets.resealed", **counts)
    db.session.commit()
    return counts
