"""OpenID Connect Back-Channel Logout 1.0: tell relying services that a session ended.

When a session ends, `notify` queues (in the same transaction) one LogoutNotification per
client that got tokens in that session and registered a backchannel_logout_uri (§2.2).
Right after the commit a background thread posts each one a signed logout token (§2.4,
§2.5), so a slow relying service never holds up the person; failures are retried with
growing delays by `tunnus logouts send [--loop]` (§2.8).
"""
from __future__ import annotations

import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import sqlalchemy as sa
from flask import current_app, has_app_context
from joserfc import jwt

from ..extensions import db
from ..models import Client, Identity, LogoutNotification, Token
from . import audit, clock, leases, outbound_http, stopping
from .keys import KeysUnavailable
from .leases import FAILED, PENDING

log = logging.getLogger(__name__)

EVENT = "http://schemas.openid.net/event/backchannel-logout"
SENT = "sent"
TOKEN_TTL = 120
_QUEUED = "idp.backchannel.queued"


class PermanentFailure(Exception):
    """The relying service refused the logout token (4xx): sending it again cannot help."""


def notify(sids: list[str]) -> list[LogoutNotification]:
    """Queue a notification for each client that got tokens in these sessions and listens
    for logouts. The caller commits; delivery starts after the commit."""
    if not sids:
        return []
    rows = db.session.execute(
        db.select(Token.client_id, Token.sid, Identity.sub)
        .join(Client, Client.id == Token.client_id)
        .join(Identity, Identity.id == Token.identity_id)
        .where(Token.sid.in_(sids), Client.backchannel_logout_uri.is_not(None))
        .distinct()
    ).all()
    queued = [LogoutNotification(client_id=client_id, sid=sid, sub=sub, status=PENDING, attempts=0,
                                 next_attempt_at=clock.now()) for client_id, sid, sub in rows]
    db.session.add_all(queued)
    db.session.info.setdefault(_QUEUED, []).extend(queued)
    return queued


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _committed(session) -> None:
    queued = session.info.pop(_QUEUED, None)
    if queued and has_app_context():
        deliver_soon([sa.inspect(notification).identity[0] for notification in queued])


@sa.event.listens_for(sa.orm.Session, "after_rollback")
def _rolled_back(session) -> None:
    session.info.pop(_QUEUED, None)


_running: set[threading.Thread] = set()
_running_lock = threading.Lock()


