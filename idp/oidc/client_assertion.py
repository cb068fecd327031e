"""private_key_jwt client authentication: RFC 7523 §2.2 and §3, OpenID Connect Core §9.

A client proves who it is at /token, /introspect and /revoke with a short-lived JWT signed
by its own private key, so no secret is shared (RFC 9700 §2.5 recommends it). Authlib's
JWTBearerClientAssertion reads the assertion (extract_assertion) and names the method;
the checks are Tunnus's own, because Authlib's accept whichever algorithm the key fits,
any audience in a list, any exp however far, and answer 400:

- client_assertion_type is urn:ietf:params:oauth:client-assertion-type:jwt-bearer;
- iss = sub = a registered client's client_id, the one a client_id sent beside it names,
  and that client is registered for private_key_jwt (a secret holder's assertions are
  not looked at, nor a key holder's secret);
- alg is asymmetric (client_keys.ALGORITHMS: never none, never HS*, which a public key
  would key), and the signature is by one of the client's keys (a kid not among them
  reads its jwks_uri again: client_jwks.py);
- aud is the issuer identifier alone. A token endpoint URL, which RFC 7523 allowed, is
  what the attack the OpenID Foundation made public in February 2025 abuses (a malicious
  server gives an honest one's token endpoint as its own and gets assertions the honest
  one accepts); its advice to servers is to accept their issuer identifier only;
- exp is there, not passed, and at most IDP_CLIENT_ASSERTION_MAX_LIFETIME ahead; nbf and
  iat, when there, are not in the future (IDP_CLIENT_ASSERTION_LEEWAY of clock skew);
- jti is there and used once: its hash is stored until the assertion expires, and the
  unique (client, jti) decides between worker processes presenting it at once.

Any failure is invalid_client, 401, and an audit event saying which check failed; the
answer says it too, except between reading the assertion and checking its signature,
where it would tell whether the client exists (NOT_AUTHENTICATED then).
"""
from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from joserfc import jwt
from joserfc.errors import JoseError

from ..extensions import db
from ..models import UsedAssertion
from ..models.client import could_be_client_id
from ..models.grants import token_hash
from ..services import audit, clock, malformed_jose, single_use
from ..services.client_keys import ALGORITHMS
from ..web.browser import origin
from .client_jwks import ClientJwks, JwksUnavailable

# The key type each algorithm signs with.
KEY_TYPES = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP", "Ed25519": "OKP"}


# The one answer to a client not authenticated, whoever it claimed to be (server.py too).
NOT_AUTHENTICATED = ("Client authentication failed: an unknown client_id, a wrong secret or key, or a method "
                     "the client is not registered for.")


class AssertionRefused(InvalidClientError):
    """invalid_client saying which check the assertion failed (it was audited)."""


class Refused(Exception):
    """The assertion fails a check; the message says which, to the client."""


