"""Which redirect URIs a client may register, and which requested URI matches a registered
one.

Web services: https (plain http on a loopback address, for development), no fragment,
matched exactly (RFC 9700 §4.1.3). Native apps (public clients, RFC 8252) may also use
a private-use scheme named after a domain they own (`com.example.app:/callback`, §7.1),
and a loopback IP redirect matches whatever port the app was given by the operating
system at run time (§7.3; RFC 9700 §2.1 makes this one exception to the exact match).
"""
from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from ..errors import ValidationFailed

# What a URI is written in (RFC 3986 §2): ASCII, without spaces, quotes or backslashes
# (percent-encoded, they are). So an error description may quote one (RFC 6749 §5.2).
URI_TEXT = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


MAX_LENGTH = 2000  # the columns of the logout URIs and jwks_uri; browsers cut URLs near it


def check(uri: str, native: bool = False) -> str:
    """`uri` if it may be registered, else ValidationFailed saying why."""
    if len(uri) > MAX_LENGTH:
        raise ValidationFailed(f"a URI is at most {MAX_LENGTH} characters, not {len(uri)}")
    if not URI_TEXT.fullmatch(uri):
        raise ValidationFailed(f"{uri!r}: a URI is ASCII without spaces, quotes or backslashes (a host name "
                               "as its xn-- form, e.g. xn--ml-fkab.fi for mölö.fi; percent-encode any other "
                               "character, e.g. %C3%A4 for ä)")
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        raise ValidationFailed(f"{uri!r}: not a URI ({error})") from None
    if parts.fragment:
        raise ValidationFailed(f"{uri!r}: a redirect URI must have no #fragment")
    if native and _private_use_scheme(parts.scheme):
        return uri
    if not parts.netloc:
        raise ValidationFailed(f"{uri!r}: a redirect URI must be absolute and have no #fragment")
    if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname)):
        hint = " or, for an app, a scheme of its own such as com.example.app:/callback" if native else ""
        raise ValidationFailed(f"{uri!r}: use https (plain http only on a loopback address){hint}")
    try:
        (parts.hostname or "").encode("idna")
        parts.port  # a ValueError unless a number from 0 to 65535 or none
    except UnicodeError:
        raise ValidationFailed(f"{uri!r}: the host is not a valid name") from None
    except ValueError:
        raise ValidationFailed(f"{uri!r}: the port is not a number from 0 to 65535") from None
    if "%" in (parts.hostname or ""):  # percent-encoded names are what no HTTP client sends to
        raise ValidationFailed(f"{uri!r}: the host is not a valid name")
    return uri


def matches(requested: str, registered: list[str], native: bool) -> bool:
    if requested in registered:
        return True
    # urlsplit drops tabs and line breaks: such a URI would match here, then be sent back raw.
    if not native or any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in requested):
        return False
    unported = _loopback_ip_without_port(requested)
    return unported is not None and any(_loopback_ip_without_port(uri) == unported for uri in registered)


def _private_use_scheme(scheme: str) -> bool:
    # §7.1: reverse domain name notation, so that apps do not collide on a scheme.
    return "." in scheme and scheme not in ("http", "https")


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _loopback_ip_without_port(uri: str) -> str | None:
    """The URI with its port left out, if it is http on a loopback IP literal (§7.3: not
    `localhost`, which a hostile resolver or hosts file could point elsewhere)."""
    try:
        parts = urlsplit(uri)
        parts.port  # a port that is not a number makes no match
        if parts.scheme != "http" or parts.username or parts.password or parts.fragment:
            return None
        if not ipaddress.ip_address(parts.hostname or "").is_loopback:
            return None
    except ValueError:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts._replace(netloc=host).geturl()
