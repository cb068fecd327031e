"""The second factor, whichever the person has: a passkey or an authenticator app (TOTP).

A login asks for it after the password (SecondFactorStep), and a signed-in session is
stepped up with it when a relying service demands more (oidc/endpoints/authorize.py).
With both set up, the passkey is offered first and each page links to the other; every
one links to a recovery code (recovery_codes.py), which stands in for either.
"""
from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..models import Identity, Passkey, TotpCredential
from ..services import audit, clock, sessions
from ..services.audit import SYSTEM, Origin
from . import levels, passkey, recovery_codes, totp

STEP = "second_factor"


def methods(identity) -> list[str]:
    """The person's second factors, the one offered first first."""
    return [name for name, present in (("passkey", passkey.has_passkeys(identity)), ("totp", totp.enabled(identity)))
            if present]


def proven(amr: list[str]) -> bool:
    return bool(levels.SECOND_FACTORS & set(amr))


class SecondFactorStep:
    """The login step after the password, for everyone who has a second factor; not
    needed when the first factor was one already (a passkey)."""
    name = STEP

    def needed(self, flow, identity) -> bool:
        return not proven(flow.data["amr"]) and bool(methods(identity))

    def url(self, flow) -> str:
        first = methods(flow.identity)[0]
        return url_for("passkey.login_step" if first == "passkey" else "totp.login_step", flow_id=flow.id)


def step_up_url(identity, return_to: str) -> str:
    first = methods(identity)[0]
    return url_for("passkey.step_up" if first == "passkey" else "totp.step_up", return_to=return_to)


def verify_recovery_code(identity, code: str, *, origin: Origin) -> None:
    """A recovery code instead of the second factor, used up on success, else TotpRejected.
    With TOTP, wrong codes count towards the app's lock; with passkeys only, the per-IP and
    per-account limits on the page stand guard (a code has 60 random bits)."""
    if totp.enabled(identity):
        totp.verify_recovery_code(identity, code, origin=origin)
        return
    if not recovery_codes.use(identity, code):
        audit.record("login.recovery_code", "failure", origin=origin, identity=identity, reason="wrong")
        db.session.commit()
        raise totp.TotpRejected("wrong")
    audit.record("recovery_code.used", origin=origin, identity=identity, left=recovery_codes.left(identity))
    audit.record("login.recovery_code", origin=origin, identity=identity)
    db.session.commit()


def step_up(login_session, amr: str, method: str, *, origin: Origin) -> None:
    """This browser's session proved the second factor as well (a relying service asked
    for more): it keeps its sid, so its tokens and logout stay one, and rises in level. Its
    browser gets a new key (the caller puts it in the cookie: web/browser.hold)."""
    methods_used = [*login_session.amr, *([] if amr in login_session.amr else [amr])]
    login_session.amr, login_session.acr = methods_used, levels.acr_for(methods_used)
    login_session.auth_time = clock.now()
    login_session.rekey()
    audit.record("session.stepped_up", origin=origin, identity=login_session.identity_id, sid=login_session.sid,
                 method=method)
    db.session.commit()


def reset(identity, *, reason: str, origin: Origin = SYSTEM) -> dict[str, int]:
    """Support's way out for someone who lost every second factor and their recovery
    codes (after proving who they are some other way): the authenticator app, passkeys
    and codes go, and every session and token ends, so whoever might hold the lost
    device is signed out too. The password stays; the person sets up a factor again.

    The person's row first, as every change of their second factors takes it
    (docs/resilience.md): before, the factors were deleted first, and a passkey removed
    by the person at that moment deadlocked with it."""
    Identity.lock(identity.id)
    removed = {
        "totp": db.session.execute(db.delete(TotpCredential).where(TotpCredential.identity_id == identity.id)).rowcount,
        "passkeys": db.session.execute(db.delete(Passkey).where(Passkey.identity_id == identity.id)).rowcount,
        "recovery_codes": recovery_codes.left(identity),
    }
    recovery_codes.replace(identity, count=0)
    removed["sessions_ended"] = sessions.end_all(identity, origin=origin, reason="second_factors_reset")
    audit.record("second_factors.reset", origin=origin, identity=identity, reason=reason,
                 **{key: value for key, value in removed.items() if key != "sessions_ended"})
    db.session.commit()
    return removed
