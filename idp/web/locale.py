"""The UI language: ui_locales or the language links chosen earlier, else the browser's,
else the default."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, has_request_context, redirect, request, session

LOCALES = ("fi", "sv", "en")

bp = Blueprint("locale", __name__)


@bp.route("/language/<code>")
def choose(code):
    if code not in LOCALES:
        abort(404)
    session["locale"] = code
    return redirect(_same_site_path(request.args.get("next")) or "/")


def here() -> str:
    """Where a language link should come back to: this page, or for a page that answered
    a form post, the page that showed the form (a GET of a POST-only URL would fail)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    return _same_site_path(request.referrer) or "/"


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
    if session.get("locale") in LOCALES:
        return session["locale"]
    return request.accept_languages.best_match(LOCALES) or current_app.config["IDP_DEFAULT_LOCALE"]


def remember_ui_locales(ui_locales: str | None) -> None:
    """OIDC ui_locales: the first supported tag, in order of preference, wins."""
    for tag in (ui_locales or "").split():
        language = tag.split("-")[0].lower()
        if language in LOCALES:
            session["locale"] = language
            return
