"""The password method: the first factor of a login."""
from ..services import identities

# Authentication context class for a password-only login (OIDC Core §2, acr).
ACR = "urn:tunnus:acr:password"


def authenticate(email: str, password: str, *, origin):
    return identities.authenticate(email, password, origin=origin)
