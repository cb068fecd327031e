"""A copy of what Tunnus holds about one person (GDPR Art. 15 access, Art. 20 portability),
downloaded from their account page or printed by an operator for a request made by post.

The document covers what account_deletion.py counts as theirs, and the audit records that
outlive it. It holds no secret, hash, token or code, nor anything that would let someone
holding the file sign in or step into a session: no password or PIN hash, no TOTP seed,
no passkey key, no session id. Of audit records it gives what happened, not the details,
which may name other people (the members an admin added). Keys are stable within a
`format`; a change that renames or drops one raises it. Times are UTC, ISO 8601.
"""
from __future__ import annotations

import datetime as dt
import json

from flask import current_app

from ..errors import NotFound
from ..extensions import db
from ..models import (AuditEvent, Campaign, CampaignMember, Client, Consent, Identity, KioskPin, LegacyAccount,
                      LoginSession, OutboxMail, Passkey, RecoveryCode, ServiceRight, TotpCredential,
                      UpstreamLink, UpstreamProvider)
from . import audit, clock, collation, organisations
from .audit import Origin

FORMAT = 1


def export(identity: Identity, *, origin: Origin, **details) -> str:
    """The document as the file's JSON text, with the export audited (`details` say who
    asked, and why); NotFound once the account is gone.

    The person's row held first (Identity.hold), as every record naming them: deleting the
    account at this moment waits for the copy and its record, or comes first and there is
    nothing to copy. Read again under it: an email change just confirmed is in the copy."""
    if not Identity.hold(identity.id):
        raise NotFound()
    db.session.refresh(identity)
    document = _document(identity)
    audit.record("identity.data_exported", origin=origin, identity=identity, **details)
    db.session.commit()
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def _document(identity: Identity) -> dict:
    return {
        "format": FORMAT,
        "issuer": current_app.config["IDP_ISSUER"],
        "exported_at": _time(clock.now()),
        "profile": _profile(identity),
        "organisations": _organisations(identity),
        "invitations": _invitations(identity),
        "sessions": _sessions(identity),
        "services_allowed": _consents(identity),
        "old_accounts": _old_accounts(identity),
        "strong_identification": _identifications(identity),
        "second_factors": _second_factors(identity),
        "kiosk_pin": _kiosk_pin(identity),
        "campaigns": _campaigns(identity),
        "mail": _mail(identity),
        "audit_events": _audit_events(identity),
    }


def _time(value: dt.datetime | None) -> str | None:
    return None if value is None else value.replace(tzinfo=dt.timezone.utc).isoformat()


def _rows(query) -> list:
    return list(db.session.execute(query).all())


def _service(client: Client | None) -> dict:
    return {"service": client.name if client else None, "client_id": client.client_id if client else None}


def _profile(identity: Identity) -> dict:
    return {
        "sub": identity.sub,
        "email": identity.email,
        "email_verified": identity.email_verified,
        "name": identity.name,
        "phone": identity.phone,
        "language": identity.locale,
        "verified_name": identity.verified_name,
        "strongly_identified_at": _time(identity.strongly_identified_at),
        "operator": identity.is_operator,
        "created_at": _time(identity.created_at),
        "updated_at": _time(identity.updated_at),
    }


def _organisations(identity: Identity) -> list[dict]:
    return [{
        "name": member.organisation.name,
        "business_id": member.organisation.business_id,
        "role": member.role,
        "display_name": member.display_name,
        "member_since": _time(member.created_at),
        "service_rights": [{**_service(client), "granted_at": _time(right.granted_at)} for right, client in
                           collation.by_name(_rows(
                               db.select(ServiceRight, Client).join(Client, Client.id == ServiceRight.client_id)
                               .where(ServiceRight.membership_id == member.id)), lambda row: row[1].name)],
    } for member in organisations.memberships_of(identity)]


def _invitations(identity: Identity) -> list[dict]:
    return [{"organisation": organisations.get(invitation.organisation_id).name, "role": invitation.role,
             "invited_at": _time(invitation.created_at), "expires_at": _time(organisations.expires_at(invitation))}
            for invitation in organisations.invitations_waiting_for(identity)]


def _sessions(identity: Identity) -> list[dict]:
    found = db.session.execute(db.select(LoginSession).where(LoginSession.identity_id == identity.id)
                               .order_by(LoginSession.created_at, LoginSession.id)).scalars()
    return [{
        "started_at": _time(entry.created_at),
        "last_seen_at": _time(entry.last_seen_at),
        "expires_at": _time(entry.expires_at),
        "ended_at": _time(entry.ended_at),
        "ip": entry.ip,
        "user_agent": entry.user_agent,
        "methods": list(entry.amr or []),
        "remembered": entry.remember,
        "kiosk": _service(db.session.get(Client, entry.kiosk_client_id)) if entry.kiosk_client_id else None,
    } for entry in found]


