"""/operator/campaigns: only for operators; funnel and daily charts as inline SVG, the
pending list with search and CSV export."""
import csv
import datetime as dt
import io
import itertools
import math
import re
from zoneinfo import ZoneInfo

from idp.extensions import db
from idp.flows.email_change import EmailChangeFlow
from idp.models import AuditEvent, CampaignMember
from idp.services import audit, clock
from idp.services.campaigns import progress
from idp.web.operator import COLOURS, LINE_STYLES
from tests.support.browser import Browser
from tests.support.journeys import sign_in, signed_in
from tests.support.races import at_once, meet_after, post, row_locks

from .helpers import NEW_PASSWORD, campaign, campaign_link, cli, deliver, local, person, started


def test_signed_out_people_are_sent_to_sign_in(app, browser):
    browser.get("/operator/campaigns", follow=False)
    assert browser.page.status_code == 302 and "/login" in browser.page.headers["Location"]


def test_people_who_are_not_operators_get_403(app, runner):
    started(runner, "all")
    someone = person("tavallinen@example.fi")
    browser = signed_in(app, someone)
    assert browser.client.get("/operator/campaigns").status_code == 403
    response = browser.client.get("/operator/campaigns/1")
    assert response.status_code == 403 and "You do not have access to this page." in response.get_data(as_text=True)
    assert browser.client.get("/operator/campaigns/1/pending.csv").status_code == 403


def test_operator_sees_funnel_daily_chart_and_pending_list(app, runner, mailbox):
    for n in range(4):
        person(f"h{n}@example.fi", f"Henkilö {n}")
    campaign_id = started(runner, "all", name="Siirto 2026", deadline="2099-01-01T12:00")
    operaattori = person("operaattori@example.fi", "Oona Operaattori")  # not asked: came after the start
    assert cli(runner, "users", "grant-operator", "--email", "Operaattori@Example.fi")["operator"] is True
    deliver()
    done = Browser(app)
    done.get(local(campaign_link(mailbox, "h0@example.fi")))
    done.submit("/campaign/")
    done.submit("/password", password=NEW_PASSWORD, confirm=NEW_PASSWORD)

    browser = signed_in(app, operaattori)
    browser.get("/operator/campaigns")
    assert browser.page.status_code == 200 and "Siirto 2026" in browser.text and "1 of 4" in browser.text
    browser.get(f"/operator/campaigns/{campaign_id}")
    page = browser.text
    funnel = re.search(r'<svg data-testid="funnel-chart".*?</svg>', page, re.S).group(0)
    widths = dict(re.findall(r'data-state="(\w+)">\s*<text[^>]*>[^<]*</text>\s*<rect class="bar"[^>]*width="([\d.]+)"',
                             funnel))
    assert float(widths["targeted"]) == float(widths["delivered"]) > float(widths["completed"]) > 0
    assert float(widths["bounced"]) == 0
    assert '<svg data-testid="daily-chart"' in page and "<polyline" in page
    assert re.search(r'<td data-state="completed">1</td>', page)
    assert "3 people still to act." in page
    assert "h1@example.fi" in page and "h0@example.fi" not in page

    browser.get(f"/operator/campaigns/{campaign_id}?q=henkilö 2")
    assert "1 person still to act." in browser.text and "h2@example.fi" in browser.text
    assert "h1@example.fi" not in browser.text

    response = browser.client.get(f"/operator/campaigns/{campaign_id}/pending.csv?q=h1")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(row["email"], row["missing"]) for row in rows] == [("h1@example.fi", "verify_email change_password")]
    assert db.session.execute(db.select(AuditEvent).filter_by(event="campaign.pending_exported")).scalar_one()


