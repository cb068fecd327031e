"""Campaigns for tests, made and started through the same commands operators use."""
from __future__ import annotations

import json
import re

from idp.extensions import db
from idp.models import CampaignMember, Identity
from idp.services import identities, mail

PASSWORD = "a sufficiently long password"
NEW_PASSWORD = "kolme pientä porsasta"


def person(email, name=None, locale=None, verified=True):
    """An identity; without a name given, one made of the address ("" for none at all)."""
    name = email.split("@")[0].title() if name is None else name
    identity = identities.create(email, PASSWORD, name, verified=verified, locale=locale)
    identity.test_password = PASSWORD
    return identity


def cli(runner, *args) -> dict | list:
    result = runner.invoke(args=[*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def campaign(runner, target="all", **options) -> int:
    """Create a campaign with the command line; options as --name value pairs."""
    args = ["campaigns", "create", "--name", options.pop("name", "Siirto Tunnukseen"), "--target", target]
    for key, value in options.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return cli(runner, *args)["id"]


def started(runner, target="all", **options) -> int:
    campaign_id = campaign(runner, target, **options)
    cli(runner, "campaigns", "start", str(campaign_id))
    return campaign_id


def deliver() -> dict:
    counts = mail.deliver_due(limit=1000)
    db.session.expire_all()
    return counts


def counts(runner, campaign_id) -> dict:
    return cli(runner, "campaigns", "status", str(campaign_id))["counts"]


def member(campaign_id, identity) -> CampaignMember:
    db.session.expire_all()
    return db.session.execute(db.select(CampaignMember).filter_by(
        campaign_id=campaign_id, identity_id=identity.id)).scalar_one()


def fresh(identity) -> Identity:
    db.session.expire_all()
    return db.session.get(Identity, identity.id)


def campaign_link(mailbox, address) -> str:
    return mailbox.link(address, "/campaign/")


def local(link: str) -> str:
    """The path of a mailed link (the test issuer is http://localhost)."""
    return re.sub(r"^https?://[^/]+", "", link)


def legacy_account(identity, system, legacy_id):
    """An imported account of an old system, linked to `identity` (None: not merged)."""
    from idp.models import LegacyAccount

    account = LegacyAccount(system=system, legacy_id=legacy_id, login_name=f"user{legacy_id}",
                            login_name_normalized=f"user{legacy_id}", row_digest=legacy_id * 8,
                            identity_id=identity.id if identity else None)
    db.session.add(account)
    db.session.commit()
    return account


def member_emails(campaign_id) -> set[str]:
    return {row["email"] for row in _pending_rows(campaign_id)}


def _pending_rows(campaign_id):
    from idp.services import campaigns
    from idp.services.campaigns import progress

    return list(progress.pending(campaigns.get(campaign_id)))


def deliver_refusing(mailbox, refused: str) -> None:
    """Deliver the outbox one mail at a time; the mail server refuses mail to `refused` (550)."""
    from idp.models import OutboxMail

    while True:
        db.session.expire_all()
        due = db.session.execute(db.select(OutboxMail).where(OutboxMail.status == "pending")
                                 .order_by(OutboxMail.id)).scalars().first()
        if due is None:
            mailbox.reject_with = None
            return
        mailbox.reject_with = (550, "no such user") if due.recipient == refused else None
        mail.deliver_due(limit=1)
