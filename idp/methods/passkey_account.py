"""A person's own passkeys on the account page: add one (named, after the password),
rename one, delete one (after the password). The first passkey brings recovery codes
unless the person holds some (from TOTP); deleting the last second factor voids them.
The WebAuthn ceremonies are in passkey.py."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..errors import NotFound
from ..extensions import db
from ..models import Identity, Passkey
from ..services import account, audit, names
from ..services.account import FormRejected
from ..services.audit import Origin
from . import passkey, recovery_codes, totp

MAX_NAME_LENGTH = 100


def begin_adding(identity, browser: str, name: str, password: str, *, origin: Origin) -> tuple[str, str]:
    """(ceremony id, options JSON) once the name is fine and the password right; the
    password keeps someone holding only a stolen session from adding a way in of their own."""
    name = _checked_name(name)
    account.confirm_password(identity, password, origin=origin, event="passkey.added")
    return passkey.registration_options(identity, browser, name)


def add(identity, ceremony_id: str, browser: str, credential: str, *, origin: Origin) -> tuple[Passkey, list[str]]:
    """(the passkey added, the recovery codes to show once: none unless it is the first)."""
    first = not passkey.has_passkeys(identity)
    added = passkey.register(identity, ceremony_id, browser, credential, origin=origin)
    codes = recovery_codes.issue_unless_held(identity) if first else []
    if codes:
        audit.record("recovery_codes.issued", origin=origin, identity=identity, reason="first_passkey")
        db.session.commit()
    return added, codes


def find(identity, passkey_id: int) -> Passkey:
    found = db.session.get(Passkey, passkey_id)
    if found is None or found.identity_id != identity.id:
        raise NotFound()
    return found


def rename(identity, passkey_id: int, name: str, *, origin: Origin) -> Passkey:
    found = find(identity, passkey_id)
    found.name = _checked_name(name, field=f"name-{found.id}")
    audit.record("passkey.renamed", origin=origin, identity=identity, passkey=found.id)
    db.session.commit()
    return found


def delete(identity, passkey_id: int, password: str, *, origin: Origin) -> str:
    """Returns the deleted passkey's name."""
    found = find(identity, passkey_id)
    try:
        account.confirm_password(identity, password, origin=origin, event="passkey.deleted")
    except FormRejected as rejected:
        raise FormRejected({f"password-{found.id}": rejected.problems["current_password"]}) from rejected
    name = found.name
    # The person's row first (docs/resilience.md), then the passkey as committed now: the
    # click before may have deleted it (a double click, recorded once), and turning the app
    # off at once must see this one gone, or the recovery codes outlive both.
    Identity.lock(identity.id)
    if db.session.get(Passkey, found.id, populate_existing=True) is None:
        return name
    db.session.delete(found)
    db.session.flush()
    if not passkey.has_passkeys(identity) and not totp.enabled(identity):
        recovery_codes.replace(identity, count=0)  # they stand in for a second factor; none is left
    audit.record("passkey.deleted", origin=origin, identity=identity, passkey=passkey_id)
    db.session.commit()
    return name


def _checked_name(name: str, field: str = "name") -> str:
    name = names.one_line(name)
    if not name:
        raise FormRejected({field: _l("Give the passkey a name, such as the device it is on.")})
    if len(name) > MAX_NAME_LENGTH:
        raise FormRejected({field: _l("Use at most %(count)d characters.", count=MAX_NAME_LENGTH)})
    return name
