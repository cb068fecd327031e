"""Mail: render into the outbox inside the caller's transaction, deliver after commit.

Templates are idp/web/templates/mail/<kind>.txt and .html, rendered in the recipient's
language. Delivery goes over SMTP (IDP_SMTP_URL: smtp://, smtp+starttls:// or smtps://,
with optional user:password@); without it, a mail is written to the log, links and
all, so the embedded setup can be followed by hand.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import smtplib
import ssl
import time
from email.message import EmailMessage
from email import policy
from email.utils import format_datetime, getaddresses, make_msgid
from urllib.parse import unquote, urlsplit

from flask import current_app, render_template
from flask_babel import force_locale

from ..extensions import db
from ..models import Campaign, CampaignMember, OutboxMail
from ..models.campaign import RUNNING
from ..models.outbox import FAILED, LOGGED, NO_BODY, PENDING, SENDING, SENT
from . import clock, leases, outbound_http, secrets_box, stopping
from .campaigns import mailing as campaign_mailing

log = logging.getLogger(__name__)

RECIPIENT = "<recipient>"  # stands for the address in stored and logged SMTP errors


class PermanentFailure(Exception):
    """The server refused for good (SMTP 5xx): retrying cannot help."""


class Unsendable(Exception):
    """The mail cannot be made: it fails without being tried."""


def default_locale() -> str:
    """Mail to someone with no language of their own: the pages' default too. Before, it was
    Finnish whatever IDP_DEFAULT_LOCALE said."""
    return current_app.config["IDP_DEFAULT_LOCALE"]


def render(kind: str, locale: str | None, **context) -> tuple[str, str, str]:
    """(subject, text, html) of `kind` in `locale`: the text template's first line is the subject."""
    with force_locale(locale or default_locale()):
        # The text part's footer is the HTML's (mail/_layout.html), after the usual "-- " line.
        text = f'{render_template(f"mail/{kind}.txt", **context).rstrip()}\n\n-- \n{render_template("mail/_footer.txt")}\n'
        html = render_template(f"mail/{kind}.html", **context)
    subject, _, body = text.partition("\n")
    return subject.strip(), body.lstrip("\n"), html


def enqueue(kind: str, recipient: str, locale: str | None, identity=None, **context) -> OutboxMail:
    """Render `kind` in `locale` and add it to the outbox; the caller commits."""
    subject, text, html = render(kind, locale, **context)
    mail = OutboxMail(kind=kind, recipient=recipient, identity_id=getattr(identity, "id", identity),
                      subject=subject, text=secrets_box.encrypt(text, secrets_box.MAIL_BODY),
                      html=secrets_box.encrypt(html, secrets_box.MAIL_BODY), sealed=True)
    db.session.add(mail)
    return mail


def written() -> list[OutboxMail]:
    """Mail enqueued in the current, not yet committed transaction (to deliver right after it)."""
    return [item for item in db.session.new if isinstance(item, OutboxMail)]


def deliver_now(mail: OutboxMail) -> bool:
    """Try once, right after the commit that wrote it; True when it left (or was logged), or
    when a sender loop had already taken it (it is on its way: that sender retries it)."""
    if leases.claim(OutboxMail, mail.id, _lease_seconds(), current_app.config["IDP_MAIL_MAX_ATTEMPTS"]):
        _deliver(mail)
    else:
        db.session.commit()
    return mail.status in (SENT, LOGGED, SENDING)


def deliver_due(limit: int = 100) -> dict:
    """Deliver pending mail whose time has come, one at a time; returns counts by outcome.

    Each mail is claimed, sent and recorded on its own, so a sender stopped in the middle
    of a round leaves at most the mail in hand to be sent again, never the mails before it."""
    counts = {SENT: 0, LOGGED: 0, PENDING: 0, FAILED: 0}
    for mail_id in leases.abandoned(OutboxMail, current_app.config["IDP_MAIL_MAX_ATTEMPTS"], **NO_BODY):
        log.warning("mail %s given up: the sender stopped during each of its attempts", mail_id)
        counts[FAILED] += 1
    db.session.commit()
    for _ in range(limit):
        mail = _claim_next()
        if mail is None:
            db.session.commit()
            break
        _deliver(mail)
        counts[mail.status] += 1
    return counts


def _claim_next() -> OutboxMail | None:
    """Claim the next due mail, or None when nothing may be sent now. The caller commits."""
    for which in _sendable():
        mail_id = db.session.execute(
            db.select(OutboxMail.id).where(leases.due(OutboxMail, clock.now()), which)
            .order_by(OutboxMail.id).limit(1).with_for_update(skip_locked=True)).scalar()
        if mail_id is not None and leases.claim(OutboxMail, mail_id, _lease_seconds(),
                                                current_app.config["IDP_MAIL_MAX_ATTEMPTS"]):
            return db.session.get(OutboxMail, mail_id)
    return None


def _sendable():
    """Other mail first, then each running campaign's with room left in its minute: campaign
    mail leaves at most at its campaign's rate and never holds back other mail."""
    yield OutboxMail.campaign_id.is_(None)
    for campaign_id, rate in _running_campaigns():
        if rate is None or _sent_last_minute(campaign_id) < rate:
            yield OutboxMail.campaign_id == campaign_id


