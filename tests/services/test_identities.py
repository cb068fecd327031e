"""Identities: one per normalised email, argon2id hashes with OWASP parameters."""
import pytest

from idp import create_app
from idp.errors import Conflict, ValidationFailed
from idp.models.identity import normalise_email
from idp.services import identities


def test_one_identity_per_email_whatever_the_case(app, user):
    with pytest.raises(Conflict):
        identities.create("MAIJA.MEIKALAINEN@example.fi", "another password", "Toinen")


def test_normalised_email_keeps_display_form_separately(user):
    assert user.email == "Maija.Meikalainen@Example.FI"
    assert user.email_normalized == "maija.meikalainen@example.fi"


def test_international_domains_compare_equal_in_either_spelling():
    assert normalise_email("Äiti@Ääkköset.fi") == normalise_email("äiti@xn--kkset-fraa0m.fi")


def test_sub_is_random_and_stable(app, user):
    other = identities.create("toinen@example.fi", "another long password")
    assert user.sub != other.sub and len(user.sub) == 36


def test_composed_and_decomposed_spellings_are_one_address(app):
    composed = "s\u00e4vel.m\u00e4kinen@example.fi"  # 'ä' as one character, as keyboards type it
    decomposed = "sa\u0308vel.ma\u0308kinen@example.fi"  # 'a' + combining diaeresis, as some exports write it
    identity = identities.create(decomposed, "long enough password")
    assert identity.email == identity.email_normalized == composed
    with pytest.raises(Conflict):
        identities.create(composed, "another long password")


# A non-breaking space, a zero-width space, a narrow no-break space, a direction mark, a
# soft hyphen and a control character: invisible, or taken for a plain space, when pasted.
UNSEEN = ["maija\u00a0m@example.fi", "maija\u200b@example.fi", "maija@example.fi\u200b", "maija@exa\u202fmple.fi",
          "\u200emaija@example.fi", "mai\u00adja@example.fi", "maija\x07@example.fi", "maija\u2028@example.fi"]


# A domain with an empty label: "maija@example.fi." is delivered to maija@example.fi's
# mailbox but was another account (a second one of the same person's mailbox).
EMPTY_LABEL = ["maija@example.fi.", "maija@.example.fi", "maija@example..fi"]


@pytest.mark.parametrize("email", ["", "plain", "a@b", "a b@example.fi", "sanna@@example.fi", "x@example.",
                                   "x" * 320 + "@example.fi", *UNSEEN, *EMPTY_LABEL])
def test_invalid_emails_are_refused(app, email):
    with pytest.raises(ValidationFailed):
        identities.create(email, "long enough password")


def test_default_argon2_parameters_meet_owasp_minimum(base_config, migrated):
    config = {k: v for k, v in base_config.items() if not k.startswith("IDP_ARGON2")}
    app = create_app(config)
    with app.app_context():
        from idp.services import passwords

        hashed = passwords.hash_password("x")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
