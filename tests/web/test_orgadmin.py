"""Org admin pages: only that organisation's admins manage its members and rights."""
import re
import threading
from urllib.parse import urljoin

import pytest

from idp.extensions import db
from idp.flows.email_change import EmailChangeFlow
from idp.models import AuditEvent, Identity
from idp.models.organisation import ADMIN
from idp.services import organisations
from idp.services.audit import SYSTEM
from idp.web import orgadmin
from tests.support.browser import Browser
from tests.support.journeys import sign_in, signed_in, tokens_for
from tests.support.legacy import OLD_PASSWORD, imported
from tests.support.orgs import organisation, person
from tests.support.races import WAIT, at_once, barrier_after, clone, meet_after, post, race, row_locks
from tests.support.rp import RelyingParty


@pytest.fixture
def service(app):
    rp = RelyingParty.register(app, name="Siivousraportit")
    rp.client.org_mode = "business"
    db.session.commit()
    return rp


@pytest.fixture
def company(app, service):
    admin, worker = person("pirjo@siivous.fi", "Pirjo Pääkäyttäjä"), person("ville@siivous.fi", "Ville")
    org = organisation("Siivous Oy", "0737546-2", admin, [worker])
    return org, admin, worker


def _signed_in(browser, identity):
    browser.get("/login")
    sign_in(browser, identity.email, identity.test_password)


def _on_the_page(browser, company, member) -> int:
    """The admin has the organisation's page open; `member`'s membership id."""
    org, admin, _ = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    return organisations.membership(org, member).id


def test_admin_sees_the_matrix_and_grants_a_right(browser, company, service):
    org, admin, worker = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    assert browser.page.status_code == 200 and "Siivousraportit" in browser.text and "ville@siivous.fi" in browser.text
    member_id = organisations.membership(org, worker).id
    browser.submit(f"/members/{member_id}/services/{service.client_id}", button=("action", "grant"))
    assert organisations.organisations_with_right(worker, service.client) == [org]
    assert "ville@siivous.fi may now use Siivousraportit." in browser.text  # shown in the activity list


def test_a_right_to_a_service_not_on_the_page_cannot_be_posted(app, browser, company):
    own_use = RelyingParty.register(app, name="Oma asiointi")  # people use it for themselves
    org, admin, worker = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    member_id = organisations.membership(org, worker).id
    shown = browser.form(f"/members/{member_id}/services/")  # a listed service's form, its CSRF token
    answer = browser.client.post(f"/orgs/{org.id}/members/{member_id}/services/{own_use.client_id}",
                                 data={**shown["fields"], "action": "grant"})
    assert answer.status_code == 400
    assert "Oma asiointi is used by people for themselves, not for an organisation." in answer.text
    assert organisations.organisations_with_right(worker, own_use.client) == []


def _focused_after_change(page_text) -> str:
    """The opening tag of the control a change's page focuses."""
    return re.search(r"<[^>]* autofocus[^>]*>", page_text).group(0)


def test_a_changed_right_is_named_and_focus_comes_back_to_its_button(browser, company, service):
    _, _, worker = company
    member_id = _on_the_page(browser, company, worker)
    change = browser.form(f"/members/{member_id}/services/{service.client_id}")["action"]
    assert " autofocus" not in browser.text
    browser.submit(change, button=("action", "grant"))
    assert '<p id="outcome" class="notice" role="status">ville@siivous.fi may now use Siivousraportit.</p>' \
        in browser.text
    assert _focused_after_change(browser.text) == \
        '<button class="small on" name="action" value="revoke" autofocus aria-describedby="outcome">'
    browser.submit(change, button=("action", "revoke"))
    assert 'role="status">ville@siivous.fi may no longer use Siivousraportit.</p>' in browser.text
    assert _focused_after_change(browser.text) == \
        '<button class="small off" name="action" value="grant" autofocus aria-describedby="outcome">'


def test_a_changed_role_names_the_member_and_their_new_role(browser, company):
    org, _, worker = company
    member_id = _on_the_page(browser, company, worker)
    browser.submit(f"/members/{member_id}/role", button=("role", "admin"))
    assert '<p id="outcome" class="notice" role="status">ville@siivous.fi is now an admin.</p>' in browser.text
    assert _focused_after_change(browser.text) == \
        '<button class="small" name="role" value="member" autofocus aria-describedby="outcome">'
    browser.submit(f"/members/{member_id}/role", button=("role", "member"))
    assert re.search(r'role="status"[^>]*>ville@siivous.fi is now a member.</p>', browser.text)
    assert organisations.membership(org, worker).role == "member"


def _admin_on_the_page_worker_allowed(browser, company, service) -> int:
    """The worker may use the service; the admin has the page open. The worker's member id."""
    org, _, worker = company
    organisations.grant(org, organisations.membership(org, worker), service.client)
    db.session.commit()
    return _on_the_page(browser, company, worker)


