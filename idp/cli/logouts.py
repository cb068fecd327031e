"""`tunnus logouts send [--loop]`: deliver back-channel logout notifications, retrying
those the first attempt (right after the session ended) could not deliver; first end the
kiosk sessions left idle, whose relying services are told the same way."""
from __future__ import annotations

from ..services import backchannel, kiosk_sessions
from . import text_arguments
from .output import deliver_rounds, interval_option, loop_option, json_option

group = text_arguments.Group("logouts", help="Back-channel logout notifications to relying services.")


@group.command("send")
@loop_option
@interval_option
@json_option
def send(loop, interval, as_json):
    """Retry back-channel logout notifications and end idle kiosk sessions, once or with --loop."""
    deliver_rounds(_round, backchannel.pending_count, loop, interval, as_json)


def _round() -> dict:
    ended = kiosk_sessions.end_idle()
    # Their first attempts run in threads of this process: done before the retries are
    # looked at, so that none is sent twice (SQLite has no row locks to prevent it).
    backchannel.wait(60)
    return {**backchannel.deliver_due(), "kiosk_sessions_ended": ended}
