"""A software authenticator: what a phone or security key answers to a WebAuthn
ceremony, built by hand (CBOR with cbor2, EC P-256 signatures with cryptography) so
the tests exercise Tunnus's real verification.

`create` answers navigator.credentials.create() with a "none" attestation, `get`
answers navigator.credentials.get() with a signed assertion; both return the JSON a
browser posts (PublicKeyCredential.toJSON). Keyword arguments let a test lie: another
origin, a forged signature, no user verification.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass, field

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ORIGIN = "http://localhost"
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40
AAGUID = bytes(16)  # "none" attestation: the authenticator's model is not told


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    credential_id: bytes
    key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class Authenticator:
    """synced: a passkey backed up to the cloud (BE and BS flags; amr swk); else bound to
    this device (amr hwk). counting: a device that counts signatures (synced ones do not)."""
    synced: bool = False
    counting: bool = True
    credentials: list[StoredCredential] = field(default_factory=list)
    id_length: int = 32  # bytes of each credential id it makes (WebAuthn allows up to 1023)

    def create(self, options: dict, *, origin: str = ORIGIN, user_verified: bool = True) -> dict:
        rp_id = options["rp"]["id"]
        excluded = {unb64url(item["id"]) for item in options.get("excludeCredentials", [])}
        if any(c.credential_id in excluded for c in self.credentials):
            raise ValueError("InvalidStateError: this authenticator already holds one of the excluded credentials")
        user_handle = unb64url(options["user"]["id"])
        # A resident credential of the same user replaces the older one, as real ones do.
        self.credentials = [c for c in self.credentials if (c.rp_id, c.user_handle) != (rp_id, user_handle)]
        stored = StoredCredential(secrets.token_bytes(self.id_length), ec.generate_private_key(ec.SECP256R1()), rp_id,
                                  user_handle)
        self.credentials.append(stored)
        numbers = stored.key.public_key().public_numbers()
        cose_key = cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"),
                                -3: numbers.y.to_bytes(32, "big")})
        attested = AAGUID + len(stored.credential_id).to_bytes(2, "big") + stored.credential_id + cose_key
        auth_data = self._auth_data(stored, user_verified, AT) + attested
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return self._credential(stored, {"clientDataJSON": b64url(client_data), "attestationObject": b64url(attestation),
                                         "transports": ["internal"]})

    def get(self, options: dict, *, origin: str = ORIGIN, user_verified: bool = True, forge: bool = False,
            credential: StoredCredential | None = None) -> dict:
        stored = credential or self.choose(options)
        stored.sign_count += 1 if self.counting else 0
        auth_data = self._auth_data(stored, user_verified)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signer = ec.generate_private_key(ec.SECP256R1()) if forge else stored.key
        signature = signer.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return self._credential(stored, {"clientDataJSON": b64url(client_data), "authenticatorData": b64url(auth_data),
                                         "signature": b64url(signature), "userHandle": b64url(stored.user_handle)})

    def choose(self, options: dict) -> StoredCredential:
        """The credential the browser would offer: one the site allows, else the newest of the site."""
        allowed = {unb64url(item["id"]) for item in options.get("allowCredentials", [])}
        usable = [c for c in self.credentials if c.rp_id == options["rpId"]
                  and (not allowed or c.credential_id in allowed)]
        if not usable:
            raise LookupError("NotAllowedError: no credential for this site")
        return usable[-1]

    def _auth_data(self, stored: StoredCredential, user_verified: bool, extra: int = 0) -> bytes:
        flags = UP | (UV if user_verified else 0) | (BE | BS if self.synced else 0) | extra
        return hashlib.sha256(stored.rp_id.encode()).digest() + bytes([flags]) + stored.sign_count.to_bytes(4, "big")

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}).encode()

    @staticmethod
    def _credential(stored: StoredCredential, response: dict) -> dict:
        return {"id": b64url(stored.credential_id), "rawId": b64url(stored.credential_id), "type": "public-key",
                "authenticatorAttachment": "platform", "clientExtensionResults": {}, "response": response}