def deliver_soon(ids: list[int]) -> None:
    """A first attempt in a thread of this process, outside the request that ended the session."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_deliver_in_thread, args=(app, ids), name="backchannel-logout")
    with _running_lock:
        _running.add(thread)
    thread.start()


def _deliver_in_thread(app, ids: list[int]) -> None:
    try:
        with app.app_context():
            deliver(ids)
    except KeysUnavailable as error:  # the keys folder gone a while: the sender tries again later
        log.warning("back-channel logout delivery of %s waits for the signing keys: %s", ids, error)
    except Exception:  # a thread has nobody to raise to: what failed stays pending for the sender
        log.exception("back-channel logout delivery of %s failed", ids)
    finally:
        with _running_lock:
            _running.discard(threading.current_thread())


def wait(timeout: float = 10.0) -> bool:
    """Wait until the deliveries started by this process are done (tests, shutdown)."""
    deadline = time.monotonic() + timeout
    while True:
        with _running_lock:
            running = list(_running)
        if not running:
            return True
        if time.monotonic() >= deadline:
            return False
        running[0].join(max(0.0, deadline - time.monotonic()))


def deliver(ids: list[int]) -> dict:
    return _deliver(LogoutNotification.id.in_(ids))


def deliver_due(limit: int = 100) -> dict:
    """Attempt every notification whose time has come; counts by outcome."""
    given_up = leases.abandoned(LogoutNotification, current_app.config["IDP_BACKCHANNEL_MAX_ATTEMPTS"])
    for notification_id in given_up:
        _audit(db.session.get(LogoutNotification, notification_id))
    db.session.commit()
    counts = _deliver(sa.true(), limit)
    counts[FAILED] += len(given_up)
    return counts


def pending_count() -> int:
    return leases.waiting(LogoutNotification)


def _deliver(which, limit: int | None = None) -> dict:
    """Each due notification in turn: claim it (a lease: idp/services/leases.py), commit,
    post without holding a database connection, record. One at a time, so a lease covers
    one post: a batch claimed at once could outlast its lease behind slow services and be
    posted again by another sender. A relying service that answers slowly costs a thread's
    wait, never a connection from the pool that requests need."""
    config = current_app.config
    lease = 2 * config["IDP_BACKCHANNEL_TIMEOUT"] + 10
    due = db.session.execute(
        db.select(LogoutNotification.id)
        .where(which, leases.due(LogoutNotification, clock.now()))
        .order_by(LogoutNotification.id)
        .limit(limit)
    ).scalars().all()
    db.session.commit()
    counts = {SENT: 0, PENDING: 0, FAILED: 0}
    for notification_id in due:
        if not leases.claim(LogoutNotification, notification_id, lease, config["IDP_BACKCHANNEL_MAX_ATTEMPTS"]):
            db.session.rollback()
            continue  # another sender took it meanwhile
        notification = db.session.get(LogoutNotification, notification_id)
        client = db.session.get(Client, notification.client_id)
        uri = client.backchannel_logout_uri
        token = logout_token(client, notification) if uri else None
        db.session.commit()
        with leases.in_hand(LogoutNotification, notification_id):
            error = _send(uri, token)
        notification = db.session.get(LogoutNotification, notification_id)
        if notification is None:  # its client was deleted while it was on its way: nothing to record
            db.session.commit()
            continue
        _record(notification, error)
        counts[notification.status] += 1
        db.session.commit()
    return counts


def logout_token(client: Client, notification: LogoutNotification) -> str:
    """§2.4: signed like the client's ID tokens; a new jti and lifetime for every attempt."""
    alg = client.id_token_signed_response_alg
    key = current_app.extensions["idp.keys"].signing_key(alg)
    now = clock.timestamp()
    claims = {"iss": current_app.config["IDP_ISSUER"], "aud": client.client_id, "iat": now, "exp": now + TOKEN_TTL,
              "jti": secrets.token_urlsafe(16), "sub": notification.sub, "sid": notification.sid,
              "events": {EVENT: {}}}
    return jwt.encode({"alg": alg, "typ": "logout+jwt", "kid": key.kid}, claims, key.key)


def _send(uri: str | None, token: str | None) -> Exception | None:
    """Post the logout token; what went wrong, if anything (PermanentFailure: do not retry)."""
    if not uri:
        return PermanentFailure("the client no longer has a backchannel_logout_uri")
    try:
        with stopping.interruptible():
            _post(uri, token, current_app.config["IDP_BACKCHANNEL_TIMEOUT"])
    except ValueError as error:  # a URI that cannot be sent to (a host IDNA refuses, ...)
        return PermanentFailure(f"the backchannel_logout_uri cannot be used: {error}")
    except Exception as error:  # the network, the service, or its answer: try again later
        return error
    return None


def _record(notification: LogoutNotification, error: Exception | None) -> None:
    config = current_app.config
    client = db.session.get(Client, notification.client_id)
    if error is None:
        notification.status, notification.sent_at, notification.last_error = SENT, clock.now(), None
    elif isinstance(error, PermanentFailure):
        notification.status, notification.last_error = FAILED, leases.said(str(error))
    else:
        leases.retry_later(notification, f"{type(error).__name__}: {error}", config["IDP_BACKCHANNEL_MAX_ATTEMPTS"],
                           first_delay=10)
        log.warning("back-channel logout %s to %s not delivered: %s", notification.id, client.client_id,
                    notification.last_error)
    if notification.status != PENDING:
        _audit(notification)


def _audit(notification: LogoutNotification) -> None:
    """A notification's end: sent, or given up."""
    audit.record("logout.backchannel", "success" if notification.status == SENT else "failure",
                 client_id=db.session.get(Client, notification.client_id).client_id, sid=notification.sid,
                 attempts=notification.attempts, error=notification.last_error)


def _post(uri: str, token: str, timeout: float) -> None:
    request = urllib.request.Request(uri, data=urlencode({"logout_token": token}).encode(), method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded",
                                              "User-Agent": "Tunnus back-channel logout"})
    try:
        with outbound_http.opener(timeout).open(request, timeout=timeout) as response:
            response.read(4096)
    except urllib.error.HTTPError as error:
        if error.code < 500 and error.code not in (408, 429):
            raise PermanentFailure(f"HTTP {error.code} {error.reason}") from error
        raise
