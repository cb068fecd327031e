"""The account page's bank identities: which are linked, and removing one (with the
password, as for the other ways into the account)."""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import gettext as _

from ..services import account, upstreams
from ..services.account import FormRejected
from .account import render_home, signed_in
from .account_notice import back_to
from .browser import current_session, origin, rekey
from .limits import password_again, per_ip

bp = Blueprint("upstream_account", __name__)


@bp.app_template_global()
def upstream_links(identity) -> list:
    return upstreams.links_of(identity)


@bp.route("/account/identification/<int:link_id>/remove", methods=["POST"])
@per_ip("IDP_LOGIN_RATE_LIMIT")
@password_again()
@signed_in
def remove(identity, link_id):
    try:
        account.confirm_password(identity, request.form.get("current_password", ""), origin=origin(),
                                 event="upstream.unlinked")
    except FormRejected as rejected:
        return render_home(identity, errors={f"unlink-{link_id}": rejected.problems["current_password"]},
                           status=400)
    name = upstreams.unlink(identity, link_id, origin=origin(), keep_sid=current_session().sid)
    rekey()
    return back_to("identification", _("Your %(provider)s identification was removed from your account. Your other "
                                       "devices were logged out.", provider=name))
