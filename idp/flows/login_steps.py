"""What a login must still do after the first factor, in order.

Each step says whether it is needed for this person and where they do it; its page
calls LoginFlow.complete_step (or, as the campaign's, is needed no more once done) and
sends them back to /login/<id>/continue. New
requirements (second factor, campaign actions...) are added to STEPS.
"""
from __future__ import annotations

from typing import Protocol

from ..methods.second_factor import SecondFactorStep
from .campaign import CampaignStep
from .reset_step import ResetPasswordStep


class Step(Protocol):
    name: str

    def needed(self, flow, identity) -> bool: ...

    def url(self, flow) -> str: ...


# The second factor first: a password reset (ResetPasswordStep) changes the password, and
# a campaign asks, only once the person has given it.
STEPS: list[Step] = [SecondFactorStep(), ResetPasswordStep(), CampaignStep()]
