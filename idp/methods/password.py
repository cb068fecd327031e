"""The password method: the first factor of a login."""
from ..services import identities



def authenticate(email: str, password: str, *, origin):
    return identities.authenticate(email, password, origin=origin)
