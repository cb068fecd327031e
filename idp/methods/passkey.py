"""Passkeys (WebAuthn Level 3, through py_webauthn): adding one, and signing in with one.

The relying party is the issuer: its host is the RP ID and its origin the only origin
accepted. Passkeys are discoverable credentials that verify the person (PIN, biometrics),
so one alone signs in from the first login page; after a password one is the second
factor. `amr` says where the key lives (RFC 8176): "swk" for a synced passkey (backup
eligible), "hwk" for one bound to its device. Each ceremony's challenge is a
PasskeyCeremony. The pages are in web/passkey.py (login) and web/passkey_account.py.
"""
from __future__ import annotations

import secrets
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Identity, Passkey
from ..services import audit, clock, strict_json
from ..services.audit import Origin
from .passkey_ceremony import PasskeyCeremony, PasskeyRejected, b64url, unb64url

# py_webauthn (with its ASN.1 and CBOR parsers) weighs 8 MB per worker; only a passkey ceremony needs it.
if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

RP_NAME = "Tunnus"
MAX_CREDENTIAL_LENGTH = 32_000  # a JSON answer; attestation certificates make it a few kB
MAX_CREDENTIAL_ID = 1023  # bytes: WebAuthn's limit, and base64url within its column (1400)
# Purposes of a ceremony: adding a passkey, the first login step, the second factor.
REGISTER, LOGIN, SECOND_FACTOR = "register", "login", "second_factor"


def _malformed() -> tuple[type[Exception], ...]:
    """Anything the library or base64 decoding raises about a malformed or wrong answer."""
    from webauthn.helpers.exceptions import WebAuthnException
    return WebAuthnException, ValueError, TypeError, KeyError


def relying_party() -> tuple[str, str]:
    """(RP ID, origin), both from IDP_ISSUER."""
    issuer = urlsplit(current_app.config["IDP_ISSUER"])
    return issuer.hostname, f"{issuer.scheme}://{issuer.netloc}"


def passkeys_of(identity) -> list[Passkey]:
    return list(db.session.execute(
        db.select(Passkey).filter_by(identity_id=identity.id).order_by(Passkey.created_at, Passkey.id)
    ).scalars())


def has_passkeys(identity) -> bool:
    return db.session.execute(db.select(Passkey.id).filter_by(identity_id=identity.id).limit(1)).first() is not None


def registration_options(identity, browser: str, name: str) -> tuple[str, str]:
    """(ceremony id, options JSON) for navigator.credentials.create()."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    if identity.passkey_user_handle is None:
        # Random and stable: an authenticator replaces its older passkey of this person.
        identity.passkey_user_handle = b64url(secrets.token_bytes(32))
    rp_id, _ = relying_party()
    options = generate_registration_options(
        rp_id=rp_id, rp_name=RP_NAME, user_id=unb64url(identity.passkey_user_handle),
        user_name=identity.email, user_display_name=identity.name or identity.email,
        exclude_credentials=_descriptors(identity),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, user_verification=UserVerificationRequirement.REQUIRED),
    )
    ceremony = PasskeyCeremony.begin(browser, REGISTER, options.challenge, identity_id=identity.id, name=name)
    return ceremony.id, options_to_json(options)


def register(identity, ceremony_id: str, browser: str, credential: str, *, origin: Origin) -> Passkey:
    from webauthn import verify_registration_response
    from webauthn.helpers import parse_registration_credential_json
    from webauthn.helpers.structs import CredentialDeviceType

    ceremony = PasskeyCeremony.use(ceremony_id, browser, REGISTER)
    if ceremony.data.get("identity_id") != identity.id:
        raise PasskeyRejected("expired")
    rp_id, expected_origin = relying_party()
    try:
        parsed = parse_registration_credential_json(_answer(credential))
        verified = verify_registration_response(
            credential=parsed, expected_challenge=ceremony.challenge, expected_rp_id=rp_id,
            expected_origin=expected_origin, require_user_verification=True)
    except _malformed() as error:
        audit.record("passkey.added", "failure", origin=origin, identity=identity, reason="invalid")
        db.session.commit()
        raise PasskeyRejected("invalid") from error
    if len(verified.credential_id) > MAX_CREDENTIAL_ID:
        # Its column holds no more; before, on PostgreSQL, a longer one was a 500.
        audit.record("passkey.added", "failure", origin=origin, identity=identity, reason="credential_id_too_long")
        db.session.commit()
        raise PasskeyRejected("invalid")
    added = Passkey(identity_id=identity.id, credential_id=b64url(verified.credential_id),
                    public_key=b64url(verified.credential_public_key), sign_count=verified.sign_count,
                    name=ceremony.data["name"], transports=[t.value for t in parsed.response.transports or []],
                    created_at=clock.now())
    db.session.add(added)
    try:
        db.session.flush()
    except IntegrityError as taken:  # this credential is registered already (to anyone)
        db.session.rollback()
        raise PasskeyRejected("duplicate") from taken
    audit.record("passkey.added", origin=origin, identity=identity, passkey=added.id,
                 synced=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE)
    db.session.commit()
    return added


def authentication_options(browser: str, identity=None) -> tuple[str, str]:
    """(ceremony id, options JSON) for navigator.credentials.get(): any passkey of this
    site when nobody is known yet (the first step), else one of the person's."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    rp_id, _ = relying_party()
    if identity is None:
        options = generate_authentication_options(
            rp_id=rp_id, user_verification=UserVerificationRequirement.REQUIRED)
        ceremony = PasskeyCeremony.begin(browser, LOGIN, options.challenge)
    else:
        options = generate_authentication_options(
            rp_id=rp_id, allow_credentials=_descriptors(identity),
            user_verification=UserVerificationRequirement.PREFERRED)
        ceremony = PasskeyCeremony.begin(browser, SECOND_FACTOR, options.challenge, identity_id=identity.id)
    return ceremony.id, options_to_json(options)