class PrivateKeyJWT(JWTBearerClientAssertion):
    CLIENT_AUTH_METHOD = "private_key_jwt"

    def __init__(self, issuer: str, keys: ClientJwks, config):
        super().__init__(leeway=config["IDP_CLIENT_ASSERTION_LEEWAY"])
        self.issuer = issuer
        self.keys = keys
        self.max_lifetime = config["IDP_CLIENT_ASSERTION_MAX_LIFETIME"]

    def __call__(self, query_client, request):
        form = request.form
        if "client_assertion" not in form and "client_assertion_type" not in form:
            return None  # a request for another method
        client = claims = None
        signed = True  # by the client, as far as anyone asking could tell so far
        try:
            headers, claims = self._unverified(form)
            signed = False
            client = self._named(query_client, claims)
            self._check_names(client, claims, form.get("client_id"))
            claims = self._verified(form["client_assertion"], headers, client)
            signed = True
            self.verify_claims(claims)
            self._use_once(client, claims)
        except Refused as refusal:
            _record(refusal, client, claims if client is None else None)
            # Between reading the assertion and checking its signature, the reason would
            # tell anyone whether the client exists and how it authenticates: the audit
            # record keeps it (client.assertion_refused).
            told = str(refusal) if signed else NOT_AUTHENTICATED
            raise AssertionRefused(status_code=401, description=told) from None
        return client

    def _unverified(self, form) -> tuple[dict, dict]:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise Refused(f"client_assertion_type must be {ASSERTION_TYPE}")
        if not form.get("client_assertion"):
            raise Refused("client_assertion is missing")
        try:
            return self.extract_assertion(form["client_assertion"])
        except InvalidClientError as error:
            raise Refused(f"client_assertion is not a signed JWT: {error.description}") from None
        except RecursionError:  # Authlib's json.loads of a payload nested deeper than Python reads
            raise Refused("client_assertion is not a signed JWT: its JSON is nested too deeply") from None

    @staticmethod
    def _named(query_client, claims: dict):
        """The client the assertion claims to be, before anything in it is believed."""
        sub = claims.get("sub")
        client = query_client(sub) if isinstance(sub, str) else None
        if client is None:
            raise Refused("sub must be the client_id of a registered client")
        return client

    def _check_names(self, client, claims: dict, client_id_sent: str | None) -> None:
        if claims.get("iss") != client.client_id:
            raise Refused("iss and sub must both be the client_id")
        if client_id_sent is not None and client_id_sent != client.client_id:
            raise Refused("client_id names another client than the assertion's iss and sub")
        if not client.check_endpoint_auth_method(self.CLIENT_AUTH_METHOD, "token"):
            raise Refused(f"this client authenticates with {client.token_endpoint_auth_method}, "
                          "not with a client assertion")

    def _verified(self, assertion: str, headers: dict, client) -> dict:
        if "crit" in headers:
            # RFC 7515 §4.1.11: extensions the recipient does not understand are refused, and
            # Tunnus understands none (an assertion needs none; [] is no value). Told as
            # such, not as a signature that did not verify.
            raise Refused("the header's crit names JWS extensions, and Tunnus understands none")
        alg, kid = headers.get("alg"), headers.get("kid")
        if alg not in ALGORITHMS:
            raise Refused(f"alg must be one of {', '.join(ALGORITHMS)}")
        try:
            candidates = _fitting(self.keys.keys(client), alg, kid)
            if not candidates and kid is not None:
                candidates = _fitting(self.keys.keys(client, unknown_kid=True), alg, kid)
        except JwksUnavailable:
            # What went wrong at the client's own URL is logged (client_jwks.py), not told to
            # whoever sent an assertion in its name.
            raise Refused("the client's keys could not be read from its jwks_uri") from None
        if not candidates:
            raise Refused(f"none of the client's keys has the kid {str(kid)[:80]!r}" if kid is not None
                          else f"none of the client's keys is for {alg}")
        for key in candidates:
            try:
                return dict(jwt.decode(assertion, key, algorithms=[alg]).claims)
            except malformed_jose.ERRORS:
                continue
        raise Refused("the signature is not by the client's key")

    def verify_claims(self, claims: dict) -> None:
        now = clock.timestamp()
        try:
            jwt.JWTClaimsRegistry(now=now, leeway=self.leeway, exp={"essential": True},
                                  jti={"essential": True}).validate(claims)
        except JoseError as error:
            raise Refused(error.description) from None
        if not single_use.usable_jti(claims["jti"]):
            raise Refused(f"jti must be at most {single_use.MAX_JTI_LENGTH} printable characters")
        if claims.get("aud") not in (self.issuer, [self.issuer]):
            raise Refused(f"aud must be the issuer identifier {self.issuer}, alone")
        if claims["exp"] > now + self.max_lifetime + self.leeway:
            raise Refused(f"exp is more than {self.max_lifetime} s ahead: make a new assertion for each request")

    def _use_once(self, client, claims: dict) -> None:
        used = UsedAssertion(client_id=client.id, jti_hash=token_hash(claims["jti"]),
                             expires_at=clock.from_timestamp(int(claims["exp"]) + self.leeway))
        if not single_use.first_use(used):
            raise Refused("this assertion was used already (its jti): make a new one for each request")


def _fitting(keys, alg: str, kid: str | None) -> list:
    return [key for key in keys if key.key_type == KEY_TYPES[alg] and (kid is None or key.kid == kid)]


def _record(refusal: Refused, client, unverified: dict | None) -> None:
    # A failure path that must persist: the token endpoint rolls back what fails.
    claimed = (unverified or {}).get("sub")
    audit.record("client.assertion_refused", "failure", origin=origin(),
                 client_id=client.client_id if client is not None else None, reason=str(refusal),
                 claimed_client_id=claimed if could_be_client_id(claimed) else None)
    db.session.commit()
