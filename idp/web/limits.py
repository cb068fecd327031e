"""Rate limits per account, on top of the per-IP ones on the same pages.

Guesses spread over many IP addresses still count against the one address (or old
user name) they are about. The key is a hash of the normalised identifier, so the limit
store (Redis) holds no email addresses or user names.
"""
from __future__ import annotations

import hashlib
from typing import Callable

import sqlalchemy as sa
from flask import current_app, g, request

from ..errors import IdpError
from ..extensions import db, limiter
from ..models.identity import normalise_email
from ..services.legacy_import.rows import normalise_login


def account_key(identifier: str | None) -> str | None:
    """An email address, or an old system's user name (login.py takes either)."""
    if "@" in (identifier or ""):
        normalised = normalise_email(identifier)[:320]
    else:
        normalised = "user name:" + normalise_login(identifier or "")[:200]
        if normalised == "user name:":
            return None
    return "account:" + hashlib.sha256(normalised.encode()).hexdigest()[:32]


def per_account(setting: str, email: Callable[[], str | None], *, scope: str | None = None, **options):
    """A limit (the IDP_* setting named) on the address `email()` gives, from any IP.

    A request naming no usable address (its flow does not load) is not counted: its own
    page refuses it. `scope` shares one count between several pages.
    """

    def key() -> str | None:
        found = g.setdefault("account_limit_keys", {})
        if email not in found:
            try:
                found[email] = account_key(email())
            except IdpError:
                found[email] = None  # the view itself answers 404 or 410
            except sa.exc.SQLAlchemyError:
                # Not a limit store failure (Flask-Limiter would switch stores): the view answers 503.
                db.session.rollback()
                found[email] = None
        return found[email]

    def value() -> str:
        return current_app.config[setting]

    options.update(key_func=key, exempt_when=lambda: key() is None)
    if scope:
        return limiter.shared_limit(value, scope=scope, **options)
    return limiter.limit(value, **options)


def mail_from_ip():
    """Posts that mail a code or a link (registration, identification): limited per IP
    together, counted only when sent (the page moves on, 302)."""
    return limiter.shared_limit(lambda: current_app.config["IDP_MAIL_RATE_LIMIT"], scope="mail", methods=["POST"],
                                deduct_when=lambda response: response.status_code == 302)


def mail_to(email: Callable[[], str | None], sent: Callable = lambda response: response.status_code == 302):
    """Mail to the address `email()` gives, from any IP and any page that mails a code or a
    link (registration, reset, change of email, an invitation): so
    nobody's inbox is flooded from many IPs. Counted only when `sent(response)` (by default,
    the page moves on: 302)."""
    return per_account("IDP_MAIL_ACCOUNT_RATE_LIMIT", email, scope="mail_to", methods=["POST"], deduct_when=sent)


def mail_at_login(email: Callable[[], str | None], scope: str):
    """Codes mailed to whoever gave the account's password (an unproven address at sign-in,
    a campaign's step), per address `email()` gives, from any IP; counted only when one
    was mailed (mailed()). Apart from mail_to, which anyone typing the address uses up
    (registration, reset): before, five strangers' registrations held the person at
    their own sign-in for an hour. Not per IP: everyone behind one (an office, a
    library's computers) would wait for the others. A `scope` of each page's own: a
    campaign's codes asked for again must not hold the person at the password step."""
    return per_account("IDP_MAIL_ACCOUNT_RATE_LIMIT", email, scope=f"mail_at_login:{scope}", methods=["POST"],
                       deduct_when=lambda _response: g.get("mailed_code", False))


def mailed() -> None:
    """This request mailed a code (mail_at_login counts it)."""
    g.mailed_code = True


def codes_of(email: Callable[[], str | None]):
    """Emailed codes typed for the address `email()` gives: all code steps together."""
    return per_account("IDP_CODE_ACCOUNT_RATE_LIMIT", email, scope="code", methods=["POST"])


def password_again():
    """On each page that asks the signed-in person's password again before a change: one
    count per account across all of them, as many as at login (IDP_LOGIN_ACCOUNT_RATE_LIMIT).
    Before, only the data download had one: someone holding a stolen session guessed the
    password from many addresses on the other pages unhindered."""
    return per_account("IDP_LOGIN_ACCOUNT_RATE_LIMIT", _signed_in_email, scope="password_again", methods=["POST"])


def signed_in_person():
    """The signed-in person's codes (a step-up's), counted per account as a login's are:
    before, only per IP, so a stolen session guessed from many addresses."""
    return per_account("IDP_LOGIN_ACCOUNT_RATE_LIMIT", _signed_in_email, methods=["POST"])


def _signed_in_email() -> str | None:
    from .browser import current_identity

    identity = current_identity()
    return identity.email if identity else None


def per_ip(setting: str, **options):
    """A limit (the IDP_* setting named) per client IP."""
    return limiter.limit(lambda: current_app.config[setting], **options)


def login_flow_email() -> str | None:
    """The address the login flow in the URL is about: its steps count per account."""
    from ..flows.login import LoginFlow
    from .browser import browser_id

    return LoginFlow.load(request.view_args["flow_id"], browser_id()).email