def test_removing_a_member_asks_first_and_names_what_ends(browser, company, service):
    org, _, worker = company
    member_id = _admin_on_the_page_worker_allowed(browser, company, service)
    browser.submit(f"/members/{member_id}/remove")
    assert "<h1>Remove Ville (ville@siivous.fi) from Siivous Oy?</h1>" in browser.text
    assert "their access to 1 service ends:" in browser.text and "<li>Siivousraportit</li>" in browser.text
    assert f'href="/orgs/{org.id}#member-{member_id}">Cancel</a>' in browser.text
    assert organisations.membership(org, worker) is not None

    browser.submit(f"/members/{member_id}/remove")
    assert '<p id="outcome" class="notice" role="status" tabindex="-1" autofocus>ville@siivous.fi was removed.</p>' \
        in browser.text
    assert organisations.membership(org, worker) is None


def test_a_removal_posted_without_the_answer_only_asks(browser, company):
    """A page loaded before removing asked first still posts at once: it is asked, too."""
    org, admin, worker = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    member_id = organisations.membership(org, worker).id
    browser.client.post(f"/orgs/{org.id}/members/{member_id}/remove",
                        data={"csrf_token": browser.form("/invite")["fields"]["csrf_token"]})
    assert organisations.membership(org, worker) is not None


def test_a_get_carrying_the_answer_in_a_body_only_asks(browser, company):
    """CSRF protection checks posts; a GET changes nothing, whatever body it carries."""
    org, admin, worker = company
    _signed_in(browser, admin)
    member_id = organisations.membership(org, worker).id
    asked = browser.client.open(f"/orgs/{org.id}/members/{member_id}/remove", method="GET", data={"confirmed": "yes"})
    assert "<h1>Remove Ville (ville@siivous.fi) from Siivous Oy?</h1>" in asked.get_data(as_text=True)
    assert organisations.membership(org, worker) is not None


def test_revoking_a_right_ends_tokens_for_that_organisation(browser, company, service):
    org, _, worker = company
    member_id = _admin_on_the_page_worker_allowed(browser, company, service)
    browser.submit(f"/members/{member_id}/services/{service.client_id}", button=("action", "revoke"))
    assert organisations.organisations_with_right(worker, service.client) == []


def test_admin_of_another_organisation_gets_403(app, browser, company):
    org, _, _ = company
    stranger = person("muu@toinen.fi")
    organisation("Toinen Oy", "1572860-0", stranger)
    _signed_in(browser, stranger)
    browser.get(f"/orgs/{org.id}")
    assert browser.page.status_code == 403


def test_plain_member_cannot_manage_their_own_organisation(browser, company):
    org, _, worker = company
    _signed_in(browser, worker)
    browser.get(f"/orgs/{org.id}")
    assert browser.page.status_code == 403
    response = browser.client.post(f"/orgs/{org.id}/invite", data={"email": "x@example.fi"})
    assert response.status_code in (400, 403)  # no CSRF token or no right: never a change
    assert organisations.pending_invitations(org) == []


@pytest.mark.parametrize("who", ["member", "admin elsewhere"])
def test_a_non_admin_cannot_tell_an_existing_member_or_invitation_from_a_missing_one(browser, company, service,
                                                                                    who):
    """Every change answers who may not make it before it looks anything up."""
    org, admin, worker = company
    outsider = worker if who == "member" else person("muu@toinen.fi")
    if who != "member":
        organisation("Toinen Oy", "1572860-0", outsider)
    invitation = organisations.invite(org, "tuleva@siivous.fi", actor=admin)
    db.session.commit()
    admin_id, invitation_id = organisations.membership(org, admin).id, invitation.id
    _signed_in(browser, outsider)
    browser.get("/orgs")
    token = browser.form("", having="csrf_token")["fields"]["csrf_token"]

    def answers(member_id, invitation_id, client_id):
        """What each change answers, by name: its status and page, less the address asked
        (where the language links return to) and the page's CSRF token (timed)."""
        member, base = f"/orgs/{org.id}/members/{member_id}", f"/orgs/{org.id}"
        asked = {"ask to remove": ("GET", f"{member}/remove", {}),
                 "remove": ("POST", f"{member}/remove", {"confirmed": "yes"}),
                 "change role": ("POST", f"{member}/role", {"role": "member"}),
                 "grant": ("POST", f"{member}/services/{client_id}", {"action": "grant"}),
                 "revoke": ("POST", f"{member}/services/{client_id}", {"action": "revoke"}),
                 "withdraw": ("POST", f"{base}/invitations/{invitation_id}/withdraw", {})}
        pages = {name: (path, browser.client.open(path, method=method, data=dict(fields, csrf_token=token)))
                 for name, (method, path, fields) in asked.items()}
        return {name: (page.status_code, re.sub(r'name="csrf_token" value="[^"]*"', "TOKEN",
                                                page.get_data(as_text=True).replace(path, "ASKED")))
                for name, (path, page) in pages.items()}

    existing = answers(admin_id, invitation_id, service.client_id)
    assert {status for status, _ in existing.values()} == {403}
    assert answers(admin_id + 1000, invitation_id + 1000, service.client_id) == existing
    assert answers(admin_id, invitation_id, "no-such-service") == existing
    db.session.expire_all()
    assert organisations.membership(org, admin).role == ADMIN
    assert [i.id for i in organisations.pending_invitations(org)] == [invitation_id]