def authenticate(ceremony_id: str, browser: str, credential: str, *, origin: Origin,
                 identity=None) -> tuple[Identity, str]:
    """(the passkey's owner, its amr value) or PasskeyRejected. With `identity` (the
    second factor) the passkey must be theirs; without, it must have verified the person."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import parse_authentication_credential_json
    from webauthn.helpers.structs import CredentialDeviceType

    ceremony = PasskeyCeremony.use(ceremony_id, browser, LOGIN if identity is None else SECOND_FACTOR)
    if identity is not None and ceremony.data.get("identity_id") != identity.id:
        raise PasskeyRejected("expired")
    try:
        parsed = parse_authentication_credential_json(_answer(credential))
    except _malformed() as error:
        raise _failed("invalid", identity, origin) from error
    # py_webauthn takes `id` as it comes (a NUL, half a character); only rawId is decoded.
    credential_id = b64url(parsed.raw_id)
    if parsed.id != credential_id:
        raise _failed("invalid", identity, origin)
    found = db.session.execute(db.select(Passkey).filter_by(credential_id=credential_id)).scalar_one_or_none()
    if found is None or (identity is not None and found.identity_id != identity.id):
        raise _failed("unknown", identity, origin)
    owner = db.session.get(Identity, found.identity_id)
    if identity is None and parsed.response.user_handle != unb64url(owner.passkey_user_handle or ""):
        raise _failed("invalid", owner, origin, passkey=found.id)
    rp_id, expected_origin = relying_party()
    try:
        verified = verify_authentication_response(
            credential=parsed, expected_challenge=ceremony.challenge, expected_rp_id=rp_id,
            expected_origin=expected_origin, credential_public_key=unb64url(found.public_key),
            credential_current_sign_count=found.sign_count, require_user_verification=identity is None)
    except _malformed() as error:
        raise _failed("invalid", owner, origin, passkey=found.id) from error
    # Advanced only from the count checked above: two answers raced in cannot both pass it.
    if db.session.execute(
        db.update(Passkey).where(Passkey.id == found.id, Passkey.sign_count == found.sign_count)
        .values(sign_count=verified.new_sign_count, last_used_at=clock.now())
    ).rowcount != 1:
        raise _failed("invalid", owner, origin, passkey=found.id)
    amr = "swk" if verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE else "hwk"
    audit.record("passkey.used", origin=origin, identity=owner, passkey=found.id, amr=amr,
                 step="first_factor" if identity is None else "second_factor")
    db.session.commit()
    return owner, amr


def _answer(credential: str):
    """The browser's JSON answer, read strictly (ValueError): py_webauthn's own json.loads
    would let nesting deep enough for a RecursionError through."""
    if not credential or len(credential) > MAX_CREDENTIAL_LENGTH:
        raise ValueError("no answer, or one too long to be a passkey's")
    return strict_json.loads(credential)


def _descriptors(identity) -> list[PublicKeyCredentialDescriptor]:
    from webauthn.helpers.structs import AuthenticatorTransport, PublicKeyCredentialDescriptor

    return [PublicKeyCredentialDescriptor(id=unb64url(found.credential_id),
                                          transports=[AuthenticatorTransport(t) for t in found.transports] or None)
            for found in passkeys_of(identity)]


def _failed(reason: str, identity, origin: Origin, **details) -> PasskeyRejected:
    audit.record("passkey.used", "failure", origin=origin, identity=identity, reason=reason, **details)
    db.session.commit()
    return PasskeyRejected(reason)
