"""The second factor, whichever the person has: a passkey or an authenticator app (TOTP).

A login asks for it after the password (SecondFactorStep), and a signed-in session is
stepped up with it when a relying service demands more (oidc/endpoints/authorize.py).
With both set up, the passkey is offered first and each page links to the other.
"""
from __future__ import annotations

from flask import url_for

from ..extensions import db
from ..services import audit, clock
from ..services.audit import Origin
from . import levels, passkey, totp

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


def step_up(login_session, amr: str, method: str, *, origin: Origin) -> None:
    """This browser's session proved the second factor as well (a relying service asked
    for more): it keeps its sid, so its tokens and logout stay one, and rises in level."""
    methods_used = [*login_session.amr, *([] if amr in login_session.amr else [amr])]
    login_session.amr, login_session.acr = methods_used, levels.acr_for(methods_used)
    login_session.auth_time = clock.now()
    audit.record("session.stepped_up", origin=origin, identity=login_session.identity_id, sid=login_session.sid,
                 method=method)
    db.session.commit()