def test_last_admin_cannot_demote_themselves(browser, company):
    _, admin, _ = company
    member_id = _on_the_page(browser, company, admin)
    browser.submit(f"/members/{member_id}/role", button=("role", "member"))
    assert browser.page.status_code == 409
    assert '<p id="outcome" class="error" role="alert">An organisation must always have an admin' in browser.text
    assert _focused_after_change(browser.text) == \
        '<button class="small" name="role" value="member" autofocus aria-describedby="outcome">'


def test_invite_by_email_sends_mail_and_shows_pending(browser, company, mailbox):
    org, admin, _ = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email="  uusi.tyontekija@siivous.fi ", role="member")  # pasted with spaces
    assert "Invited, not yet signed in" in browser.text and "uusi.tyontekija@siivous.fi" in browser.text
    assert "uusi.tyontekija@siivous.fi was invited: they join" in browser.text
    assert "Siivous Oy" in mailbox.last("uusi.tyontekija@siivous.fi")["Subject"]


def test_a_refused_invitation_says_why_next_to_the_address_as_typed(browser, company, mailbox):
    org, admin, _ = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email="matti@taloyhtio", role="admin")
    assert browser.page.status_code == 400
    assert re.search(r'<input id="invite-email"[^>]*value="matti@taloyhtio"[^>]*aria-invalid="true" '
                     r'aria-describedby="invite-error" autofocus>\s*<p id="invite-error" class="error" role="alert">',
                     browser.text), browser.text
    assert '<option value="admin" selected>' in browser.text and not mailbox.messages


def test_invitations_mail_an_address_within_its_mail_limit_and_an_ip_within_its_own(app, browser, company,
                                                                                    mailbox):
    """As every page mailing an address typed: an admin cannot flood someone's inbox."""
    org, admin, _worker = company
    app.config["IDP_INVITATION_RATE_LIMIT"] = "7 per hour"
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email="ville@siivous.fi", role="member")  # a member already: not mailed, not counted
    for _ in range(5):
        browser.submit("/invite", email="uhri@example.fi", role="member")
        assert "uhri@example.fi was invited" in browser.text
    assert browser.submit("/invite", email="uhri@example.fi", role="member").status_code == 429
    assert len(mailbox.to("uhri@example.fi")) == 5
    browser.get(f"/orgs/{org.id}")
    for address in ("a@example.fi", "b@example.fi"):
        assert browser.submit("/invite", email=address, role="member").status_code == 200
    assert browser.submit("/invite", email="c@example.fi", role="member").status_code == 429
    assert mailbox.to("c@example.fi") == []


def test_signed_out_visitor_is_sent_to_login(browser, company):
    org, _, _ = company
    browser.get(f"/orgs/{org.id}")
    assert "/login/" in browser.url


def test_my_organisations_page_lists_memberships(browser, company):
    org, admin, _ = company
    _signed_in(browser, admin)
    browser.get("/orgs")
    assert "Siivous Oy" in browser.text and f"/orgs/{org.id}" in browser.text


def test_invitation_takes_effect_when_the_address_registers(app, browser, company, service, mailbox):
    org, admin, _ = company
    from idp.extensions import db

    organisations.add_member(org, "tuleva@siivous.fi", "member", actor=admin, clients=[service.client])
    db.session.commit()
    browser.get("/register")
    browser.submit("/register", email="tuleva@siivous.fi", name="Tuleva Työntekijä",
                   password="kirjava kissa kiipeää", password_repeat="kirjava kissa kiipeää")
    browser.submit("/verify", code=mailbox.code("tuleva@siivous.fi"))
    from idp.models import Identity

    newcomer = Identity.by_email("tuleva@siivous.fi")
    assert organisations.organisations_with_right(newcomer, service.client) == [org]


def test_admin_withdraws_a_pending_invitation_and_the_address_no_longer_joins(app, browser, company, service,
                                                                              mailbox):
    org, admin, _ = company
    from idp.extensions import db
    from idp.models import AuditEvent

    organisations.add_member(org, "tuleva@siivous.fi", "admin", actor=admin, clients=[service.client])
    db.session.commit()
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    assert "tuleva@siivous.fi (admin)" in browser.text and "valid until" in browser.text
    browser.submit("/withdraw")
    assert ('<p id="outcome" class="notice" role="status" tabindex="-1" autofocus>'
            'The invitation of tuleva@siivous.fi was withdrawn.</p>') in browser.text
    assert '<ul class="plain activity" data-testid="activity">' in browser.text
    assert browser.text.count("The invitation of tuleva@siivous.fi was withdrawn.") == 2  # and in the activity list
    assert organisations.pending_invitations(org) == []
    withdrawn = db.session.execute(db.select(AuditEvent).filter_by(event="org.invitation_withdrawn")).scalar_one()
    assert withdrawn.identity_id == admin.id and withdrawn.organisation_id == org.id

    newcomer = person("tuleva@siivous.fi")
    assert organisations.accept_invitations(newcomer, origin=SYSTEM) == []
    assert organisations.membership(org, newcomer) is None


