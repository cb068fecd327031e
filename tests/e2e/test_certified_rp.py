"""A relying service built on an OpenID-certified RP library (pyoidc, `oic`) signs a person
in over real HTTP: discovery, the code flow with PKCE, the library's own checks of the ID
token (signature by the JWKS, iss, aud, nonce, at_hash, expiry), userinfo, a refresh.

Every other test drives Tunnus with our own client code; services in the field use such
libraries, which refuse what the specifications do not allow."""
from urllib.parse import urlsplit

import requests

from oic import rndstr
from oic.oic import Client
from oic.oic.message import AccessTokenResponse, AuthorizationResponse, OpenIDSchema, RegistrationResponse
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.support.browser import Browser
from tests.support.journeys import sign_in
from tests.support.rp import POST_LOGOUT_URI, REDIRECT_URI


def _library_client(rp, issuer) -> Client:
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(issuer)  # discovery, and the JWKS it names
    client.store_registration_info(RegistrationResponse(
        client_id=rp.client_id, client_secret=rp.secret, redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI], token_endpoint_auth_method="client_secret_basic"))
    return client


def _signed_in_code(app, client, user, state, nonce, challenge) -> str:
    """The person's part: the authorization URL the library made, the login, the redirect."""
    request = client.construct_AuthorizationRequest(request_args={
        "response_type": "code", "scope": ["openid", "profile", "email", "offline_access"],
        "redirect_uri": REDIRECT_URI, "state": state, "nonce": nonce, "prompt": "consent",
        **challenge})
    browser = Browser(app)
    url = urlsplit(request.request(client.authorization_endpoint))
    browser.get(f"{url.path}?{url.query}")  # the test client is this app: the path on its origin
    sign_in(browser, user.email, user.test_password)
    if "/authorize/consent/" in browser.text:
        browser.submit("/authorize/consent/", button=("decision", "allow"))
    assert browser.url.startswith(REDIRECT_URI + "?"), browser.url
    return urlsplit(browser.url).query


def test_a_certified_rp_library_signs_a_person_in_and_refreshes(app, live_server, rp, user):
    client = _library_client(rp, live_server)
    assert client.provider_info["issuer"] == live_server
    state, nonce = rndstr(), rndstr()
    challenge, verifier = client.add_code_challenge()  # S256; the library leaves the verifier to us

    answer = client.parse_response(AuthorizationResponse, sformat="urlencoded",
                                   info=_signed_in_code(app, client, user, state, nonce, challenge))
    assert answer["state"] == state
    assert answer["iss"] == live_server  # RFC 9207

    tokens = client.do_access_token_request(state=state, authn_method="client_secret_basic",
                                            request_args={"code": answer["code"], "code_verifier": verifier})
    assert isinstance(tokens, AccessTokenResponse), tokens.to_dict()
    id_token = tokens["id_token"]  # verified by the library against the JWKS, iss, aud, nonce
    assert id_token["sub"] == user.sub and id_token["nonce"] == nonce and id_token["aud"] == [rp.client_id]

    info = client.do_user_info_request(state=state)
    assert isinstance(info, OpenIDSchema) and info["sub"] == user.sub and info["email"] == user.email

    first_refresh = tokens["refresh_token"]
    renewed = client.do_access_token_refresh(state=state, authn_method="client_secret_basic")
    assert isinstance(renewed, AccessTokenResponse) and renewed["refresh_token"] != first_refresh
    # The library sends the newest refresh token it holds; the spent one is sent by hand.
    again = requests.post(client.token_endpoint, auth=(rp.client_id, rp.secret), timeout=10,
                          data={"grant_type": "refresh_token", "refresh_token": first_refresh})
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")  # rotated: spent
