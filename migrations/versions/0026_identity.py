"""Emails in composed Unicode (NFC): identities and invitations stored with a decomposed
address ('a' + combining diaeresis, as some old exports write 'ä') are rewritten in the
form Tunnus now compares in, so the address typed on a keyboard finds them.

Where the composed form is already another identity's (two identities for one address),
neither is changed nor merged: merging people is for an operator to decide. Such rows are
named in a warning, and stay findable only by their decomposed spelling until resolved.

Revision ID: 0026_identity
Revises: 0025_erasures
Create Date: 2026-12-01 12:00:00.000000

"""
import logging
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0026_identity'
down_revision = '0025_erasures'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _composed(value):
    # A frozen copy of the rule (idp.models.identity.normalise_email): the stored form is
    # already trimmed, lower-cased and IDNA-encoded, so only composing is left.
    return unicodedata.normalize("NFC", value) if value is not None else None


def _compose(table, scope):
    """Rewrite email and email_normalized of `table` in NFC; `scope` names the columns the
    uniqueness of email_normalized is within. Returns how many rows changed, and the
    (id left alone, id holding its composed form) of each collision."""
    conn = op.get_bind()
    t = sa.table(table, sa.column("id"), sa.column("email"), sa.column("email_normalized"),
                 *(sa.column(c) for c in scope))
    rows = conn.execute(sa.select(t.c.id, t.c.email, t.c.email_normalized, *(t.c[c] for c in scope))).all()
    taken = {(tuple(r[3:]), r.email_normalized): r.id for r in rows}
    changes, claimed, collided = [], {}, []
    for row in rows:
        composed = _composed(row.email_normalized)
        email = _composed(row.email)
        if composed == row.email_normalized and email == row.email:
            continue
        key = (tuple(row[3:]), composed)
        if composed != row.email_normalized and (key in taken or key in claimed):
            collided.append((row.id, taken.get(key) or claimed[key]))
            continue
        claimed[key] = row.id
        changes.append({"b_id": row.id, "b_email": email, "b_normalized": composed})
    if changes:
        conn.execute(t.update().where(t.c.id == sa.bindparam("b_id"))
                     .values(email=sa.bindparam("b_email"), email_normalized=sa.bindparam("b_normalized")),
                     changes)
    return len(changes), collided


def upgrade():
    changed, collided = _compose("identities", ())
    if collided:
        log.warning("identities with a decomposed (NFD) email whose composed form another identity has, as "
                    "(left unchanged, the other): %s. Not merged: decide which is the person's and change the "
                    "other's address or delete it.", collided)
    invitations, waiting = _compose("invitations", ("organisation_id",))
    if waiting:
        log.warning("invitations to a decomposed (NFD) address whose organisation also invited its composed "
                    "form, as (left unchanged, the other): %s. Withdraw one.", waiting)
    log.info("composed (NFC) emails of %d identities and %d invitations", changed, invitations)


def downgrade():
    # The decomposed spellings are not kept: the composed form is the same address.
    pass
