"""Cross-origin calls from browser-based apps (OAuth 2.0 for Browser-Based Applications,
and the public clients `tunnus clients create --public` registers): the app's own script
redeems its code at /token, reads /userinfo and revokes at /revoke. None of them reads a
cookie (the app proves itself with PKCE, its refresh token or its access token), so any
origin may call them and read the answer: `*`, never with credentials. Errors carry the
same headers, so the app can read why it was refused. Discovery and JWKS set theirs in
their own views.
"""
from __future__ import annotations

from flask import request

PATHS = frozenset({"/par", "/token", "/userinfo", "/revoke"})
HEADERS = [("Access-Control-Allow-Origin", "*"),
           # A script reads only the safelisted headers unless told: these explain a refusal.
           ("Access-Control-Expose-Headers", "WWW-Authenticate, Retry-After")]
PREFLIGHT = [("Access-Control-Allow-Methods", "GET, POST"),
             # DPoP: the app's proof of its key (RFC 9449 §4.1).
             ("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP"),
             ("Access-Control-Max-Age", "600")]


def init_app(app) -> None:
    app.after_request(_allow)


def _allow(response):
    if request.path in PATHS:
        response.headers.extend(HEADERS)
        if request.method == "OPTIONS":
            response.headers.extend(PREFLIGHT)
    return response
