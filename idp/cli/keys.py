"""`tunnus keys rotate|list`."""
from __future__ import annotations

import datetime as dt

import click
import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..services import audit, clock
from ..services.keys import KeysUnavailable, no_keys
from . import text_arguments
from .output import emit, json_option

group = text_arguments.Group("keys", help="Signing keys.")


def _when(ts):
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


@group.command("rotate")
@json_option
def rotate(as_json):
    """Add new keys: published now, signing after IDP_KEY_PUBLISH_DELAY."""
    created = current_app.extensions["idp.keys"].rotate()
    try:
        audit.record("keys.rotated", kids=[k.kid for k in created])
        db.session.commit()
    except sa.exc.SQLAlchemyError as error:  # the keys are made all the same: say what is missing
        db.session.rollback()
        click.echo(f"warning: the rotation is not in the audit records ({type(getattr(error, 'orig', None) or error).__name__}); "
                   "is the database migrated (`tunnus db upgrade`)?", err=True)
    rows = [{"kid": k.kid, "alg": k.alg, "signs_from": _when(k.activates_at)} for k in created]
    emit(rows, as_json, "\n".join(f"{r['alg']} {r['kid']} signs from {r['signs_from']}" for r in rows))


@group.command("list")
@json_option
def list_(as_json):
    """List the signing keys: which sign now and which are only published."""
    store = current_app.extensions["idp.keys"]
    try:
        published = store.published()
    except KeysUnavailable:  # no folder yet: a deployment before its first rotate
        raise no_keys(store.directory) from None
    now = clock.timestamp()
    rows = [{"kid": k.kid, "alg": k.alg, "signing": k.signs_at(now), "signs_from": _when(k.activates_at),
             "retired_at": _when(k.retired_at)} for k in published]
    emit(rows, as_json, "\n".join(_schedule(r, now) for r in rows))


def _schedule(row: dict, now: int) -> str:
    """One key's line: what it does now and when that changes, as an operator rotating
    needs to know (a new key waits out IDP_KEY_PUBLISH_DELAY; an old one stops signing)."""
    state = "signing" if row["signing"] else "published"
    if not row["signing"] and row["retired_at"] is None:
        state += f", signs from {row['signs_from']}"
    elif row["retired_at"] is not None:
        ended = dt.datetime.fromisoformat(row["retired_at"]).timestamp() <= now
        state += f", {'stopped signing at' if ended else 'stops signing at'} {row['retired_at']}"
    return f"{row['alg']} {row['kid']} {state}"