def test_inviting_an_address_with_an_account_answers_as_for_one_without(app, browser, company, mailbox):
    org, admin, _ = company
    existing = person("maija@siivous.fi", "Maija Meikäläinen")
    _signed_in(browser, admin)
    pages = []
    for email in ("maija@siivous.fi", "ei.tiliä@siivous.fi"):
        browser.get(f"/orgs/{org.id}")
        browser.submit("/invite", email=email, role="member")
        pages.append(browser.text.replace(email, "EMAIL"))
        assert f"{email} was invited: they join when they next sign in with this address." in browser.text
    assert "Maija Meikäläinen" not in pages[0] and pages[0].count("EMAIL") == pages[1].count("EMAIL")
    assert organisations.membership(org, existing) is None
    assert mailbox.last("maija@siivous.fi")

    maija = Browser(app)
    _signed_in(maija, existing)  # the invitation takes effect when she signs in
    assert organisations.membership(org, existing).role == "member"


def _invited_while_signed_in(app, browser, company):
    """Maija is signed in when the admin invites her address: (org, Maija, her browser)."""
    org, admin, _ = company
    existing = person("maija@siivous.fi", "Maija Meikäläinen")
    maija = Browser(app)
    _signed_in(maija, existing)
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email=existing.email, role="member")
    return org, existing, maija


def test_an_invitation_takes_effect_when_a_signed_in_person_signs_in_again(app, browser, company, mailbox):
    """The mail says to sign in: in a browser already signed in, that renews the session."""
    org, existing, maija = _invited_while_signed_in(app, browser, company)
    _signed_in(maija, existing)
    assert "Your account" in maija.text and organisations.membership(org, existing).role == "member"


def test_a_silent_request_accepts_no_invitation(app, browser, company, service, mailbox):
    """prompt=none changes nothing, whichever client sends it."""
    org, existing, maija = _invited_while_signed_in(app, browser, company)
    maija.get(service.authorize_url(prompt="none"))
    assert "error" in service.callback_params(maija.url)
    assert organisations.membership(org, existing) is None


@pytest.mark.parametrize("opens", ["/account", "/orgs", "service"])
def test_an_invitation_takes_effect_when_a_signed_in_person_next_opens_a_page_or_a_service(
        app, browser, company, service, mailbox, opens):
    """A 30-day session must not let a 14-day invitation run out unseen."""
    org, existing, maija = _invited_while_signed_in(app, browser, company)
    assert organisations.membership(org, existing) is None

    maija.get(service.authorize_url() if opens == "service" else opens)
    assert organisations.membership(org, existing).role == "member"
    if opens == "/orgs":
        assert "Siivous Oy" in maija.text
    if opens == "service":  # a member without a right to the service yet
        assert maija.page.status_code == 403 and "Siivous Oy" in maija.text


@row_locks
@pytest.mark.parametrize("change,fields", [("role", {"role": "member"}), ("remove", {})])
def test_two_admins_demoting_or_removing_each_other_at_once_leave_an_admin(app, company, monkeypatch, change,
                                                                           fields):
    """Each checks that another admin remains before either writes: without a lock both go ahead."""
    org, first, second = company
    organisations.set_role(org, organisations.membership(org, second), ADMIN)
    db.session.commit()
    first_id, second_id = (organisations.membership(org, p).id for p in (first, second))
    browsers = [Browser(app), Browser(app)]
    for browser, identity, other_id in zip(browsers, (first, second), (second_id, first_id)):
        _signed_in(browser, identity)
        browser.get(f"/orgs/{org.id}/members/{other_id}/remove" if change == "remove" else f"/orgs/{org.id}")
    barrier_after(monkeypatch, organisations, "_guard_last_admin")
    answers = at_once(post(app, browsers[0], f"/members/{second_id}/{change}", **fields),
                      post(app, browsers[1], f"/members/{first_id}/{change}", **fields))
    # The later change waits for the earlier, whose admin is then no longer one (as a moment later).
    assert sorted(a.status_code for a in answers) == [200, 403]
    db.session.expire_all()
    assert len(organisations.admins(org)) == 1


@row_locks
def test_a_double_clicked_grant_shows_the_page_as_one_click_does(app, browser, company, service, monkeypatch):
    org, admin, worker = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    barrier_after(monkeypatch, organisations, "_right")
    member_id = organisations.membership(org, worker).id
    answers = race(app, browser, f"/members/{member_id}/services/{service.client_id}", action="grant")
    assert [a.status_code for a in answers] == [200, 200]
    assert all("ville@siivous.fi may now use Siivousraportit." in a.get_data(as_text=True) for a in answers)
    assert organisations.organisations_with_right(worker, service.client) == [org]


