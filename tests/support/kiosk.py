"""A building with a kiosk: an organisation, its touch screen client and residents with
PINs, made through the same services operators and residents use."""
from __future__ import annotations

import re

from idp.extensions import db
from idp.methods import pin
from idp.models.organisation import MEMBER
from idp.services import clients, organisations
from idp.services.audit import SYSTEM

from .orgs import person
from .rp import POST_LOGOUT_URI, REDIRECT_URI, RelyingParty

PIN = "4827"
BUSINESS_ID = "0737546-2"


def kiosk(app, organisation, name="Porras A") -> RelyingParty:
    client, secret = clients.create(name, [REDIRECT_URI], [POST_LOGOUT_URI], first_party=True,
                                    kiosk_organisation=organisation)
    return RelyingParty(app, client, secret)


def resident(organisation, email, display_name, code: str | None = PIN):
    """A member shown on the kiosk as `display_name`, with `code` as PIN (None: no PIN)."""
    identity = person(email)
    membership = organisations.add_member(organisation, email, MEMBER)
    membership.display_name = display_name
    db.session.commit()
    if code is not None:
        pin.set_pin(identity, identity.test_password, code, code, origin=SYSTEM)
    identity.display_name = display_name
    return identity


def building(name="As Oy Koivukuja", business_id=BUSINESS_ID):
    admin = person(f"isannoitsija@{name.split()[-1].lower()}.fi")
    organisation = organisations.create(name, business_id)
    organisations.add_member(organisation, admin.email, "admin")
    db.session.commit()
    return organisation


def pin_login(browser, kiosk_rp, resident_identity, code=PIN, **params):
    """From the kiosk's authorization request through the list and the PIN; the last page."""
    browser.get(kiosk_rp.authorize_url(**params))
    assert "/kiosk/" in browser.url, browser.url
    browser.submit("/choose", button=("resident", str(membership_id(browser, resident_identity.display_name))))
    return browser.submit("/pin", pin=code)


def membership_id(browser, display_name: str) -> int:
    """The id behind the resident's button on the kiosk's list."""
    found = re.search(r'value="(\d+)">' + re.escape(display_name) + "<", browser.text)
    assert found, f"{display_name!r} is not listed"
    return int(found.group(1))
