"""A presented token string resolved to its stored row, as access or refresh token."""
from __future__ import annotations

from dataclasses import dataclass

from ..models import Token
from ..services import clock, kiosk_sessions


@dataclass
class PresentedToken:
    row: Token
    kind: str  # "access_token" or "refresh_token"

    def check_client(self, client) -> bool:
        return self.row.check_client(client)

    def is_expired(self) -> bool:
        if self.kind == "refresh_token":
            return self.row.refresh_expires_at is None or self.row.refresh_expires_at <= clock.now()
        return self.row.is_expired()

    def is_revoked(self) -> bool:
        if self.kind == "refresh_token" and self.row.refresh_used_at is not None:
            return True
        # A kiosk's token ends with its session, even one that ended by going idle.
        return self.row.is_revoked() or not kiosk_sessions.token_usable(self.row)

    @classmethod
    def find(cls, value: str, hint: str | None) -> "PresentedToken | None":
        order = ["refresh_token", "access_token"] if hint == "refresh_token" else ["access_token", "refresh_token"]
        for kind in order:
            row = Token.by_access_token(value) if kind == "access_token" else Token.by_refresh_token(value)
            if row is not None:
                return cls(row, kind)
        return None
