"""The UI language: ui_locales or ?lang= chosen earlier, else the browser's, else the default."""
from __future__ import annotations

from flask import current_app, has_request_context, request, session

LOCALES = ("fi", "sv", "en")


def select_locale() -> str | None:
    if not has_request_context():
        return None  # commands and mail outside a request use Babel's default
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["locale"] = chosen
        return chosen
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
