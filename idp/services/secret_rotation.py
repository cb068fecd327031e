"""Changing IDP_SECRET_KEY without voiding what it sealed (README, "Changing
IDP_SECRET_KEY"): while the earlier value is listed in IDP_SECRET_KEY_FALLBACKS it is
still accepted; reseal() moves the stored secrets under the current one, so that the
fallback is then needed only for what cannot be moved (recovery codes, mailed codes and
links, cookies: see the README)."""
from __future__ import annotations

from ..extensions import db
from ..models import TotpCredential, UpstreamProvider
from . import audit, secrets_box

BATCH = 500

# (what is counted, the model, its sealed column, the purpose it was sealed for)
SEALED = (("totp_seeds", TotpCredential, "secret_encrypted", secrets_box.TOTP),
          ("upstream_client_secrets", UpstreamProvider, "client_secret_encrypted", secrets_box.UPSTREAM_CLIENT_SECRET))


def reseal() -> dict[str, int]:
    """Seal every TOTP seed and upstream client secret again under the current key, and
    count those moved; one under the current key already is counted as such (so a second
    run shows nothing left to do), one no configured key opens as unreadable, left as it is.

    Row by row, each written only if it still holds what was read, and committed in
    batches: a seed removed or set up anew meanwhile (sealed under the current key) is left
    as it now is. Before, one removed failed the whole run with nothing resealed, and one
    replaced would have been overwritten with the old."""
    counts = {counted: 0 for counted, *_ in SEALED} | {"already_current": 0, "unreadable": 0}
    for counted, model, column, info in SEALED:
        sealed_column = getattr(model, column)
        stored = db.session.execute(db.select(model.id, sealed_column).order_by(model.id)).all()
        for done, (row_id, sealed) in enumerate(stored, 1):
            try:
                resealed = secrets_box.reseal(sealed, info)
            except secrets_box.Unreadable:
                counts["unreadable"] += 1
                continue
            if resealed is None:
                counts["already_current"] += 1
            elif db.session.execute(db.update(model).where(model.id == row_id, sealed_column == sealed)
                                    .values({column: resealed})).rowcount:
                counts[counted] += 1
            if done % BATCH == 0:
                db.session.commit()  # no long transaction holding the rows of people signing in
    audit.record("secrets.resealed", **counts)
    db.session.commit()
    return counts