def _running_campaigns() -> list:
    """(id, rate per minute) of the running campaigns. Their rows stay locked until the claim
    commits, so two senders never both count a minute's room and both fill it; one that finds
    a campaign locked leaves it to the other this time."""
    return db.session.execute(
        db.select(Campaign.id, Campaign.rate_per_minute).where(Campaign.status == RUNNING)
        .with_for_update(skip_locked=True)).all()


def _sent_last_minute(campaign_id: int) -> int:
    """Mails of the campaign that left (or were logged) in the last minute, and those being
    sent now."""
    # Those that left are counted on the members (the sender marks each one reached): a far
    # smaller table to scan than the outbox with every message's text. Only the few being
    # sent are counted in the outbox.
    since = clock.now() - dt.timedelta(minutes=1)
    return db.session.execute(
        db.select(db.func.count()).where(CampaignMember.campaign_id == campaign_id,
                                         db.or_(CampaignMember.last_mailed_at > since, CampaignMember.logged_at > since))
    ).scalar_one() + db.session.execute(
        db.select(db.func.count()).where(OutboxMail.campaign_id == campaign_id, OutboxMail.status == SENDING,
                                         OutboxMail.next_attempt_at > clock.now())
    ).scalar_one()


def pending_count() -> int:
    return leases.waiting(OutboxMail)


def _lease_seconds() -> int:
    # An SMTP conversation (connect, greeting, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, QUIT)
    # ends within CONVERSATION_TIMEOUTS of IDP_MAIL_TIMEOUT however slow the server: the
    # lease outlasts it, so a slow server never makes another sender start the same mail.
    return (CONVERSATION_TIMEOUTS + 5) * current_app.config["IDP_MAIL_TIMEOUT"] + 30


def _deliver(mail: OutboxMail) -> None:
    """Send a claimed mail and record the outcome. The claim is committed first, and nothing
    is read from the database during the SMTP conversation, so no connection waits on it."""
    config = current_app.config
    try:
        message = _message(mail, *_bodies(mail), config["IDP_MAIL_FROM"])
    except Unsendable as error:
        mail.last_error = str(error)
        mail.close(FAILED)
        db.session.commit()
        return
    db.session.commit()
    # The envelope as stored, not read back from the headers: a header is parsed by its own
    # rules, and the address it gave could be another.
    envelope = (getaddresses([config["IDP_MAIL_FROM"]])[0][1], mail.recipient)
    with leases.in_hand(OutboxMail, mail.id):
        error = _send(message, envelope, config)
    _record(mail, error, config)
    db.session.commit()


def _send(message: EmailMessage, envelope: tuple[str, str], config) -> Exception | None:
    """What went wrong, if anything (PermanentFailure: do not retry)."""
    if not config["IDP_SMTP_URL"]:
        log.warning("mail (no IDP_SMTP_URL, not sent) to=%s subject=%s\n%s", message["To"], message["Subject"],
                    message.get_body(preferencelist=("plain",)).get_content())
        return None
    try:
        _send_smtp(message, envelope, config)
    # Whatever the server, the network or smtplib's reading of them raise is tried again
    # later: smtplib lets through more than its own errors (a UnicodeError for an address
    # beyond ASCII to a server without ESMTP, a binascii.Error for an AUTH challenge that is
    # no base64), and each one stopped the sender loop at the mail, round after round.
    except Exception as error:
        return error
    return None


def _record(mail: OutboxMail, error: Exception | None, config) -> None:
    if error is None:
        mail.sent_at, mail.last_error = clock.now(), None
        if config["IDP_SMTP_URL"]:
            mail.close(SENT)
            _note_campaign_member(mail, last_mailed_at=mail.sent_at)
        else:
            mail.close(LOGGED)
            _note_campaign_member(mail, logged_at=mail.sent_at)
    elif isinstance(error, PermanentFailure):
        mail.last_error = leases.said(_without(mail.recipient, str(error)))
        mail.close(FAILED)
        _note_campaign_member(mail, bounced_at=clock.now(), bounce_reason=mail.last_error)
    else:
        leases.retry_later(mail, _without(mail.recipient, f"{type(error).__name__}: {_reply(error)}"),
                           config["IDP_MAIL_MAX_ATTEMPTS"], first_delay=30)
        if mail.status == FAILED:
            mail.close(FAILED)
        # The id finds the mail and its recipient in the outbox: logs carry no addresses.
        log.warning("mail %s (%s) not delivered: %s", mail.id, mail.kind, mail.last_error)


