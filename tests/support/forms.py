"""Forms as if fetched earlier: their CSRF tokens carry an older time."""
from __future__ import annotations

import time
from contextlib import contextmanager

import flask_wtf.csrf
import pytest


@contextmanager
def made_hours_ago(hours: float):
    """Pages rendered inside carry CSRF tokens signed `hours` ago. Only the tokens' signer
    is moved, not the clock that sessions and flows keep."""

    class Earlier(flask_wtf.csrf.URLSafeTimedSerializer):
        def make_signer(self, salt=None):
            signer = super().make_signer(salt)
            signer.get_timestamp = lambda: int(time.time() - hours * 3600)
            return signer

    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(flask_wtf.csrf, "URLSafeTimedSerializer", Earlier)
        yield
