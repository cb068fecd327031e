"""What is left of a person who had their account deleted: keyed hashes, never the data.

One row per thing that identified them to an import (their normalised email, each old
account's system and legacy id, system and login name), all the rows of one deletion
sharing the deleted identity's `sub` (which the deletion's audit record names). See
services/erasures.py.
"""
from __future__ import annotations

from ..extensions import db
from ..services import clock


class Erasure(db.Model):
    __tablename__ = "erasures"

    id = db.Column(db.Integer, primary_key=True)
    # HMAC-SHA256 under a key derived from IDP_SECRET_KEY: the table alone tells nobody
    # whose accounts they were, not even by hashing a list of addresses.
    key_hash = db.Column(db.String(64), nullable=False, index=True)
    sub = db.Column(db.String(36), nullable=False, index=True)
    deleted_at = db.Column(db.DateTime, nullable=False, default=clock.now)