@row_locks
def test_a_double_clicked_invitation_shows_the_page_as_one_click_does(app, browser, company, mailbox, monkeypatch):
    org, admin, _ = company
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    barrier_after(monkeypatch, organisations, "_not_yet_member")
    answers = race(app, browser, "/invite", email="uusi@siivous.fi", role="member")
    assert [a.status_code for a in answers] == [200, 200]
    assert all("uusi@siivous.fi was invited" in a.get_data(as_text=True) for a in answers)
    assert [i.email for i in organisations.pending_invitations(org)] == ["uusi@siivous.fi"]


@row_locks
def test_signing_in_in_two_tabs_at_once_accepts_an_invitation_once(app, company, service, monkeypatch):
    org, admin, _ = company
    invited = person("maija@siivous.fi", "Maija")
    organisations.invite(org, invited.email, actor=admin, clients=[service.client])
    db.session.commit()
    tabs = [Browser(app), Browser(app)]
    for tab in tabs:
        tab.get("/login")
        tab.submit("/identify", email=invited.email)
    barrier_after(monkeypatch, organisations, "membership")
    answers = at_once(*(post(app, tab, "/password", password=invited.test_password) for tab in tabs))
    assert [a.status_code for a in answers] == [302, 302]
    db.session.expire_all()
    assert organisations.organisations_with_right(invited, service.client) == [org]


@row_locks
def test_an_invitation_withdrawn_while_its_person_signs_in_is_simply_gone(app, company, service, monkeypatch):
    """The sign-in has read the invitation as waiting, and the admin's withdrawal goes in
    before it is accepted: the sign-in finishes without it, and the admin's page says
    what was done."""
    org, admin, _ = company
    invited = person("maija@siivous.fi", "Maija")
    organisations.invite(org, invited.email, actor=admin, clients=[service.client])
    db.session.commit()
    admins = Browser(app)
    _signed_in(admins, admin)
    admins.get(f"/orgs/{org.id}")
    tab = Browser(app)
    tab.get("/login")
    tab.submit("/identify", email=invited.email)
    form, person_tab = tab.form("/password"), clone(app, tab)
    meet_after(monkeypatch, (organisations, "invitations_waiting_for"), (organisations, "pending_invitations"))
    signed_in, withdrawn = at_once(
        lambda: person_tab.post(urljoin(tab.url, form["action"]), data={**form["fields"],
                                                                       "password": invited.test_password}),
        post(app, admins, "/withdraw"))
    monkeypatch.undo()

    assert withdrawn.status_code == 200
    assert "The invitation of maija@siivous.fi was withdrawn." in withdrawn.get_data(as_text=True)
    assert signed_in.status_code == 302
    assert "Your account" in person_tab.get("/account").get_data(as_text=True)
    db.session.expire_all()
    assert organisations.membership(org, invited) is None
    assert organisations.organisations_with_right(invited, service.client) == []


@row_locks
@pytest.mark.parametrize("where,fields,done", [
    ("/members/{ville}/services/{service}", {"action": "grant"}, "ville@siivous.fi may now use Siivousraportit."),
    ("/invite", {"email": "uusi@siivous.fi", "role": "member"}, "uusi@siivous.fi was invited as member."),
    ("/members/{ville}/remove", {"confirmed": "yes"}, "ville@siivous.fi was removed."),
], ids=["grant", "invite", "remove"])
def test_an_admin_demoted_meanwhile_changes_nothing_after_the_demotion(app, company, service, monkeypatch, where,
                                                                       fields, done):
    """Kaisa's change is checked, then Pirjo demotes her: the change must not land after
    the demotion (the check holds the organisation until Kaisa's change is in)."""
    org, pirjo, ville = company
    kaisa = person("kaisa@siivous.fi", "Kaisa")
    organisations.add_member(org, kaisa.email, ADMIN)
    db.session.commit()
    pirjos, kaisas = Browser(app), Browser(app)
    for browser, identity in ((pirjos, pirjo), (kaisas, kaisa)):
        _signed_in(browser, identity)
        browser.get(f"/orgs/{org.id}")
    ville_id, kaisa_id = (organisations.membership(org, p).id for p in (ville, kaisa))
    if where.endswith("/remove"):  # the question page's form is the one that acts
        kaisas.get(f"/orgs/{org.id}" + where.format(ville=ville_id))
    changed_by_kaisa = post(app, kaisas, where.format(ville=ville_id, service=service.client_id), **fields)
    demote_kaisa = post(app, pirjos, f"/members/{kaisa_id}/role", role="member")

    kaisa_checked, kaisa_demoted = threading.Event(), threading.Event()
    check = organisations.is_admin

    def checked_then_demoted(organisation, identity, **options):
        answer = check(organisation, identity, **options)
        if identity.id == kaisa.id and not kaisa_checked.is_set():
            kaisa_checked.set()
            kaisa_demoted.wait(WAIT)  # a check holding the organisation waits this out
        return answer

    monkeypatch.setattr(organisations, "is_admin", checked_then_demoted)
    kaisas_change = threading.Thread(target=changed_by_kaisa)
    kaisas_change.start()
    assert kaisa_checked.wait(WAIT)
    assert demote_kaisa().status_code == 200
    kaisa_demoted.set()
    kaisas_change.join()

    pirjos.get(f"/orgs/{org.id}")
    activity = re.search(r'<ul class="plain activity".*?</ul>', pirjos.text, re.S).group(0)
    assert "kaisa@siivous.fi is now a member." in activity and done in activity
    assert activity.index("kaisa@siivous.fi is now a member.") < activity.index(done), \
        "Kaisa's change landed after she was demoted"  # newest first


