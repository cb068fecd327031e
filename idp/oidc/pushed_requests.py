"""Pushed authorization requests, RFC 9126: kept between /par and /authorize.

A request_uri is `urn:ietf:params:oauth:request_uri:` and 256 random bits; only the
SHA-256 of the random part is stored (models/pushed_request.py). /authorize takes a
request once, in one DELETE: of two browsers (or worker processes) bringing the same
request_uri at once, one gets the parameters and the other nothing, and nothing is left
to take again. Expired ones that nobody took are deleted by `tunnus prune`.
"""
from __future__ import annotations

import datetime as dt
import secrets

from authlib.oauth2.rfc9101.errors import InvalidRequestUriError
from flask import current_app

from ..extensions import db
from ..models import Client, PushedRequest
from ..models.grants import token_hash
from ..services import clock

PREFIX = "urn:ietf:params:oauth:request_uri:"


def is_reference(request_uri: str | None) -> bool:
    """Does this request_uri name a pushed request (and not a request object elsewhere)?"""
    return (request_uri or "").startswith(PREFIX)


def keep(client: Client, params: dict) -> tuple[str, int]:
    """Store a validated request; its request_uri and the seconds it may be used in."""
    reference = secrets.token_urlsafe(32)
    lifetime = current_app.config["IDP_PAR_TTL"]
    db.session.add(PushedRequest(reference_hash=token_hash(reference), client_id=client.id, params=params,
                                 expires_at=clock.now() + dt.timedelta(seconds=lifetime)))
    db.session.commit()
    return PREFIX + reference, lifetime


def take(client_id: str | None, request_uri: str) -> dict:
    """The parameters `client_id` pushed under this request_uri, once. The caller commits:
    until then another taker waits, and a rollback puts the request back."""
    pusher = db.select(Client.id).where(Client.client_id == (client_id or "")).scalar_subquery()
    taken = db.session.execute(
        db.delete(PushedRequest)
        .where(PushedRequest.reference_hash == token_hash(request_uri[len(PREFIX):]),
               PushedRequest.client_id == pusher)
        .returning(PushedRequest.params, PushedRequest.expires_at)
    ).one_or_none()
    if taken is None:
        raise InvalidRequestUriError("The request_uri is unknown or used, or another client pushed it.")
    if taken.expires_at <= clock.now():
        raise InvalidRequestUriError("The request_uri has expired.")
    return taken.params