def _consents(identity: Identity) -> list[dict]:
    return [{**_service(client), "scope": consent.scope, "claims": consent.claims.split(),
             "allowed_at": _time(consent.granted_at)}
            for consent, client in _rows(db.select(Consent, Client).join(Client, Client.id == Consent.client_id)
                                         .where(Consent.identity_id == identity.id).order_by(Consent.granted_at))]


def _old_accounts(identity: Identity) -> list[dict]:
    found = db.session.execute(db.select(LegacyAccount).where(LegacyAccount.identity_id == identity.id)
                               .order_by(LegacyAccount.system, LegacyAccount.login_name)).scalars()
    return [{
        "system": account.system,
        "user_name": account.login_name,
        "id_in_system": account.legacy_id,
        "email": account.email,
        "name": account.name,
        "phone": account.phone,
        "created_at": _time(account.legacy_created_at),
        "last_login_at": _time(account.legacy_last_login_at),
        "organisation_business_id": account.org_business_id,
        "organisation_role": account.org_role,
        "imported_at": _time(account.imported_at),
        "old_password_retired_at": _time(account.password_retired_at),
    } for account in found]


def _identifications(identity: Identity) -> list[dict]:
    return [{"provider": provider.name, "subject": link.subject, "verified_name": link.verified_name,
             "linked_at": _time(link.linked_at), "identified_at": _time(link.identified_at)}
            for link, provider in _rows(
                db.select(UpstreamLink, UpstreamProvider).join(UpstreamProvider,
                                                               UpstreamProvider.id == UpstreamLink.upstream_id)
                .where(UpstreamLink.identity_id == identity.id).order_by(UpstreamLink.linked_at))]


def _second_factors(identity: Identity) -> dict:
    app = db.session.execute(db.select(TotpCredential).filter_by(identity_id=identity.id)).scalar_one_or_none()
    codes = db.session.execute(db.select(RecoveryCode).filter_by(identity_id=identity.id)).scalars().all()
    passkeys = db.session.execute(db.select(Passkey).filter_by(identity_id=identity.id)
                                  .order_by(Passkey.created_at, Passkey.id)).scalars()
    return {
        "authenticator_app": None if app is None else {"started_at": _time(app.created_at),
                                                      "confirmed_at": _time(app.confirmed_at)},
        "recovery_codes": {"issued": len(codes), "left": sum(code.used_at is None for code in codes)},
        "passkeys": [{"name": key.name, "created_at": _time(key.created_at), "last_used_at": _time(key.last_used_at)}
                     for key in passkeys],
    }


def _kiosk_pin(identity: Identity) -> dict:
    found = db.session.execute(db.select(KioskPin).filter_by(identity_id=identity.id)).scalar_one_or_none()
    return {"set": found is not None, "set_at": _time(found and found.set_at),
            "locked_at": _time(found and found.locked_at)}


def _campaigns(identity: Identity) -> list[dict]:
    return [{
        "campaign": campaign.name,
        "email_verified_at": _time(member.email_verified_at),
        "password_changed_at": _time(member.password_changed_at),
        "completed_at": _time(member.completed_at),
        "last_mailed_at": _time(member.last_mailed_at),
        "link_opened_at": _time(member.link_opened_at),
        "reminders_sent": member.reminders_sent,
        "snoozed_at": _time(member.snoozed_at),
        "bounced_at": _time(member.bounced_at),
        "bounce_reason": member.bounce_reason,
    } for member, campaign in _rows(db.select(CampaignMember, Campaign)
                                    .join(Campaign, Campaign.id == CampaignMember.campaign_id)
                                    .where(CampaignMember.identity_id == identity.id).order_by(Campaign.created_at))]


def _mail(identity: Identity) -> list[dict]:
    # Not the subject nor the text: they carry the codes and links that were sent.
    found = db.session.execute(db.select(OutboxMail).where(OutboxMail.identity_id == identity.id)
                               .order_by(OutboxMail.created_at, OutboxMail.id)).scalars()
    return [{"kind": message.kind, "to": message.recipient, "status": message.status,
             "created_at": _time(message.created_at), "sent_at": _time(message.sent_at)} for message in found]


def _audit_events(identity: Identity) -> list[dict]:
    # client_id as recorded: the service may have been removed since.
    return [{"at": _time(entry.at), "event": entry.event, "result": entry.result, "ip": entry.ip,
             "service": client.name if client else None, "client_id": entry.client_id}
            for entry, client in _rows(db.select(AuditEvent, Client)
                                       .outerjoin(Client, Client.client_id == AuditEvent.client_id)
                                       .where(AuditEvent.identity_id == identity.id)
                                       .order_by(AuditEvent.at, AuditEvent.id))]