def test_an_invitation_to_an_old_login_name_like_an_address_is_not_taken_by_signing_in_with_it(
        app, browser, company, mailbox, tmp_path):
    """The old password proves an old account, not the mailbox the invitation went to: two
    old systems may share the name, and the mailbox may have changed hands since."""
    org, admin, _ = company
    olli = imported(tmp_path, "asukasportaali", "olli.vanha@example.fi", "olli@example.fi", "Olli", verified=True)
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    browser.submit("/invite", email="olli.vanha@example.fi", role="member")
    assert "they join when they next sign in with this address" in browser.text

    signing_in = Browser(app)
    signing_in.get("/login")
    sign_in(signing_in, "olli.vanha@example.fi", OLD_PASSWORD)
    assert "Your account" in signing_in.text and organisations.membership(org, olli) is None


def test_an_invitation_to_an_address_with_an_account_is_in_that_accounts_language(app, browser, company, mailbox):
    org, admin, _ = company
    admin.locale = "sv"
    pekka = person("pekka@siivous.fi")
    pekka.locale = "fi"
    db.session.commit()
    _signed_in(browser, admin)
    browser.get(f"/orgs/{org.id}")
    for email in ("pekka@siivous.fi", "uusi@siivous.fi"):
        browser.submit("/invite", email=email, role="member")
    assert mailbox.last("pekka@siivous.fi")["Subject"].startswith("Sinut on kutsuttu")
    assert mailbox.last("uusi@siivous.fi")["Subject"].startswith("Du har bjudits in")  # no account: the inviter's


@row_locks
def test_a_right_revoked_as_the_service_refreshes_leaves_no_token_and_no_error(app, company, service, monkeypatch):
    """The service refreshes Ville's token for acting in the company as Pirjo revokes his
    right to it. The refresh holds Ville's row and writes its token, which names the
    company; the revocation holds the company's row and then Ville's. Neither may wait for
    a lock the other waits behind: both are answered, and no token is left working."""
    org, _, ville = company
    member_id = _admin_on_the_page_worker_allowed(admins := Browser(app), company, service)
    tokens = tokens_for(signed_in(app, ville), service, ville, scope="openid organizations", org_id=str(org.id))
    # The refresh holds Ville's row and the revocation the company's before either goes on.
    meet_after(monkeypatch, (Identity, "lock"), (organisations, "is_admin"))
    refreshed, revoked = at_once(lambda: service.refresh(tokens["refresh_token"]),
                                 post(app, admins, f"/members/{member_id}/services/{service.client_id}",
                                      action="revoke"))
    monkeypatch.undo()

    assert revoked.status_code == 200
    assert "ville@siivous.fi may no longer use Siivousraportit." in revoked.get_data(as_text=True)
    assert refreshed.status_code in (200, 400), refreshed.get_json()
    working = [tokens["access_token"], *([refreshed.get_json()["access_token"]] if refreshed.status_code == 200 else [])]
    assert [service.introspect(token).get_json()["active"] for token in working] == [False] * len(working)


@row_locks
def test_a_sign_in_accepting_an_invitation_as_the_admin_removes_that_member_is_answered_both(app, company,
                                                                                               monkeypatch):
    """Maija was invited, and then added by an operator (`tunnus orgs add-member`): the
    invitation still waits. She signs in, which accepts it, just as Pirjo removes her from
    the organisation. The sign-in holds Maija's row and then takes the organisation to
    accept the invitation; the removal holds the organisation and then Maija's row to end
    her tokens for it. Both are answered, not one with a deadlock's 503."""
    org, pirjo, _ = company
    maija = person("maija@siivous.fi", "Maija")
    organisations.invite(org, maija.email, actor=pirjo)
    organisations.add_member(org, maija.email)
    db.session.commit()
    admins = Browser(app)
    _signed_in(admins, pirjo)
    admins.get(f"/orgs/{org.id}/members/{organisations.membership(org, maija).id}/remove")
    signing = Browser(app)
    signing.get("/login")
    signing.submit("/identify", email=maija.email)
    # The sign-in holds Maija's row, and the removal the organisation's, before either goes on.
    meet_after(monkeypatch, (Identity, "hold"), (organisations, "_guard_last_admin"))
    signed, removed = at_once(post(app, signing, "/password", password=maija.test_password),
                              post(app, admins, "/remove", confirmed="yes"))
    monkeypatch.undo()

    assert signed.status_code == 302 and signed.headers["Location"].endswith("/account"), signed.status_code
    assert removed.status_code == 200 and "maija@siivous.fi was removed." in removed.get_data(as_text=True), \
        removed.status_code


