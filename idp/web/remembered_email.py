"""The address a browser signed in with "remember me", suggested on the login page the
next time, also after logging out ("the page suggests the email you sign in with").

A cookie of its own, not the session: logging out clears the session, and the session
lasts only as long as the browser when "remember me" was not ticked. Signing in without
"remember me" forgets the address, as a shared computer should.
"""
from __future__ import annotations

from flask import after_this_request, current_app, request

from ..models.identity import normalise_email
from ..services.identities import valid_email

COOKIE = "tunnus_email"


def _name() -> str:
    return f"__Host-{COOKIE}" if current_app.config["SESSION_COOKIE_SECURE"] else COOKIE


def keep(email: str | None) -> None:
    """After this response the browser remembers `email`, or forgets it (None)."""
    name, secure = _name(), current_app.config["SESSION_COOKIE_SECURE"]

    @after_this_request
    def _set(response):
        if email is None:
            response.delete_cookie(name, httponly=True, samesite="Lax", secure=secure)
        else:
            response.set_cookie(name, email, max_age=current_app.config["IDP_REMEMBER_ME_TTL"], httponly=True,
                                samesite="Lax", secure=secure)
        return response


def suggested() -> str:
    email = request.cookies.get(_name(), "")
    return email if valid_email(email) else ""


def moved(old: str | None, new: str) -> None:
    """The account moved from `old` to `new`: a browser that remembered `old` remembers `new`."""
    if old and normalise_email(suggested()) == normalise_email(old):
        keep(new)
