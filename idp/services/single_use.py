"""Values a client may present once (a client assertion's jti, a DPoP proof's): the row
recording the use is committed at once, on its own, so a second presentation finds it
whichever worker it reaches, and it stays used even if the request it came with fails
after. The table's unique constraint decides between two presentations at the same time.
"""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from ..extensions import db

# RFC 9449 §11.1 asks for no unnecessarily large jti; a printable one, as it is hashed as UTF-8.
MAX_JTI_LENGTH = 256


def usable_jti(jti) -> bool:
    return isinstance(jti, str) and 0 < len(jti) <= MAX_JTI_LENGTH and jti.isprintable()


def first_use(row) -> bool:
    """Record the use; False when it was recorded before."""
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return False
    return True