def test_the_pending_list_finds_an_address_with_an_international_domain_as_it_is_shown(app, runner):
    """Before, the search compared with the stored form, whose domain is IDNA-encoded
    (xn--...): the address shown, typed or pasted, found nobody."""
    person("maija@äänekoski.fi", "Maija Meikäläinen")
    person("matti@example.fi", "Matti")
    campaign_id = started(runner, "all")
    operaattori = person("operaattori@example.fi")
    cli(runner, "users", "grant-operator", "--email", operaattori.email)
    browser = signed_in(app, operaattori)
    for typed in ("maija@äänekoski.fi", "ÄÄNEKOSKI", "maija@xn--nekoski-"):
        browser.get(f"/operator/campaigns/{campaign_id}?q={typed}")
        assert "1 person still to act." in browser.text and "maija@äänekoski.fi</td>" in browser.text, typed


def test_mail_only_logged_without_smtp_is_shown_as_not_sent(app, runner, mailbox):
    """Without IDP_SMTP_URL the sender writes each mail to the log: nobody received it,
    so neither the status command nor the page may count it as delivered."""
    app.config["IDP_SMTP_URL"] = None
    person("h0@example.fi")
    person("h1@example.fi")
    campaign_id = started(runner, "all")
    operaattori = person("operaattori@example.fi")  # not asked: came after the start
    cli(runner, "users", "grant-operator", "--email", operaattori.email)
    deliver()

    text = runner.invoke(args=["campaigns", "status", str(campaign_id)]).output
    assert "  delivered        0\n" in text and "  mailed           0\n" in text
    assert "  logged           2  not sent: no SMTP configured (IDP_SMTP_URL), only written to the log" in text
    page = signed_in(app, operaattori).client.get(f"/operator/campaigns/{campaign_id}").get_data(as_text=True)
    assert '<td data-state="delivered">0</td>' in page and '<td data-state="logged">2</td>' in page
    assert ("Mail to 2 people was only written to the log, not sent: no SMTP server is configured "
            "(IDP_SMTP_URL).") in page
    assert "Logged, not sent: no SMTP configured" in page and "Mailed " not in page


def test_csv_cells_cannot_become_spreadsheet_formulas(app, runner):
    person("ilkea@example.fi", "=HYPERLINK(\"http://evil\")")
    campaign_id = started(runner, "all")
    operaattori = person("operaattori@example.fi")
    cli(runner, "users", "grant-operator", "--email", operaattori.email)
    text = signed_in(app, operaattori).client.get(f"/operator/campaigns/{campaign_id}/pending.csv").get_data(
        as_text=True)
    assert "'=HYPERLINK" in text


def test_no_cell_becomes_a_formula_in_a_spreadsheet_that_splits_at_semicolons(app, runner):
    """Excel in Finnish and Swedish splits a .csv at ";": a cell begins after each one. The
    bounce reason is the recipient's mail server's text. Before, only a value's first
    character was checked."""
    person("ilkea@example.fi", "Matti;=cmd|' /C calc'!A0;")
    bounced = person("pomppu@example.fi", "Pomppu")
    campaign_id = started(runner, "all")
    member = db.session.execute(db.select(CampaignMember).filter_by(identity_id=bounced.id)).scalar_one()
    member.bounced_at, member.bounce_reason = clock.now(), '550 no; "=HYPERLINK(A2)";+1'
    db.session.commit()
    operaattori = person("operaattori@example.fi")
    cli(runner, "users", "grant-operator", "--email", operaattori.email)
    text = signed_in(app, operaattori).client.get(f"/operator/campaigns/{campaign_id}/pending.csv").get_data(
        as_text=True)
    cells = [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]
    assert len(cells) > 5 and not [cell for cell in cells if cell.lstrip(' "').startswith(("=", "+", "-", "@"))]
    names = {row["email"]: row["name"] for row in csv.DictReader(io.StringIO(text))}
    assert names["ilkea@example.fi"] == "Matti;'=cmd|' /C calc'!A0;"  # still readable where "," splits


