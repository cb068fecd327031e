"""Campaign mail through the real SMTP server: language, link, start time, rate, bounces,
reminders and cancelling."""
from idp.extensions import db
from idp.models import OutboxMail
from idp.services import campaigns, clock, mail
from tests.support.senders import another_round_during_first_send

from .helpers import (campaign_link, cli, counts, deliver, deliver_refusing, local, member, person, started)

DAY = 24 * 3600


def test_each_person_gets_one_mail_in_their_own_language(app, runner, mailbox):
    person("sanna@example.fi", "Sanna", locale="fi")
    person("sven@example.se", "Sven", locale="sv")
    person("emma@example.com", "Emma <Ö'Brien>", locale="en")
    person("nimeton@example.fi", "", locale=None)
    started(runner, "all", deadline="2099-06-30T16:00")
    deliver()

    assert len(mailbox.messages) == 4
    finnish, swedish = mailbox.last("sanna@example.fi"), mailbox.last("sven@example.se")
    english = mailbox.last("emma@example.com")
    assert mailbox.text(finnish).startswith("Hei Sanna,")
    assert finnish["Subject"] == "Vahvista sähköpostiosoitteesi ja valitse uusi salasana"
    assert mailbox.text(swedish).startswith("Hej Sven,") and 'lang="sv"' in mailbox.html(swedish)
    assert swedish["Subject"] == "Bekräfta din e-postadress och välj ett nytt lösenord"
    assert english["Subject"] == "Confirm your email address and choose a new password"
    assert mailbox.text(english).startswith("Hello Emma <Ö'Brien>,")
    assert "Hello Emma &lt;Ö&#39;Brien&gt;," in mailbox.html(english)  # the name is escaped in HTML
    assert "Jun 30, 2099" in mailbox.text(english) and "30.6.2099" in mailbox.text(finnish)  # deadline, own language
    assert mailbox.text(mailbox.last("nimeton@example.fi")).startswith("Hei,")  # no name: no empty greeting
    links = {campaign_link(mailbox, m["To"]) for m in mailbox.messages}
    assert len(links) == 4  # everyone has their own link
    assert campaign_link(mailbox, "sanna@example.fi") in mailbox.html(finnish)


def test_mail_waits_for_the_start_time(app, runner, mailbox):
    person("a@example.fi")
    campaign_id = started(runner, "all", starts="2099-01-01T09:00")
    assert deliver()["sent"] == 0
    clock.advance((campaigns.get(campaign_id).starts_at - clock.now()).total_seconds() + 1)
    assert deliver()["sent"] == 1


def test_the_sender_keeps_to_the_campaign_rate_but_never_holds_back_other_mail(app, runner, mailbox):
    for n in range(5):
        person(f"h{n}@example.fi")
    campaign_id = started(runner, "all", rate="2/min")
    other = mail.enqueue("test_message", "muu@example.fi", "en", link="https://tunnus.example/x")
    db.session.commit()

    assert deliver()["sent"] == 3  # two campaign mails and the other one
    assert mailbox.last("muu@example.fi")
    assert deliver()["sent"] == 0  # the minute is used up
    clock.advance(61)
    assert deliver()["sent"] == 2
    clock.advance(61)
    assert deliver()["sent"] == 1
    assert counts(runner, campaign_id)["delivered"] == 5 and db.session.get(OutboxMail, other.id).status == "sent"


def test_two_senders_share_the_campaign_rate(app, runner, mailbox, monkeypatch):
    """A mail being sent counts against its campaign's minute: another sender's round
    meanwhile (a second `tunnus mail send --loop`) sends none beyond the rate."""
    for n in range(3):
        person(f"j{n}@example.fi")
    started(runner, "all", rate="1/min")
    another_round_during_first_send(app, monkeypatch)
    deliver()
    assert len(mailbox.messages) == 1


def test_a_permanent_refusal_is_counted_as_a_bounce_of_that_person(app, runner, mailbox):
    person("on@example.fi")
    gone = person("poissa@example.fi")
    campaign_id = started(runner, "all")
    deliver_refusing(mailbox, "poissa@example.fi")

    bounced = member(campaign_id, gone)
    assert bounced.bounced_at is not None and "550" in bounced.bounce_reason
    got = counts(runner, campaign_id)
    assert (got["mailed"], got["delivered"], got["bounced"]) == (2, 1, 1)
    pending = runner.invoke(args=["campaigns", "pending", str(campaign_id), "--csv"]).output
    assert "poissa@example.fi" in pending and "550" in pending


def test_reminders_go_on_the_given_days_to_those_still_pending(app, browser, runner, mailbox):
    doer, waiter = person("tekija@example.fi"), person("odottaja@example.fi")
    person("poissa@example.fi")
    campaign_id = started(runner, "all", reminder_days="7,14", deadline="2099-12-31T12:00")
    deliver_refusing(mailbox, "poissa@example.fi")
    browser.get(local(campaign_link(mailbox, "tekija@example.fi")))
    browser.submit("/campaign/")
    browser.submit("/password", password="kolme pientä porsasta", confirm="kolme pientä porsasta")
    mailbox.clear()

    assert cli(runner, "campaigns", "remind") == {}  # no reminder day has come
    clock.advance(7 * DAY)
    assert cli(runner, "campaigns", "remind") == {str(campaign_id): 1}
    assert cli(runner, "campaigns", "remind") == {}  # once per reminder day
    deliver()
    assert [m["To"] for m in mailbox.messages] == ["odottaja@example.fi"]  # not the done, not the bounced
    assert mailbox.last("odottaja@example.fi")["Subject"].startswith("Muistutus:")
    assert campaign_link(mailbox, "odottaja@example.fi")  # the same kind of link
    clock.advance(7 * DAY)
    assert cli(runner, "campaigns", "remind") == {str(campaign_id): 1}
    assert member(campaign_id, waiter).reminders_sent == 2 and member(campaign_id, doer).reminders_sent == 0


def test_a_campaign_starting_near_the_year_9999_stops_no_other_campaigns_reminders(app, runner, mailbox):
    """Before, its start plus the reminder days was beyond what a date can be: the daily
    `campaigns remind` stopped with a traceback, mailing none of the campaigns after it."""
    person("odottaja@example.fi")
    far = started(runner, "all", name="Kirjoitusvirhe", starts="9999-12-30T12:00Z", reminder_days="7")
    near = started(runner, "all", reminder_days="7")
    clock.advance(7 * DAY)
    assert cli(runner, "campaigns", "remind") == {str(near): 1}
    assert cli(runner, "campaigns", "status", str(far))["status"] == "running"


def test_cancelling_withdraws_unsent_mail_and_voids_the_links(app, browser, runner, mailbox):
    for n in range(3):
        person(f"h{n}@example.fi")
    campaign_id = started(runner, "all", rate="1/min")
    deliver()
    link = campaign_link(mailbox, mailbox.messages[0]["To"])
    assert cli(runner, "campaigns", "cancel", str(campaign_id)) == {"withdrawn": 2}
    withdrawn = db.session.execute(db.select(OutboxMail.text, OutboxMail.html, OutboxMail.subject)
                                   .filter_by(status="failed")).all()
    assert len(withdrawn) == 2 and all(text == html == "" and subject for text, html, subject in withdrawn)
    clock.advance(120)
    assert deliver()["sent"] == 0
    browser.get(local(link))
    assert browser.page.status_code == 404 and "This link is not valid" in browser.text
    assert counts(runner, campaign_id)["targeted"] == 3  # nothing is deleted
