"""What a grant adds to DPoP (RFC 9449 §5, §10): an Authlib grant extension, as PKCE is.

The proof itself is checked once per token request, before any grant runs
(Server.create_token_response); its key binds the tokens issued (tokens.py). Here: a
client registered with dpop_bound_access_tokens sends a proof every time (§5.2); a code
requested with `dpop_jkt` is redeemed only with a proof made by that key (§10); a public
client's refresh token bound to a key is used only with a proof by it (§5). Without a
proof the answer is invalid_dpop_proof; a proof by another key is invalid_grant, and
audited, as the code or refresh token is then in someone else's hands.
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidGrantError, InvalidRequestError

from ...extensions import db
from ...services import audit
from ...web.browser import origin
from ..dpop import THUMBPRINT, InvalidDpopProof


class DPoPBinding:
    def __call__(self, grant):
        grant.register_hook("after_validate_authorization_request_payload", self.check_dpop_jkt)
        grant.register_hook("before_create_token_response", self.check_proof_key)

    @staticmethod
    def check_dpop_jkt(grant, _redirect_uri):
        value = grant.request.payload.data.get("dpop_jkt")
        if value is not None and not THUMBPRINT.fullmatch(value):
            raise InvalidRequestError("'dpop_jkt' must be a SHA-256 JWK thumbprint: 43 base64url characters.")

    @staticmethod
    def check_proof_key(grant):
        request = grant.request
        proof = request.dpop
        if proof is None and request.client.dpop_bound_access_tokens:
            raise InvalidDpopProof("This client sends a DPoP proof with every token request.")
        what, bound = _binding(request)
        if bound is None:
            return
        if proof is None:
            raise InvalidDpopProof(f"The {what} is bound to a DPoP key: send a DPoP proof made with that key.")
        if proof.jkt != bound:
            _refused(request, what)
            raise InvalidGrantError(f"The {what} is bound to another DPoP key.")


def _binding(request) -> tuple[str, str | None]:
    if request.authorization_code is not None:
        return "authorization code", request.authorization_code.dpop_jkt
    if request.refresh_token is not None:
        return "refresh token", request.refresh_token.refresh_jkt
    return "", None


def _refused(request, what: str) -> None:
    """The record of it, without what the request changed so far: a code stays unused."""
    identity_id = (request.authorization_code or request.refresh_token).identity_id
    db.session.rollback()
    audit.record("token.dpop_key_mismatch", "failure", origin=origin(), identity=identity_id,
                 client_id=request.client.client_id, bound=what)
    db.session.commit()
