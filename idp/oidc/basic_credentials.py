"""HTTP Basic client credentials, RFC 6749 §2.3.1: client_id and client_secret, each
form-urlencoded, joined by ':', base64-encoded in the Authorization header.

Authlib's reader lets a UnicodeDecodeError (bytes that are not UTF-8) or a ValueError
(a header that is not ASCII) out, and every caller crashed with it. This is the one
reader for all of them: the limits (which client a request names, before it is
authenticated), the fast path, and Server.authenticate_client, which refuses such a
header as invalid_client, 401, before Authlib's client_secret_basic reads it again.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749.util import extract_basic_authorization


class Malformed(ValueError):
    """A Basic header that cannot be read; the message says so, to the client."""


def read(authorization: str | None) -> tuple[str | None, str | None]:
    """(client_id, client_secret) of a Basic header; (None, None) without one, or with
    another scheme or with base64 Authlib cannot decode (no client is named then)."""
    if not authorization:
        return None, None
    try:
        return extract_basic_authorization({"Authorization": authorization})
    except ValueError:  # UnicodeDecodeError included
        raise Malformed("The Basic credentials must be base64 of UTF-8 'client_id:client_secret'.") from None
