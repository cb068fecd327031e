"""SQLAlchemy tables, one module per aggregate. Importing this registers them all."""
from .audit import AuditEvent
from .client import Client
from .flow import Flow
from .grants import AuthorizationCode, Consent, Token
from .identity import Identity
from .legacy import LegacyAccount
from .organisation import Invitation, Membership, Organisation, ServiceRight
from .outbox import OutboxMail
from .session import LoginSession

__all__ = [
    "AuditEvent",
    "AuthorizationCode",
    "Client",
    "Consent",
    "Flow",
    "Identity",
    "Invitation",
    "LegacyAccount",
    "Membership",
    "Organisation",
    "ServiceRight",
    "LoginSession",
    "OutboxMail",
    "Token",
]
