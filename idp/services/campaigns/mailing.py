"""Campaign mail: one outbox row per member, written by one INSERT … SELECT.

Each mail is rendered once per language with placeholders; the database fills in the
person's name row by row. The link is left a placeholder in the outbox (it would let
anyone reading the database or a backup act as the person until the deadline) and filled
in as the mail is sent (with_link). It carries the member id and an HMAC of (campaign id,
member id, the address it was mailed to), so nothing per member is stored to check it,
and a link left in a mailbox the person has since moved away from opens nothing.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re

from ...extensions import db
from ...models import CampaignMember, Identity, OutboxMail
from ...models.identity import normalise_email
from ...models.outbox import PENDING
from .. import clock, links, mail, secrets_box

INVITE, REMINDER, CODE = "campaign_invite", "campaign_reminder", "campaign_code"
LANGUAGES = ("fi", "sv", "en")
LINK, NAME = "[[tunnus:link]]", "[[tunnus:name]]"
SIGNATURE_HEX = 32  # 128 bits of the HMAC is plenty for a link that dies at the deadline


def _key_from(secret: bytes) -> bytes:
    # A key of its own: a campaign link signature is useful for nothing else.
    return hmac.new(secret, b"tunnus campaign link", hashlib.sha256).digest()


def _key() -> bytes:
    return _key_from(secrets_box.secret_keys()[0])


def _keys() -> list[bytes]:
    """From each application secret, the current one first: links mailed before it changed work."""
    return [_key_from(secret) for secret in secrets_box.secret_keys()]


def _signature(key: bytes, campaign_id: int, member_id: int, address: str) -> str:
    return hmac.new(key, f"{campaign_id}:{member_id}:{address}".encode(), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def signature_matches(campaign_id: int, member_id: int, address: str, given: str) -> bool:
    """`address`: the person's normalised email now; a link mailed to an earlier one fails."""
    given = (given or "")[:SIGNATURE_HEX * 2]
    return any([hmac.compare_digest(_signature(key, campaign_id, member_id, address), given) for key in _keys()])


def _html_escaped(column):
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"), ("'", "&#39;")):
        column = db.func.replace(column, char, entity)
    return column


def _rendered(kind: str, campaign) -> dict:
    """(language, has a name) -> (subject, text, html), with the placeholders left in."""
    context = dict(campaign_name=campaign.name, deadline=campaign.deadline_at, link=LINK,
                   verify_email="verify_email" in campaign.requirements,
                   change_password="change_password" in campaign.requirements)
    return {(language, named): mail.render(kind, language, name=NAME if named else "", **context)
            for language in LANGUAGES for named in (True, False)}


def _filled(template: str, values: dict):
    """The template as a concatenation of its text and the SQL values of its placeholders
    (cheaper per row than searching a long text for them with replace())."""
    pieces = re.split(f"({'|'.join(map(re.escape, values))})", template)
    parts = [values[piece] if piece in values else db.literal(piece) for piece in pieces if piece]
    return functools.reduce(lambda left, right: left + right, parts) if parts else db.literal("")


def write(kind: str, campaign, members_filter, send_at: dt.datetime) -> int:
    """Write one `kind` mail to each member matching `members_filter`, set-based."""
    member, identity = CampaignMember.__table__, Identity.__table__
    default = mail.default_locale()
    language = db.case(*((identity.c.locale == code, code) for code in LANGUAGES if code != default), else_=default)
    # OFFSET 0 keeps PostgreSQL from inlining this: language and escaped name are computed
    # once per row, not once per use in the CASEs below.
    rows = (db.select(identity.c.id.label("identity_id"), identity.c.email, identity.c.name,
                      _html_escaped(identity.c.name).label("html_name"), language.label("language"))
            .select_from(member.join(identity, identity.c.id == member.c.identity_id))
            .where(member.c.campaign_id == campaign.id, members_filter).offset(0).subquery())
    text_values, html_values = {NAME: rows.c.name}, {NAME: rows.c.html_name}
    rendered = _rendered(kind, campaign)

    def pick(part: int, values=None):
        return db.case(*(((rows.c.language == code) & (rows.c.name != "" if has_name else rows.c.name == ""),
                          _filled(texts[part], values) if values else db.literal(texts[part]))
                         for (code, has_name), texts in rendered.items()))

    select = db.select(db.literal(kind), rows.c.email, rows.c.identity_id, pick(0), pick(1, text_values),
                       pick(2, html_values), db.literal(campaign.id), db.literal(PENDING), db.literal(0),
                       db.literal(send_at, db.DateTime), db.literal(clock.now(), db.DateTime))
    insert = db.insert(OutboxMail.__table__).from_select(
        ["kind", "recipient", "identity_id", "subject", "text", "html", "campaign_id", "status", "attempts",
         "next_attempt_at", "created_at"], select)
    return db.session.execute(insert, execution_options={"preserve_rowcount": True}).rowcount


def with_link(outbox_mail: OutboxMail) -> tuple[str, str]:
    """(text, html) of a campaign mail with its member's link filled in, signed for the
    address it goes to."""
    member_id = db.session.execute(db.select(CampaignMember.id).where(
        CampaignMember.campaign_id == outbox_mail.campaign_id,
        CampaignMember.identity_id == outbox_mail.identity_id)).scalar()
    if member_id is None:  # the account was deleted while the mail was being sent
        raise mail.Unsendable("account deleted")
    signature = _signature(_key(), outbox_mail.campaign_id, member_id, normalise_email(outbox_mail.recipient))
    link = links.external("campaign.link", member_id=member_id, signature=signature)
    return outbox_mail.text.replace(LINK, link), outbox_mail.html.replace(LINK, link)
