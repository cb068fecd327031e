"""SQLAlchemy tables, one module per aggregate. Importing this registers them all."""
from .audit import AuditEvent
from .campaign import Campaign, CampaignMember
from .client import Client, UsedAssertion
from .credentials import KioskPin, Passkey, RecoveryCode, TotpCredential
from .erasure import Erasure
from .flow import Flow
from .grants import AuthorizationCode, Consent, RevokedAccessToken, Token
from .identity import Identity
from .legacy import LegacyAccount
from .logout import LogoutNotification
from .organisation import Invitation, Membership, Organisation, ServiceRight
from .outbox import OutboxMail
from .pushed_request import PushedRequest
from .session import LoginSession
from .upstream import UpstreamLink, UpstreamProvider

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "Campaign",
    "CampaignMember",
    "Client",
    "Consent",
    "Erasure",
    "Flow",
    "Identity",
    "Invitation",
    "KioskPin",
    "LegacyAccount",
    "LoginSession",
    "LogoutNotification",
    "Membership",
    "Organisation",
    "OutboxMail",
    "Passkey",
    "PushedRequest",
    "RecoveryCode",
    "RevokedAccessToken",
    "ServiceRight",
    "Token",
    "TotpCredential",
    "UpstreamLink",
    "UpstreamProvider",
    "UsedAssertion",
]
