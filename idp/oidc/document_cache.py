"""Discovery (OIDC Discovery 1.0 §4) and JWKS (RFC 7517 §5) served from bytes rendered once.

Relying services fetch these two documents far more often than anything else, and they
change only when the configuration or the published keys do. The Flask views stay the one
definition of each document; this WSGI middleware renders a document through them once
per version (JWKS: the published key ids, which follow a rotation in any process sharing
the key folder) and then answers GET and HEAD from the bytes, with an ETag so a cache can
revalidate with If-None-Match (RFC 9110 §13.1.2). Each answer still gets its own CSP
nonce, request id and access line and is counted in the latency metrics, as if Flask
had answered it.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from werkzeug.http import parse_etags

from ..metrics import LATENCY
from ..web import access_log, request_id, security_headers

CONDITIONAL = ("HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH", "HTTP_IF_UNMODIFIED_SINCE")
# Headers of one answer, not of the document.
PER_RESPONSE = {"content-security-policy", "set-cookie", "date", "server", "x-request-id"}


@dataclass(frozen=True)
class Rendered:
    version: object
    status: str
    headers: list
    body: bytes
    etag: str


class DocumentCache:
    def __init__(self, wsgi_app, documents: dict[str, Callable[[], object]], access_lines: bool):
        """`documents` maps a path to a function giving the current version of its document."""
        self.wsgi_app = wsgi_app
        self.documents = documents
        self.access_lines = access_lines
        self.rendered: dict[str, Rendered] = {}
        self.latency = {(path, method): LATENCY.labels(path, method) for path in documents for method in ("GET", "HEAD")}

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        method = environ.get("REQUEST_METHOD")
        version_of = self.documents.get(path)
        if version_of is None or method not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        try:
            version = version_of()
        except LookupError:  # the keys folder cannot be read: the view answers 503, never cached
            return self.wsgi_app(environ, start_response)
        document = self.rendered.get(path)
        counted = False  # Flask's own hooks count and log a request it renders
        if document is None or document.version != version:
            document = self._render(environ, version)
            if document is None:  # not a 200: let Flask answer this request as usual
                return self.wsgi_app(environ, start_response)
            self.rendered[path] = document
            counted = True
        rid = request_id.chosen(environ.get("HTTP_X_REQUEST_ID"))
        headers = document.headers + [
            ("X-Request-ID", rid), ("Content-Security-Policy", security_headers.policy(secrets.token_urlsafe(16)))]
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match and parse_etags(if_none_match).contains_weak(document.etag.strip('"')):
            status = 304
            start_response("304 Not Modified", [h for h in headers if h[0] not in ("Content-Type", "Content-Length")])
            body = b""
        else:
            status = 200
            start_response(document.status, headers)
            body = b"" if method == "HEAD" else document.body
        if not counted:
            self.latency[path, method].observe(time.perf_counter() - started)
            if self.access_lines:
                access_log.write_answered(environ, status, started, rid)
        return [body]

    def _render(self, environ, version) -> Rendered | None:
        """The document as the Flask view answers a plain GET for it now."""
        plain = {k: v for k, v in environ.items() if k not in CONDITIONAL}
        plain["REQUEST_METHOD"] = "GET"
        captured = []

        def start_response(status, headers, exc_info=None):
            captured.append((status, headers))

        chunks = self.wsgi_app(plain, start_response)
        try:
            body = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
        status, headers = captured[0]
        if not status.startswith("200 "):
            return None
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        kept = [(k, v) for k, v in headers if k.lower() not in PER_RESPONSE and k.lower() != "etag"]
        return Rendered(version, status, kept + [("ETag", etag)], body, etag)


def init_app(app) -> None:
    keys = app.extensions["idp.keys"]
    app.wsgi_app = DocumentCache(app.wsgi_app, {
        "/.well-known/openid-configuration": lambda: None,  # built from settings at start
        "/jwks": keys.published_kids,
    }, app.config["IDP_ACCESS_LOG"])
