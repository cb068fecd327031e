"""Typed domain errors: a stable id plus a translatable message for people.

OAuth protocol errors are Authlib's OAuth2Error subclasses, not these.
"""
from flask_babel import lazy_gettext as _l


class IdpError(Exception):
    id = "idp_error"
    title = _l("Something went wrong")  # the page's heading
    message = _l("Something went wrong. Please try again.")
    status = 400

    def __init__(self, message=None, **params):
        super().__init__(self.id)
        if message is not None:
            self.message = message
        self.params = params

    def __str__(self):
        return str(self.message) % self.params if self.params else str(self.message)


class NotFound(IdpError):
    id = "not_found"
    message = _l("The page you were looking for does not exist.")
    status = 404


class KioskOnly(IdpError):
    id = "kiosk_only"
    title = _l("Only on the building's touch screen")
    message = _l("This sign-in works only on the building's own touch screen.")
    status = 403


class FlowExpired(IdpError):
    id = "flow_expired"
    message = _l("This page was open too long and has expired. Please start again.")
    status = 410

    def __init__(self, again: str | None = None):
        super().__init__()
        self.again = again  # where the journey starts anew: the service's own request, when known


class JourneyEnded(FlowExpired):
    """The journey was ended before it was done: the account's password changed, or it was
    logged out everywhere, after it began (services/journeys.py). Its kind of flow says
    what happened and what to do (Flow.ended)."""
    id = "journey_ended"

    def __init__(self, *, title, message, kind: str, because: str, identity_id: int | None,
                 again: str | None = None):
        super().__init__(again=again)
        self.title, self.message = title, message
        self.kind, self.because, self.identity_id = kind, because, identity_id


class InvalidCredentials(IdpError):
    id = "invalid_credentials"
    message = _l("The email address or password is incorrect, or the account is locked.")
    status = 401


class ValidationFailed(IdpError):
    id = "validation_failed"
    status = 400


class Conflict(IdpError):
    id = "conflict"
    status = 409
