"""What makes a DPoP proof no good at the token endpoint (RFC 9449 §4.3): each is refused
400 invalid_dpop_proof, saying what is wrong, and issues no token."""
import json

import pytest
from joserfc import jws
from joserfc.jwk import OctKey

from idp.services import clock
from tests.support.rp import DPoPKey, RelyingParty, b64url

TOKEN_URL = "http://localhost/token"


@pytest.fixture
def machine(app):
    return RelyingParty.register(app, name="Integraatio", grant_types=["client_credentials"])


def _unsigned(header: dict, claims: dict) -> str:
    return f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}."


def _claims() -> dict:
    return {"jti": "jti-of-an-unsigned-proof", "htm": "POST", "htu": TOKEN_URL, "iat": clock.timestamp()}


def _hmac_signed(key: DPoPKey) -> str:
    # Algorithm confusion: a MAC keyed with the public key that the jwk header carries.
    secret = OctKey.import_key(json.dumps(key.key.as_dict(private=False)).encode())
    header = {"typ": "dpop+jwt", "alg": "HS256", "jwk": key.key.as_dict(private=False)}
    return jws.serialize_compact(header, json.dumps(_claims()), secret, algorithms=["HS256"])


PROOFS = {
    "wrong htm": (lambda key: key.proof("GET", TOKEN_URL), "The DPoP proof's htm must be POST."),
    "wrong htu": (lambda key: key.proof("POST", "http://localhost/userinfo"),
                  "The DPoP proof's htu must be http://localhost/token."),
    "htu of another host": (lambda key: key.proof("POST", "https://localhost/token"),
                            "The DPoP proof's htu must be http://localhost/token."),
    "stale iat": (lambda key: key.proof("POST", TOKEN_URL, iat=clock.timestamp() - 61),
                  "The DPoP proof's iat is not recent: make a new proof for each request."),
    "iat ahead": (lambda key: key.proof("POST", TOKEN_URL, iat=clock.timestamp() + 30),
                  "The DPoP proof's iat is not recent: make a new proof for each request."),
    "no jti": (lambda key: key.proof("POST", TOKEN_URL, jti=None),
               "The DPoP proof needs jti (at most 256 characters), htm, htu and iat."),
    "alg none": (lambda key: _unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": key.key.as_dict(private=False)},
                                       _claims()),
                 "The DPoP proof's alg must be one of ES256, ES384, EdDSA, Ed25519."),
    "HS256": (_hmac_signed, "The DPoP proof's alg must be one of ES256, ES384, EdDSA, Ed25519."),
    "private key in jwk": (lambda key: key.proof("POST", TOKEN_URL, header={"jwk": key.key.as_dict(private=True)}),
                           "The DPoP proof's jwk must be a public key, without its private parts."),
    "typ jwt": (lambda key: key.proof("POST", TOKEN_URL, header={"typ": "JWT"}),
                "The DPoP proof's typ must be dpop+jwt."),
    "signed by another key": (lambda key: key.proof("POST", TOKEN_URL,
                                                    header={"jwk": DPoPKey().key.as_dict(private=False)}),
                              "The DPoP proof's signature does not verify with its jwk."),
    "not a JWS": (lambda key: "not-a-jws", "The DPoP proof is not a JWS in compact serialization."),
}


@pytest.mark.parametrize("defect", PROOFS)
def test_a_defective_proof_is_invalid_dpop_proof(machine, defect):
    make, description = PROOFS[defect]
    response = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                 headers={**machine.basic_auth(), "DPoP": make(DPoPKey())})
    assert response.status_code == 400, response.get_json()
    assert response.get_json() == {"error": "invalid_dpop_proof", "error_description": description}


def test_two_dpop_headers_are_refused(machine):
    key = DPoPKey()
    response = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                 headers=[*machine.basic_auth().items(), ("DPoP", key.proof("POST", TOKEN_URL)),
                                          ("DPoP", key.proof("POST", TOKEN_URL))])
    assert response.status_code == 400 and response.get_json() == {
        "error": "invalid_dpop_proof", "error_description": "Send one DPoP header."}


def test_a_proof_within_the_allowed_skew_is_accepted(machine):
    proof = DPoPKey().proof("POST", TOKEN_URL, iat=clock.timestamp() + 4)
    response = machine.http.post("/token", data={"grant_type": "client_credentials"},
                                 headers={**machine.basic_auth(), "DPoP": proof})
    assert response.status_code == 200 and response.get_json()["token_type"] == "DPoP"
