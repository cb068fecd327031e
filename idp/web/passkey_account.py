"""The account page's passkeys: the list (name, added, last used), adding one in two
pages (name and password, then the browser creates it), renaming and deleting."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..methods import passkey, passkey_account, recovery_codes, totp
from ..methods.passkey_ceremony import PasskeyRejected
from ..services.account import FormRejected
from .account import signed_in
from .browser import browser_id, origin
from .limits import password_again, per_ip

bp = Blueprint("passkey_account", __name__)



@bp.route("/account/passkeys")
@signed_in
def manage(identity):
    return manage_page(identity)


def manage_page(identity, errors: dict | None = None, form: dict | None = None, status: int = 200):
    """The page; with the recovery codes' section when a passkey is the only second factor
    (with the app, that page has it)."""
    passkeys = passkey.passkeys_of(identity)
    codes_left = recovery_codes.left(identity) if passkeys and not totp.enabled(identity) else None
    return render_template("passkey/manage.html", identity=identity, passkeys=passkeys, codes_left=codes_left,
                           errors=errors or {}, form=form or {}), status


@bp.route("/account/passkeys/new", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def new(identity):
    name = request.form.get("name", "")
    try:
        ceremony, options = passkey_account.begin_adding(identity, browser_id(), name,
                                                         request.form.get("current_password", ""), origin=origin())
    except FormRejected as rejected:
        return manage_page(identity, rejected.problems, {"name": name}, 400)
    return render_template("passkey/create.html", ceremony=ceremony, options=options, name=" ".join(name.split()))


@bp.route("/account/passkeys/register", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@signed_in
def register(identity):
    credential = request.form.get("credential") or ""
    if not credential:  # posted without its script: this browser cannot create one
        flash(_("This browser cannot use passkeys. Try another browser or device."), "error")
        return redirect(url_for("passkey_account.manage"))
    try:
        added, codes = passkey_account.add(identity, (request.form.get("ceremony") or "")[:64], browser_id(),
                                           credential, origin=origin())
    except PasskeyRejected as rejected:
        flash(str(rejected), "error")
        return redirect(url_for("passkey_account.manage"))
    notice = _("The passkey %(name)s was added. You can now sign in with it.", name=added.name)
    if codes:
        return render_template("totp/codes.html", codes=codes, notice=notice, replaced=False)
    flash(notice)
    return redirect(url_for("passkey_account.manage"))


@bp.route("/account/passkeys/<int:passkey_id>/rename", methods=["POST"])
@signed_in
def rename(identity, passkey_id):
    try:
        renamed = passkey_account.rename(identity, passkey_id, request.form.get("name", ""), origin=origin())
    except FormRejected as rejected:
        return manage_page(identity, rejected.problems, status=400)
    flash(_("The passkey is now called %(name)s.", name=renamed.name))
    return redirect(url_for("passkey_account.manage"))


@bp.route("/account/passkeys/<int:passkey_id>/delete", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def delete(identity, passkey_id):
    try:
        name = passkey_account.delete(identity, passkey_id, request.form.get("current_password", ""),
                                      origin=origin())
    except FormRejected as rejected:
        return manage_page(identity, rejected.problems, status=400)
    flash(_("The passkey %(name)s was deleted. Remove it from your device too, so it is not offered again.",
            name=name))
    return redirect(url_for("passkey_account.manage"))


@bp.app_template_global()
def passkeys_status(identity) -> int:
    """For the account page's section: how many passkeys the person has."""
    return len(passkey.passkeys_of(identity))
