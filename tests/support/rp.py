"""A relying service as the tests see one: builds authorization requests, redeems codes,
and checks ID tokens against the published JWKS with joserfc. One registered with a key
(private_key_jwt) signs a new client assertion for each request; it proves its DPoP key."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from authlib.oauth2.rfc7523.client import ASSERTION_TYPE
from joserfc import jws, jwt
from joserfc.jwk import ECKey, KeySet

from idp.services import clients, clock

REDIRECT_URI = "https://rp.example/callback"
POST_LOGOUT_URI = "https://rp.example/bye"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, b64url(hashlib.sha256(verifier.encode()).digest())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class DPoPKey:
    """A client's DPoP key pair (RFC 9449), making proofs as a client library does."""

    def __init__(self):
        self.key = ECKey.generate_key("P-256", private=True)
        self.jkt = self.key.thumbprint()

    def proof(self, method: str, url: str, access_token: str | None = None, header: dict | None = None,
              **claims) -> str:
        """A proof for this request; `header` and `claims` (None: leave out) change it."""
        payload = {"jti": secrets.token_urlsafe(16), "htm": method, "htu": url, "iat": clock.timestamp()}
        if access_token is not None:
            payload["ath"] = b64url(hashlib.sha256(access_token.encode()).digest())
        payload.update(claims)
        protected = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.key.as_dict(private=False), **(header or {})}
        return jws.serialize_compact(protected, json.dumps({k: v for k, v in payload.items() if v is not None}),
                                     self.key, algorithms=["ES256"])


# The algorithm a client signs its assertions with, by its key's type.
ASSERTION_ALGS = {"RSA": "RS256", "EC": "ES256", "OKP": "Ed25519"}


class RelyingParty:
    def __init__(self, app, client, secret, key=None):
        self.app = app
        self.client = client
        self.client_id = client.client_id
        self.secret = secret
        self.key = key  # the private key of a private_key_jwt client
        self.http = app.test_client()
        self.verifier = None
        self.nonce = None
        self.state = None

    @classmethod
    def register(cls, app, name="RP", public=False, first_party=False, grant_types=None, key=None, jwks_uri=None):
        """With `key` (a private JWK), a private_key_jwt client: its public key registered
        with it, or published at `jwks_uri` by the test."""
        jwks = {"keys": [key.as_dict(private=False)]} if key is not None and jwks_uri is None else None
        client, secret = clients.create(name, [REDIRECT_URI], [POST_LOGOUT_URI], public=public,
                                        first_party=first_party, grant_types=grant_types, jwks=jwks,
                                        jwks_uri=jwks_uri)
        return cls(app, client, secret, key)

    def assertion(self, key=None, header=None, **claims) -> str:
        """A client assertion (RFC 7523 §3) as a well-behaved client makes one; `claims` and
        `header` replace or (given as None) remove its parts."""
        key = key or self.key
        now = clock.timestamp()
        payload = {"iss": self.client_id, "sub": self.client_id, "aud": self.app.config["IDP_ISSUER"],
                   "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16), **claims}
        head = {"alg": ASSERTION_ALGS[key.key_type], "kid": key.kid, **(header or {})}
        return jwt.encode({k: v for k, v in head.items() if v is not None},
                          {k: v for k, v in payload.items() if v is not None}, key, algorithms=[head["alg"]])
    def authorize_url(self, scope="openid profile email", pkce=True, **extra) -> str:
        self.verifier, challenge = pkce_pair()
        self.nonce = secrets.token_urlsafe(12)
        self.state = secrets.token_urlsafe(12)
        params = {"response_type": "code", "client_id": self.client_id, "redirect_uri": REDIRECT_URI,
                  "scope": scope, "state": self.state, "nonce": self.nonce}
        if pkce:
            params.update(code_challenge=challenge, code_challenge_method="S256")
        params.update({k: v for k, v in extra.items() if v is not None})
        for key in [k for k, v in extra.items() if v is None]:
            params.pop(key, None)
        return "/authorize?" + urlencode(params)

    @staticmethod
    def callback_params(url: str) -> dict:
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI, url
        return {k: v[0] for k, v in parse_qs(parts.query).items()}

    def push(self, auth=None, scope="openid profile email", pkce=True, dpop: DPoPKey | None = None, **extra):
        """Push the request authorize_url would make to /par (RFC 9126), authenticated as
        token_request is (with a proof by `dpop`); the response."""
        params = dict(parse_qsl(urlsplit(self.authorize_url(scope, pkce, **extra)).query))
        return self.token_request_to("/par", auth, dpop, **params)

    def pushed_url(self, request_uri: str, **extra) -> str:
        """The /authorize URL that brings a pushed request: client_id, request_uri (and `extra`)."""
        return "/authorize?" + urlencode({"client_id": self.client_id, "request_uri": request_uri, **extra})

    @property
    def issuer(self) -> str:
        return self.app.config["IDP_ISSUER"]

    def token_request(self, auth=None, dpop: DPoPKey | None = None, **data):
        return self.token_request_to("/token", auth, dpop, **data)

    def redeem(self, code, verifier="default", **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        verifier = self.verifier if verifier == "default" else verifier
        if verifier:
            data["code_verifier"] = verifier
        data.update(extra)  # None leaves a parameter out
        return self.token_request(**{name: value for name, value in data.items() if value is not None})

    def refresh(self, refresh_token, **extra):
        return self.token_request(grant_type="refresh_token", refresh_token=refresh_token, **extra)

    def jwks(self) -> KeySet:
        return KeySet.import_key_set(self.http.get("/jwks").get_json())

    def verify_id_token(self, id_token: str) -> dict:
        token = jwt.decode(id_token, self.jwks(), algorithms=["RS256", "ES256"])
        # The relying service shares Tunnus's (movable) clock, as a real one shares real time.
        jwt.JWTClaimsRegistry(
            now=clock.timestamp,
            iss={"essential": True, "value": self.app.config["IDP_ISSUER"]},
            aud={"essential": True, "value": self.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True},
        ).validate(token.claims)
        return dict(token.claims)

    def userinfo(self, access_token, method="GET", dpop: DPoPKey | None = None):
        """With `dpop`, the token goes with the DPoP scheme and a proof made with that key."""
        headers = {"Authorization": f"Bearer {access_token}"}
        if dpop is not None:
            headers = {"Authorization": f"DPoP {access_token}",
                       "DPoP": dpop.proof(method, f"{self.issuer}/userinfo", access_token=access_token)}
        return self.http.open("/userinfo", method=method, headers=headers)

    def introspect(self, token, **extra):
        return self.token_request_to("/introspect", token=token, **extra)

    def revoke(self, token, **extra):
        return self.token_request_to("/revoke", token=token, **extra)

    def token_request_to(self, path, auth=None, dpop: DPoPKey | None = None, **data):
        """`auth`: basic, post, or assertion (the default for a client with a key); a client
        without a secret (a public one) sends its client_id only; `dpop` makes a proof with that key."""
        headers = {"DPoP": dpop.proof("POST", f"{self.issuer}{path}")} if dpop is not None else {}
        auth = auth or ("assertion" if self.key is not None else "basic")
        if auth == "assertion":
            data.setdefault("client_assertion_type", ASSERTION_TYPE)
            data.setdefault("client_assertion", self.assertion())
        elif self.secret and auth == "basic":
            headers.update(self.basic_auth())
        elif self.secret and auth == "post":
            data.update(client_id=self.client_id, client_secret=self.secret)
        else:
            data.setdefault("client_id", self.client_id)
        return self.http.post(path, data=data, headers=headers)

    def basic_auth(self) -> dict:
        return {"Authorization": "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()}
