"""The UI language: OIDC ui_locales, else the language switcher (a year-long cookie),
else the signed-in account's language (web/browser.sign_in), else the browser's
Accept-Language, else the default (IDP_DEFAULT_LOCALE). Saving the language on the
account page counts as a choice."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, g, has_request_context, redirect, request, session
from flask_babel import get_locale
from werkzeug.exceptions import HTTPException

LOCALES = ("fi", "sv", "en")
COOKIE = "tunnus_locale"

bp = Blueprint("locale", __name__)


def ui_locale() -> str:
    """The language this request is answered in."""
    return str(get_locale() or current_app.config["IDP_DEFAULT_LOCALE"])


@bp.route("/language/<code>")
def choose(code):
    if code not in LOCALES:
        abort(404)
    session.pop("locale", None)  # an explicit choice overrides an earlier ui_locales
    # Not stored on the account: a plain link that any site could make a browser follow.
    return remember_choice(redirect(_same_site_path(request.args.get("next")) or "/"), code)


def remember_choice(response, code: str):
    """This browser's own choice of language, for a year."""
    response.set_cookie(COOKIE, code, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def chosen_in_browser() -> str | None:
    chosen = request.cookies.get(COOKIE)
    return chosen if chosen in LOCALES else None


def here() -> str:
    """Where a language link should come back to. A page that answers a form post names
    its form page in g.page_url; otherwise this path, or the nearest one above it, that
    can be fetched with GET: a form usually posts to its page's path or one part below
    it (/account/email from /account), and "/" would lose the person's place."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    if g.get("page_url"):
        return g.page_url
    urls = current_app.url_map.bind(request.host)
    # No deeper than the deepest page: one match per part of a long path made a 404 for
    # "/x" * 4000 cost half a second, and 64 kB of path 21 s, for anyone.
    deepest = max(rule.rule.count("/") for rule in current_app.url_map.iter_rules())
    path = "/".join(request.path.split("/", deepest + 1)[:deepest + 1])
    while path.strip("/"):
        try:
            urls.match(path, method="GET")
            return path
        except HTTPException:
            path = path.rsplit("/", 1)[0]
    return "/"


def _same_site_path(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return path if path.startswith("/") and not path.startswith("//") else None


def select_locale() -> str | None:
    if not has_request_context():
        return None  # commands and mail outside a request use Babel's default
    # The signed-in account's language ("account_locale") is the browser's only while that
    # person is signed in (web/browser.sign_out drops it): before, the next person on a
    # shared computer got it.
    for chosen in (session.get("locale"), chosen_in_browser(), session.get("account_locale")):
        if chosen in LOCALES:
            return chosen
    return _first_accepted() or current_app.config["IDP_DEFAULT_LOCALE"]


def _first_accepted() -> str | None:
    """The browser's most preferred language we speak, region aside ("sv-FI" is Swedish).
    Werkzeug's best_match looks for an exact tag first: "sv-FI,fi;q=0.5" was Finnish."""
    for tag, _quality in request.accept_languages:  # most preferred first
        language = tag.split("-")[0].split("_")[0].lower()
        if language in LOCALES:
            return language
    return None


def remember_ui_locales(ui_locales: str | None) -> None:
    """OIDC ui_locales: the first supported tag, in order of preference, wins."""
    for tag in (ui_locales or "").split():
        language = tag.split("-")[0].lower()
        if language in LOCALES:
            session["locale"] = language
            return
