"""The kiosk's pages: a building's touch screen where residents tap their name and type
their PIN on an on-screen keypad (static/kiosk.js; without it, the device's keyboard).

An authorization request from a kiosk client comes here instead of the password page
(oidc/endpoints/authorize.py); a right PIN starts the kiosk's own session and returns
to that request.
"""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError

from ..errors import FlowExpired
from ..extensions import limiter
from ..flows.base import IllegalMove
from ..flows.kiosk import KioskFlow, State
from ..methods import pin
from .browser import browser_id, kiosk_session, origin, sign_in_kiosk
from .limits import per_account

bp = Blueprint("kiosk", __name__)


def _resident_email() -> str | None:
    resident = KioskFlow.load(request.view_args["flow_id"], browser_id()).resident
    return resident.identity.email if resident is not None else None


@bp.errorhandler(FlowExpired)
@bp.errorhandler(CSRFError)
def start_over(error):
    """A tap on a page left on screen past its time (the flow or its form expired) shows
    the list anew instead of an error: at a kiosk there is nobody to start again."""
    again = KioskFlow.again_of((request.view_args or {}).get("flow_id"), browser_id())
    if again is None:  # not this browser's: refused as anywhere else
        expired = FlowExpired()
        return render_template("error.html", title=expired.title, message=str(expired)), expired.status
    return redirect(again)


@bp.route("/kiosk/<flow_id>")
def show(flow_id):
    flow = KioskFlow.load(flow_id, browser_id()).at(origin())
    if flow.state is State.DONE:
        # Back to a finished sign-in (after the resident logged out, say): the service's
        # request anew, which shows the list again, or goes on for whoever is signed in.
        return redirect(flow.again)
    if flow.state is State.PIN and flow.listed_resident is None:  # taken off the list meanwhile
        flow.back()
    if flow.state is State.CHOOSE:
        return render_template("kiosk/residents.html", flow=flow, residents=flow.residents())
    return _pin_page(flow)


def _pin_page(flow: KioskFlow, rejected: pin.PinRejected | None = None):
    resident, status = flow.resident, rejected.status if rejected else 200
    if rejected is None and not pin.usable(pin.credential(resident.identity)):
        rejected = pin.PinRejected("locked")  # said at once, not after a PIN typed in vain
    config = current_app.config
    return render_template("kiosk/pin.html", flow=flow, resident=resident, rejected=rejected,
                           still_there_after=config["IDP_KIOSK_STILL_THERE_AFTER"],
                           still_there_wait=config["IDP_KIOSK_STILL_THERE_WAIT"]), status


@bp.route("/kiosk/<flow_id>/choose", methods=["POST"])
def choose(flow_id):
    flow = KioskFlow.load(flow_id, browser_id()).at(origin())
    if flow.state is State.CHOOSE:
        flow.choose((request.form.get("resident") or "")[:20])
    return redirect(url_for("kiosk.show", flow_id=flow.id))


@bp.route("/kiosk/<flow_id>/back", methods=["POST"])
def back(flow_id):
    flow = KioskFlow.load(flow_id, browser_id()).at(origin())
    if flow.state is State.PIN:
        flow.back()
    return redirect(url_for("kiosk.show", flow_id=flow.id))


@bp.route("/kiosk/<flow_id>/pin", methods=["POST"])
@limiter.limit(lambda: current_app.config["IDP_PIN_RATE_LIMIT"])
@per_account("IDP_PIN_ACCOUNT_RATE_LIMIT", _resident_email)
def enter_pin(flow_id):
    flow = KioskFlow.load(flow_id, browser_id()).at(origin())
    if flow.state is not State.PIN:
        return redirect(url_for("kiosk.show", flow_id=flow.id))
    try:
        started = flow.submit_pin(request.form.get("pin") or "", origin(), replacing=kiosk_session())
    except pin.PinRejected as rejected:
        return _pin_page(flow, rejected)
    except IllegalMove:  # the other tap of a double tap signed the resident in
        return redirect(url_for("kiosk.show", flow_id=flow.id))
    sign_in_kiosk(started)
    return redirect(flow.return_to)
