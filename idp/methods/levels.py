"""Authentication levels: the `acr` a login reaches from the methods (`amr`) it used."""
from __future__ import annotations

ACR_PASSWORD = "urn:tunnus:acr:password"
ACR_MULTI_FACTOR = "urn:tunnus:acr:mfa"
SECOND_FACTORS = {"otp", "hwk", "swk"}


def acr_for(amr: list[str]) -> str:
    return ACR_MULTI_FACTOR if SECOND_FACTORS & set(amr) else ACR_PASSWORD
