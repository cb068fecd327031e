"""A relying service as the tests see one: builds authorization requests, redeems codes,
and checks ID tokens against the published JWKS with joserfc."""
from __future__ import annotations

import base64
import hashlib
import secrets
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

from joserfc import jwt
from joserfc.jwk import KeySet

from idp.services import clients, clock

REDIRECT_URI = "https://rp.example/callback"
POST_LOGOUT_URI = "https://rp.example/bye"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class RelyingParty:
    def __init__(self, app, client, secret):
        self.app = app
        self.client = client
        self.client_id = client.client_id
        self.secret = secret
        self.http = app.test_client()
        self.verifier = None
        self.nonce = None
        self.state = None

    @classmethod
    def register(cls, app, name="RP", public=False, first_party=False, grant_types=None):
        client, secret = clients.create(name, [REDIRECT_URI], [POST_LOGOUT_URI], public=public,
                                        first_party=first_party, grant_types=grant_types)
        return cls(app, client, secret)

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

    def push(self, auth="basic", scope="openid profile email", pkce=True, **extra):
        """Push the request authorize_url would make to /par (RFC 9126), authenticated as
        token_request is; the response."""
        params = dict(parse_qsl(urlsplit(self.authorize_url(scope, pkce, **extra)).query))
        return self.token_request(auth, path="/par", **params)

    def pushed_url(self, request_uri: str, **extra) -> str:
        """The /authorize URL that brings a pushed request: client_id, request_uri (and `extra`)."""
        return "/authorize?" + urlencode({"client_id": self.client_id, "request_uri": request_uri, **extra})

    def token_request(self, auth="basic", path="/token", **data):
        headers = {}
        if self.secret and auth == "basic":
            headers["Authorization"] = "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        elif self.secret and auth == "post":
            data.update(client_id=self.client_id, client_secret=self.secret)
        else:
            data.setdefault("client_id", self.client_id)
        return self.http.post(path, data=data, headers=headers)

    def redeem(self, code, verifier="default", **extra):
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
        verifier = self.verifier if verifier == "default" else verifier
        if verifier:
            data["code_verifier"] = verifier
        data.update(extra)
        return self.token_request(**data)

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

    def userinfo(self, access_token, method="GET"):
        headers = {"Authorization": f"Bearer {access_token}"}
        return self.http.open("/userinfo", method=method, headers=headers)

    def introspect(self, token, **extra):
        return self.token_request_to("/introspect", token=token, **extra)

    def revoke(self, token, **extra):
        return self.token_request_to("/revoke", token=token, **extra)

    def token_request_to(self, path, **data):
        headers = {"Authorization": "Basic " + base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()}
        return self.http.post(path, data=data, headers=headers)
