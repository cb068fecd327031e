"""Response headers every page carries: a strict CSP with per-response nonces, no
framing, no referrer leaking flow URLs to other sites, HSTS over https, no caching of
personal pages."""
from __future__ import annotations

import secrets

from flask import current_app, g


def nonce() -> str:
    """The nonce this response's CSP allows; put it on any <script> a template needs."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def allow_frames(origins: list[str]) -> None:
    """Let this response's page frame exactly these origins (front-channel logout)."""
    g.csp_frame_src = sorted(set(origins))


def policy(script_nonce: str, frame_src: list[str] | None = None) -> str:
    """The Content-Security-Policy allowing scripts with this nonce (and frames from these origins)."""
    return (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{script_nonce}'; "
        "style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        + (f"; frame-src {' '.join(frame_src)}" if frame_src else "")
    )


def fixed(secure: bool) -> list[tuple[str, str]]:
    """The headers every answer carries besides its CSP."""
    headers = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
               ("Cross-Origin-Opener-Policy", "same-origin")]
    if secure:
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def apply(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy(nonce(), g.get("csp_frame_src")))
    for name, value in fixed(current_app.config["SESSION_COOKIE_SECURE"]):
        headers.setdefault(name, value)
    if response.mimetype == "text/html":
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app) -> None:
    app.after_request(apply)
    app.jinja_env.globals["csp_nonce"] = nonce
