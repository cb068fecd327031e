"""Mail: render into the outbox inside the caller's transaction, deliver after commit.

Templates are idp/web/templates/mail/<kind>.txt and .html, rendered in the recipient's
language. Delivery goes over SMTP (IDP_SMTP_URL: smtp://, smtp+starttls:// or smtps://,
with optional user:password@); without it, a mail is written to the log, links and
all, so the embedded setup can be followed by hand.
"""
from __future__ import annotations

import datetime as dt
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from ..extensions import db
from ..models import Campaign, CampaignMember, OutboxMail
from ..models.campaign import RUNNING
from ..models.outbox import FAILED, LOGGED, PENDING, SENT
from . import clock

log = logging.getLogger(__name__)

DEFAULT_LOCALE = "fi"


class PermanentFailure(Exception):
    """The server refused for good (SMTP 5xx): retrying cannot help."""


def render(kind: str, locale: str | None, **context) -> tuple[str, str, str]:
    """(subject, text, html) of `kind` in `locale`: the text template's first line is the subject."""
    with force_locale(locale or DEFAULT_LOCALE):
        text = render_template(f"mail/{kind}.txt", **context)
        html = render_template(f"mail/{kind}.html", **context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n"), html


def enqueue(kind: str, recipient: str, locale: str | None, identity=None, **context) -> OutboxMail:
    """Render `kind` in `locale` and add it to the outbox; the caller commits."""
    subject, text, html = render(kind, locale, **context)
    mail = OutboxMail(kind=kind, recipient=recipient, identity_id=getattr(identity, "id", identity),
                      subject=subject, text=text, html=html)
    db.session.add(mail)
    return mail


def written() -> list[OutboxMail]:
    """Mail enqueued in the current, not yet committed transaction (to deliver right after it)."""
    return [item for item in db.session.new if isinstance(item, OutboxMail)]


def deliver_now(mail: OutboxMail) -> bool:
    """Try once, right after the commit that wrote it; True when it left (or was logged)."""
    _attempt(mail)
    db.session.commit()
    return mail.status in (SENT, LOGGED)


def deliver_due(limit: int = 100) -> dict:
    """Deliver pending mail whose time has come; returns counts by outcome.

    Campaign mail leaves at most at its campaign's rate per minute; other mail is never
    held back by it."""
    due = _due(OutboxMail.campaign_id.is_(None), limit)
    for campaign_id, rate in _running_campaigns():
        room = limit - len(due)
        batch = _due(OutboxMail.campaign_id == campaign_id, room if rate is None else min(rate, room)) if room else []
        if batch and rate is not None:
            batch = batch[:max(0, rate - _sent_last_minute(campaign_id))]
        due += batch
    counts = {SENT: 0, LOGGED: 0, PENDING: 0, FAILED: 0}
    for mail in due:
        _attempt(mail)
        counts[mail.status] += 1
    db.session.commit()
    return counts


def _due(which, limit: int) -> list[OutboxMail]:
    return list(db.session.execute(
        db.select(OutboxMail)
        .where(OutboxMail.status == PENDING, OutboxMail.next_attempt_at <= clock.now(), which)
        .order_by(OutboxMail.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).scalars())


def _running_campaigns() -> list:
    """(id, rate per minute) of the running campaigns. Their rows stay locked until this
    round commits, so two senders share one rate; one that finds a campaign locked leaves
    it to the other this round."""
    return db.session.execute(
        db.select(Campaign.id, Campaign.rate_per_minute).where(Campaign.status == RUNNING)
        .with_for_update(skip_locked=True)).all()


def _sent_last_minute(campaign_id: int) -> int:
    # Counted on the members (the sender marks each one reached): a far smaller table to
    # scan than the outbox with every message's text.
    return db.session.execute(
        db.select(db.func.count()).where(CampaignMember.campaign_id == campaign_id,
                                         CampaignMember.last_mailed_at > clock.now() - dt.timedelta(minutes=1))
    ).scalar_one()


def pending_count() -> int:
    return db.session.execute(
        db.select(db.func.count(OutboxMail.id)).where(OutboxMail.status == PENDING)
    ).scalar_one()


def _attempt(mail: OutboxMail) -> None:
    config = current_app.config
    mail.attempts += 1
    try:
        if config["IDP_SMTP_URL"]:
            _send_smtp(mail, config)
            mail.status = SENT
        else:
            log.warning("mail (no IDP_SMTP_URL, not sent) to=%s subject=%s\n%s", mail.recipient, mail.subject, mail.text)
            mail.status = LOGGED
        mail.sent_at = clock.now()
        mail.last_error = None
        _note_campaign_member(mail, last_mailed_at=mail.sent_at)
    except PermanentFailure as error:
        mail.status, mail.last_error = FAILED, str(error)[:500]
        _note_campaign_member(mail, bounced_at=clock.now(), bounce_reason=mail.last_error)
    except (OSError, smtplib.SMTPException) as error:
        mail.last_error = f"{type(error).__name__}: {error}"[:500]
        if mail.attempts >= config["IDP_MAIL_MAX_ATTEMPTS"]:
            mail.status = FAILED
        else:
            # 30 s, 1 min, 2 min ... up to an hour between tries.
            delay = min(30 * 2 ** (mail.attempts - 1), 3600)
            mail.next_attempt_at = clock.now() + dt.timedelta(seconds=delay)
        log.warning("mail %s to %s not delivered: %s", mail.id, mail.recipient, mail.last_error)


def _note_campaign_member(mail: OutboxMail, **values) -> None:
    """A campaign counts per person whose mail left and whose bounced (they need another way
    to be reached), on the member row, so its progress is one scan of its members."""
    if mail.campaign_id is not None:
        db.session.execute(db.update(CampaignMember).where(
            CampaignMember.campaign_id == mail.campaign_id, CampaignMember.identity_id == mail.identity_id)
            .values(**values))


def _message(mail: OutboxMail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


def _send_smtp(mail: OutboxMail, config) -> None:
    url = urlsplit(config["IDP_SMTP_URL"])
    timeout = config["IDP_MAIL_TIMEOUT"]
    if url.scheme == "smtps":
        server = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(url.hostname, url.port or 25, timeout=timeout)
    with server:
        if url.scheme == "smtp+starttls":
            server.starttls(context=ssl.create_default_context())
        if url.username:
            server.login(unquote(url.username), unquote(url.password or ""))
        try:
            server.send_message(_message(mail, config["IDP_MAIL_FROM"]))
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if all(500 <= code < 600 for code in codes):
                raise PermanentFailure(str(error.recipients)) from error
            raise
        except smtplib.SMTPResponseException as error:
            if 500 <= error.smtp_code < 600:
                raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
            raise
