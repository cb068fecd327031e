"""Organisations for tests, made through the same services operators use."""
from idp.extensions import db
from idp.models.organisation import ADMIN, MEMBER
from idp.services import identities, organisations

PASSWORD = "a sufficiently long password"


def person(email, name=""):
    identity = identities.create(email, PASSWORD, name or email.split("@")[0].title(), verified=True)
    identity.test_password = PASSWORD
    return identity


def organisation(name, business_id, admin, members=(), rights=()):
    """An organisation with `admin`, `members`, and rights as (identity, client) pairs."""
    org = organisations.create(name, business_id)
    organisations.add_member(org, admin.email, ADMIN)
    for member in members:
        organisations.add_member(org, member.email, MEMBER)
    for identity, client in rights:
        organisations.grant(org, organisations.membership(org, identity), client)
    db.session.commit()
    return org
