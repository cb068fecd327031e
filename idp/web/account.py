"""The signed-in person's own page."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from .browser import current_identity

bp = Blueprint("account", __name__)


@bp.route("/account")
def home():
    identity = current_identity()
    if identity is None:
        return redirect(url_for("login.start", return_to=request.full_path.rstrip("?")))
    return render_template("account/home.html", identity=identity)


@bp.route("/")
def index():
    return redirect(url_for("account.home"))