def test_revoked_operator_rights_end_at_once_in_an_open_session(app, runner):
    started(runner, "all")
    operaattori = person("operaattori@example.fi")
    cli(runner, "users", "grant-operator", "--email", operaattori.email)
    browser = signed_in(app, operaattori)
    assert browser.client.get("/operator/campaigns").status_code == 200
    assert cli(runner, "users", "revoke-operator", "--email", operaattori.email)["operator"] is False
    assert browser.client.get("/operator/campaigns").status_code == 403
    assert [e.event for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.event.startswith(
        "identity.operator_")))] == ["identity.operator_granted", "identity.operator_revoked"]
    result = runner.invoke(args=["users", "revoke-operator", "--email", "ei@example.fi"])
    assert result.exit_code != 0 and "No identity" in result.output


def test_grant_operator_needs_an_existing_identity(app, runner):
    result = runner.invoke(args=["users", "grant-operator", "--email", "ei@example.fi"])
    assert result.exit_code != 0 and "No identity" in result.output


@row_locks
def test_operator_rights_granted_as_the_person_confirms_a_new_sign_in_email_are_given(app, runner, mailbox,
                                                                                      monkeypatch):
    """An operator grants the rights by the person's address at the moment the person
    confirms, by the mailed link, a change of that address. Both are answered, not one with
    an error: the address changes, and the person signs in with it as an operator."""
    started(runner, "all")
    oona = person("oona@example.fi", "Oona Operaattori")
    browser = signed_in(app, oona)
    browser.get("/account")
    browser.submit("/account/email", new_email="oona@uusi.example", current_password=oona.test_password)
    confirming = Browser(app)
    confirming.get(mailbox.link("oona@uusi.example", "/confirm/"))
    # The change holds its journey (and the person's row before it) as the command has its
    # audit record ready; then each goes on.
    meet_after(monkeypatch, (EmailChangeFlow, "_lock"), (audit, "record"))

    def grant():
        with app.app_context():  # as the command's own process has
            return runner.invoke(args=["users", "grant-operator", "--email", "oona@example.fi", "--json"])

    granted, confirmed = at_once(grant, post(app, confirming, "/confirm/"))
    monkeypatch.undo()

    assert granted.exit_code == 0, granted.output
    assert confirmed.status_code == 200 and "Email address changed" in confirmed.get_data(as_text=True), \
        confirmed.status_code
    again = Browser(app)
    again.get("/login")
    sign_in(again, "oona@uusi.example", oona.test_password)
    assert again.client.get("/operator/campaigns").status_code == 200


def _lab(colour: str) -> tuple[float, float, float]:
    """CIELAB (D65) of an sRGB colour, so distances are as the eye sees them."""
    linear = [(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
              for c in (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))]
    xyz = [sum(w * c for w, c in zip(row, linear)) / white for row, white in
           (((0.4124, 0.3576, 0.1805), 0.95047), ((0.2126, 0.7152, 0.0722), 1.0), ((0.0193, 0.1192, 0.9505), 1.08883))]
    x, y, z = (t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz)
    return 116 * y - 16, 500 * (x - y), 200 * (y - z)


def test_daily_lines_differ_in_dash_and_marker_and_clearly_in_colour():
    """WCAG 1.4.1: no line is told apart by colour alone, and no two colours are near alike
    (a CIE76 distance under about 30 is hard to tell at a line's width)."""
    states = list(progress.COLUMNS)
    assert len({LINE_STYLES[s][0] for s in states}) == len({LINE_STYLES[s][1] for s in states}) == len(states)
    assert min(math.dist(_lab(COLOURS[a]), _lab(COLOURS[b])) for a, b in itertools.combinations(states, 2)) > 30


def test_status_json_gives_times_with_their_zone_as_they_were_entered(app, runner):
    """Entered in local time (IDP_TIMEZONE, Helsinki: UTC+2 in winter), read back the same moment."""
    campaign_id = campaign(runner, "all", deadline="2027-01-31T12:00")
    status = cli(runner, "campaigns", "status", str(campaign_id))
    assert dt.datetime.fromisoformat(status["deadline_at"]) == dt.datetime(
        2027, 1, 31, 12, 0, tzinfo=ZoneInfo("Europe/Helsinki"))
    assert status["deadline_at"] == "2027-01-31T10:00:00+00:00"
