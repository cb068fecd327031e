"""RP-Initiated Logout 1.0: /logout with id_token_hint, post_logout_redirect_uri, state.

With a valid id_token_hint for the signed-in user the logout happens at once; without
one the user confirms first (§6: a bare logout link must not end sessions by itself),
unless the browser holds only a kiosk's PIN session.
Redirection goes only to a post_logout_redirect_uri registered for the client, named by
the hint or, once the person has confirmed (or has no session), by client_id; when
services asked for Front-Channel Logout 1.0, their frames are loaded first (web/logout_page.py).
"""
from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oidc.rpinitiated import EndSessionEndpoint as _EndSessionEndpoint
from flask import Blueprint, current_app, g, render_template, request
from flask_wtf.csrf import ValidationError, validate_csrf
from joserfc import jws
from joserfc.errors import JoseError

from ...extensions import csrf, db
from ...models import LoginSession
from ...services import malformed_jose, sessions
from ...web import logout_page
from ...web.browser import as_get_if_cross_site_post, current_session, kiosk_session, origin, sign_out
from .. import request_checks

bp = Blueprint("oidc_end_session", __name__)


def _jose_type(token: str) -> str | None:
    try:
        return jws.extract_compact(token.encode()).headers().get("typ")
    except JoseError:
        return None


class EndSessionEndpoint(_EndSessionEndpoint):
    def get_server_jwks(self):
        return self.server.keystore.hint_keys()

    def validate_request(self, request):
        # The same keys sign access tokens (typ at+jwt) and logout tokens (logout+jwt), and
        # Authlib checks only the signature: the hint must be an ID token (§2), typ JWT.
        hint = request.payload.data.get("id_token_hint")
        if hint and _jose_type(hint) != "JWT":
            raise InvalidRequestError("'id_token_hint' is not an ID token.")
        return super().validate_request(request)

    def _validate_id_token_hint(self, id_token_hint: str) -> dict:
        # Authlib puts joserfc's description in its error, which may quote the hint's kid
        # ("ä" fails making the error) and lets a header member of another type through.
        try:
            return super()._validate_id_token_hint(id_token_hint)
        except (InvalidRequestError, *malformed_jose.ERRORS):
            raise InvalidRequestError("'id_token_hint' is not an ID token this provider issued.") from None

    def is_post_logout_redirect_uri_legitimate(self, request, post_logout_redirect_uri, client, logout_hint):
        # Without an id_token_hint, §3 still allows the redirect when the OP "has other means
        # of confirming the legitimacy": the URI is one registered for the client named
        # (Authlib has checked that), and the person has just confirmed the logout on our
        # page, or there is no session here to end.
        return client is not None and (g.logout_confirmed or (current_session() is None and kiosk_session() is None))

    def end_session(self, end_session_request):
        # The hint names the session the relying service knows; this browser's cookie may
        # point at it, at nothing (cookie lost or blocked), or at another session.
        claims = end_session_request.id_token_claims or {}
        g.ended_sids = []
        hinted = LoginSession.active_by_sid(claims.get("sid"))
        if hinted is not None and hinted.identity.sub == claims.get("sub"):
            sessions.end(hinted, origin=origin())
            g.ended_sids.append(hinted.sid)
        for login_session in (current_session(), kiosk_session()):  # a kiosk's PIN session too
            if login_session is not None and login_session is not hinted:
                sessions.end(login_session, origin=origin())
                g.ended_sids.append(login_session.sid)
        sign_out()


def _hint_matches_session(claims: dict | None) -> bool:
    login_session = current_session()
    if claims is None or claims.get("iss") != current_app.config["IDP_ISSUER"]:
        return False
    return login_session is None or claims.get("sub") == login_session.identity.sub


def _end_kiosk_session() -> None:
    pin_session = kiosk_session()
    if pin_session is not None:
        sessions.end(pin_session, origin=origin())
        db.session.commit()


def _confirmed_here() -> bool:
    """The person pressed "Log out" on our confirmation page (its CSRF token proves it)."""
    if request.method != "POST" or "confirm" not in request.form:
        return False
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout():
    again = as_get_if_cross_site_post()
    if again is not None:
        return again
    g.logout_confirmed = confirmed = _confirmed_here()
    server = current_app.extensions["idp.server"]
    try:
        request_checks.single_valued(request.form if request.method == "POST" else request.args)
        end_request = server.validate_endpoint_request(EndSessionEndpoint.ENDPOINT_NAME)
    except OAuth2Error as error:
        return render_template("oidc/logout_refused.html", error=error.error, description=error.get_error_description(),
                               still_signed_in=current_session() is not None or kiosk_session() is not None), 400
    if not confirmed and not _hint_matches_session(end_request.id_token_claims):
        if current_session() is None and kiosk_session() is None and end_request.redirect_uri is None:
            return render_template("oidc/logged_out.html")
        # A kiosk's PIN session ends unasked: the next person at the shared screen must not
        # be signed in as the last one, and a forged logout costs only a PIN. So it does
        # beside an ordinary session too (someone's who once signed in with a password on
        # the kiosk's browser), which alone waits for its confirmation; before, the PIN
        # session waited with it, and the kiosk signed the next person in as the last.
        # With no session at all, nothing ends: the person goes back to the client at once.
        if current_session() is not None:
            _end_kiosk_session()
            return render_template("oidc/confirm_logout.html", end_request=end_request,
                                   params=request.values.to_dict())
    response = server.create_endpoint_response(EndSessionEndpoint.ENDPOINT_NAME, end_request)
    framed = logout_page.with_frames(g.get("ended_sids", []), continue_to=response.location if response else None)
    return framed or response or render_template("oidc/logged_out.html")
