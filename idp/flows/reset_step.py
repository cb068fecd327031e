"""The login step of a forgotten-password reset on an account with a second factor.

The mailed code or link proves only the mailbox: such a reset goes on as a login whose
second-factor step comes first, and this step (choosing the new password, in the
recovery flow) after it. Until it is done the login cannot finish, so the second
factor alone never signs anyone in; and the password changes, and other sessions end,
only once both the mailbox and the second factor are proven.
"""
from __future__ import annotations

STEP = "reset_password"


class ResetPasswordStep:
    name = STEP

    def needed(self, flow, identity) -> bool:
        return flow.resetting_password

    def url(self, flow) -> str:
        from flask import url_for

        return url_for("recovery.password", flow_id=flow.data["recovery_id"])