def _reply(error: Exception) -> str:
    """The server's code and text, or the error's own words."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = error.recipients.values()  # keyed by the address: the replies alone
    elif isinstance(error, smtplib.SMTPResponseException):
        replies = [(error.smtp_code, error.smtp_error)]
    else:
        return str(error)
    return "; ".join(f"{code} {text.decode(errors='replace') if isinstance(text, bytes) else text}"
                     for code, text in replies)


def _without(address: str, text: str) -> str:
    """`text` with `address` replaced: servers repeat it ("<pekka@example.fi>: Recipient
    address rejected"), and last_error, bounce_reason and the log keep no addresses."""
    return re.sub(f"<?{re.escape(address)}>?", RECIPIENT, text, flags=re.IGNORECASE)


def _note_campaign_member(mail: OutboxMail, **values) -> None:
    """A campaign counts per person whose mail left and whose bounced (they need another way
    to be reached), on the member row, so its progress is one scan of its members."""
    if mail.campaign_id is not None:
        db.session.execute(db.update(CampaignMember).where(
            CampaignMember.campaign_id == mail.campaign_id, CampaignMember.identity_id == mail.identity_id)
            .values(**values))


def _bodies(mail: OutboxMail) -> tuple[str, str]:
    """(text, html) to send: stored, a body is sealed, as it carries codes and links, and a
    campaign mail's (written in SQL) has no link yet; mail from before either is as it is."""
    if mail.campaign_id is not None:
        return campaign_mailing.with_link(mail)
    if not mail.sealed:
        return mail.text, mail.html
    try:
        return (secrets_box.decrypt(mail.text, secrets_box.MAIL_BODY),
                secrets_box.decrypt(mail.html, secrets_box.MAIL_BODY))
    except secrets_box.Unreadable as error:
        raise Unsendable("sealed under an IDP_SECRET_KEY no longer configured") from error


def _message(mail: OutboxMail, text: str, html: str, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.recipient
    message["Subject"] = mail.subject
    message["Date"] = format_datetime(clock.now().replace(tzinfo=dt.timezone.utc))
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    # RFC 3834: no out-of-office or other automatic answers to a mail nobody reads.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    # add_alternative gives the HTML part a MIME-Version of its own; it belongs at the top only.
    del message.get_payload()[1]["MIME-Version"]
    return message


# What a whole conversation may take, in IDP_MAIL_TIMEOUTs, and what the server's replies
# may hold in all: within the lease (_lease_seconds), and far beyond any honest server's.
CONVERSATION_TIMEOUTS = 10
MAX_REPLIES = 64 * 1024


def _bounded(smtp_class, deadline: float):
    """smtp_class reading its server's replies within the deadline, MAX_REPLIES at most.
    smtplib's own timeout restarts at every line: a server greeting a line at a time kept
    the sender past its lease (and another sender sent the mail again), and a reply of
    endless lines filled its memory."""
    class Bounded(smtp_class):
        def getreply(self):
            if self.file is None:  # a new connection, or one STARTTLS wrapped
                self.file = _Replies(self.sock, deadline)
            return super().getreply()
    return Bounded


class _Replies:
    def __init__(self, sock, deadline: float):
        self._file = outbound_http.Deadline(sock, deadline).makefile("rb")
        self._left = MAX_REPLIES

    def readline(self, limit: int = -1) -> bytes:
        line = self._file.readline(limit)
        self._left -= len(line)
        if self._left < 0:
            raise OSError(f"the server's replies are longer than {MAX_REPLIES} bytes")
        return line

    def close(self) -> None:
        self._file.close()


def _send_smtp(message: EmailMessage, envelope: tuple[str, str], config) -> None:
    url = urlsplit(config["IDP_SMTP_URL"])
    timeout = config["IDP_MAIL_TIMEOUT"]
    deadline = time.monotonic() + CONVERSATION_TIMEOUTS * timeout
    server = None
    try:
        with stopping.interruptible():
            if url.scheme == "smtps":
                server = _bounded(smtplib.SMTP_SSL, deadline)(url.hostname, url.port or 465, timeout=timeout,
                                                              context=ssl.create_default_context())
            else:
                server = _bounded(smtplib.SMTP, deadline)(url.hostname, url.port or 25, timeout=timeout)
            if url.scheme == "smtp+starttls":
                server.starttls(context=ssl.create_default_context())
            if url.username:
                server.login(unquote(url.username), unquote(url.password or ""))
            _hand_over(server, message, envelope)
        # The server has the mail: a stop now only cuts the goodbye short, the mail is recorded
        # as sent first; nor may a failed goodbye have it sent again.
        with stopping.cut_short(), contextlib.suppress(OSError, smtplib.SMTPException):
            server.quit()
    finally:
        if server is not None:
            server.close()


def _hand_over(server: smtplib.SMTP, message: EmailMessage, envelope: tuple[str, str]) -> None:
    # Not send_message: it writes the message as mbox files want it, a line of the text
    # beginning "From " turned into ">From " ("From now on, sign in with ...").
    sender, recipient = envelope
    international = not (sender + recipient).isascii()
    try:
        server.sendmail(sender, [recipient], message.as_bytes(policy=policy.SMTPUTF8 if international else policy.SMTP),
                        ["SMTPUTF8", "BODY=8BITMIME"] if international else [])
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(_reply(error)) from error
        raise
    except smtplib.SMTPSenderRefused:
        # Tunnus's own address refused (IDP_MAIL_FROM): no bounce of the person's, tried again.
        raise
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            raise PermanentFailure(_reply(error)) from error
        raise
