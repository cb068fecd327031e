"""Authentication levels: the `acr` a login reaches from the methods (`amr`) it used."""
from __future__ import annotations

# Lowest first. A PIN session (a building's kiosk) stands alone: it never satisfies a
# password or MFA demand, and nothing steps it up.
ACR_PIN = "urn:tunnus:acr:pin"
ACR_PASSWORD = "urn:tunnus:acr:password"
ACR_MULTI_FACTOR = "urn:tunnus:acr:mfa"
# Identified by an upstream provider (bank ID): only that route reaches it.
ACR_STRONG = "urn:tunnus:acr:strong"
SECOND_FACTORS = {"otp", "hwk", "swk"}
# RFC 8176: "fed", federated authentication (an upstream OpenID provider).
FEDERATED = "fed"


def acr_for(amr: list[str]) -> str:
    if "pin" in amr:
        return ACR_PIN
    if FEDERATED in amr:
        return ACR_STRONG
    return ACR_MULTI_FACTOR if SECOND_FACTORS & set(amr) else ACR_PASSWORD