@row_locks
def test_a_sign_in_accepting_invitations_an_admins_removal_and_an_email_change_are_answered_all(
        app, company, service, mailbox, monkeypatch):
    """Three at once, each waiting for the next: Maija signs in, which accepts Pirjo's
    invitation (with a right she granted) and then Ville's to his own company; Ville removes
    Pirjo from his company; Pirjo confirms a change of her sign-in email. The sign-in, having
    written the right naming Pirjo, waits for Ville's organisation; the removal holds it and
    waits for Pirjo's row to end her tokens; the change holds Pirjo's row and waits, to write
    her address, for the sign-in's right naming her. All three are answered, not one with
    a deadlock's 503: the sign-in takes the organisations before anything naming a person."""
    org, pirjo, ville = company
    own = organisation("Villen Siivous", "1234567-1", ville, [pirjo])
    maija = person("maija@siivous.fi", "Maija")
    organisations.invite(org, maija.email, actor=pirjo, clients=[service.client])
    organisations.invite(own, maija.email, actor=ville)
    db.session.commit()
    changing = Browser(app)
    _signed_in(changing, pirjo)
    changing.get("/account")
    changing.submit("/account/email", new_email="pirjo@uusi.example", current_password=pirjo.test_password)
    confirming = Browser(app)
    confirming.get(mailbox.link("pirjo@uusi.example", "/confirm/"))
    admins = Browser(app)
    _signed_in(admins, ville)
    admins.get(f"/orgs/{own.id}/members/{organisations.membership(own, pirjo).id}/remove")
    signing = Browser(app)
    signing.get("/login")
    signing.submit("/identify", email=maija.email)
    # The sign-in has written the right Pirjo granted, the removal holds Ville's organisation,
    # and the change holds Pirjo's row, before any goes on.
    meet_after(monkeypatch, (organisations, "_add_right"), (organisations, "_guard_last_admin"),
               (EmailChangeFlow, "_lock"))
    signed, removed, confirmed = at_once(post(app, signing, "/password", password=maija.test_password),
                                         post(app, admins, "/remove", confirmed="yes"),
                                         post(app, confirming, "/confirm/"))
    monkeypatch.undo()

    assert signed.status_code == 302 and signed.headers["Location"].endswith("/account"), signed.status_code
    assert removed.status_code == 200 and "pirjo@siivous.fi was removed." in removed.get_data(as_text=True), \
        removed.status_code
    assert confirmed.status_code == 200 and "Email address changed" in confirmed.get_data(as_text=True), \
        confirmed.status_code
    db.session.expire_all()
    assert {m.organisation_id for m in organisations.memberships_of(maija)} == {org.id, own.id}
    assert organisations.organisations_with_right(maija, service.client) == [org]


@row_locks
def test_a_double_clicked_leave_is_recorded_once(app, company, monkeypatch):
    """Before, both clicks removed the membership and each recorded it."""
    org, admin, worker = company
    browser = signed_in(app, worker)
    browser.get(f"/account/organisations/{org.id}/leave")
    barrier_after(monkeypatch, organisations, "memberships_of")
    answers = race(app, browser, "/leave", confirmed="yes")
    assert [a.status_code for a in answers] == [302, 302]
    db.session.expire_all()
    assert organisations.membership(org, worker) is None
    removed = db.session.execute(db.select(AuditEvent).filter_by(event="org.member_removed")).scalars().all()
    assert len(removed) == 1, [(e.event, e.details) for e in removed]


@row_locks
@pytest.mark.parametrize("where,fields", [("/members/{m}/services/{s}", {"action": "grant"}),
                                          ("/members/{m}/services/{s}", {"action": "revoke"}),
                                          ("/members/{m}/role", {"role": "admin"}),
                                          ("/members/{m}/display-name", {"display_name": "A 12"})],
                         ids=["grant", "revoke", "role", "display_name"])
def test_an_admin_change_as_the_member_leaves_is_made_before_the_member_leaves(app, company, service, monkeypatch,
                                                                              where, fields):
    """The admin's change has found the member; the member leaves before it is written.
    Before, the leave did not wait for the organisation's lock and the change was a 500."""
    org, admin, worker = company
    admins = signed_in(app, admin)
    admins.get(f"/orgs/{org.id}")
    member_id = organisations.membership(org, worker).id
    leaving = signed_in(app, worker)
    leaving.get(f"/account/organisations/{org.id}/leave")
    found_it, left = threading.Event(), threading.Event()
    real_member = orgadmin._member

    def member_then_wait(organisation, member_id):
        found = real_member(organisation, member_id)
        found_it.set()
        left.wait(WAIT)
        return found
    monkeypatch.setattr(orgadmin, "_member", member_then_wait)
    if fields.get("action") == "revoke":
        organisations.grant(org, organisations.membership(org, worker), service.client)
        db.session.commit()
        admins.get(f"/orgs/{org.id}")
    path = where.format(m=member_id, s=service.client_id)
    form = admins.form("/role")  # its csrf_token
    grant = lambda: clone(app, admins).post(f"/orgs/{org.id}" + path, data={**form["fields"], **fields})
    leave = post(app, leaving, "/leave", confirmed="yes")

    def leave_then_tell():
        found_it.wait(WAIT)  # the leave comes second: before, it sometimes came first, on a busy host
        try:
            return leave()
        finally:
            left.set()
    granted, gone = at_once(grant, leave_then_tell)
    # The leave waits for the admin's change: the change is made, then the member leaves.
    assert gone.status_code == 302 and granted.status_code == 200, granted.status_code
    db.session.expire_all()
    assert organisations.membership(org, worker) is None


def test_a_member_promoted_as_they_leave_leaves_no_organisation_without_an_admin(app, company, monkeypatch):
    """Ville's leave has read his membership (a member); Pirjo makes him an admin and then
    herself a member. Before, Ville's leave then went on with the role it had read, and the
    organisation was left with no admin."""
    org, pirjo, ville = company
    pirjos = signed_in(app, pirjo)
    pirjos.get(f"/orgs/{org.id}")
    villes = signed_in(app, ville)
    villes.get(f"/account/organisations/{org.id}/leave")
    pirjo_id, ville_id = (organisations.membership(org, p).id for p in (pirjo, ville))
    read, go_on = threading.Event(), threading.Event()
    real = organisations.memberships_of

    def read_then_wait(identity):
        found = real(identity)
        if identity.id == ville.id and not read.is_set():
            read.set()
            go_on.wait(10)
        return found
    monkeypatch.setattr(organisations, "memberships_of", read_then_wait)
    leave = post(app, villes, "/leave", confirmed="yes")
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("leave", leave()))
    thread.start()
    assert read.wait(10)
    assert clone(app, pirjos).post(f"/orgs/{org.id}/members/{ville_id}/role",
                                   data={**pirjos.form("/role")["fields"], "role": "admin"}).status_code == 200
    second = clone(app, pirjos).post(f"/orgs/{org.id}/members/{pirjo_id}/role",
                                   data={**pirjos.form("/role")["fields"], "role": "member"})
    assert second.status_code in (200, 302)
    go_on.set()
    thread.join()
    db.session.expire_all()
    assert result["leave"].status_code == 302
    assert organisations.membership(org, ville).role == ADMIN  # refused: he is the only admin now



@pytest.mark.parametrize("change", ["role", "remove"])
def test_an_admin_stepping_down_is_told_so_on_their_account_page(app, change):
    """Before, the change was made and the answer was "You do not have access to this page"."""
    pirjo, kaisa = person("pirjo@siivous.fi"), person("kaisa@siivous.fi")
    org = organisation("Siivous Oy", "0737546-2", pirjo, [kaisa])
    organisations.set_role(org, organisations.membership(org, kaisa), ADMIN)
    db.session.commit()
    own_id = organisations.membership(org, pirjo).id
    browser = signed_in(app, pirjo)
    if change == "role":
        browser.get(f"/orgs/{org.id}")
        browser.submit(f"/members/{own_id}/role", role="member")
        told = "pirjo@siivous.fi is now a member."
    else:
        browser.get(f"/orgs/{org.id}/members/{own_id}/remove")
        browser.submit(f"/members/{own_id}/remove")
        told = "pirjo@siivous.fi was removed."
    assert browser.page.status_code == 200 and "/account" in browser.url
    assert told in browser.text and "You do not have access" not in browser.text
    db.session.expire_all()
    assert not organisations.is_admin(org, pirjo)


@row_locks
@pytest.mark.parametrize("change", ["withdraw", "remove"])
def test_a_double_clicked_withdrawal_or_removal_answers_as_done_both_times(app, company, monkeypatch, change):
    """The later click's answer is the page the admin sees. Before, it said "Page not found"
    though the first click had done what was asked."""
    org, admin, worker = company
    organisations.invite(org, "uusi@siivous.fi", actor=admin)
    db.session.commit()
    browser = signed_in(app, admin)
    if change == "withdraw":
        browser.get(f"/orgs/{org.id}")
    else:
        browser.get(f"/orgs/{org.id}/members/{organisations.membership(org, worker).id}/remove")
    barrier_after(monkeypatch, organisations, "is_admin")
    answers = race(app, browser, f"/{change}")
    assert [a.status_code for a in answers] == [200, 200]
    said = sorted("That was done already." in a.get_data(as_text=True) for a in answers)
    assert said == [False, True]
    events = {"withdraw": "org.invitation_withdrawn", "remove": "org.member_removed"}
    assert AuditEvent.query.filter_by(event=events[change]).count() == 1
