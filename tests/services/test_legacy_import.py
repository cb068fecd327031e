"""Importing old systems' accounts: merging by email, idempotence, rejections, dry runs."""
import io
import json
import re
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa

from idp.errors import ValidationFailed
from idp.extensions import db
from idp.models import AuditEvent, Identity, LegacyAccount
from idp.services import legacy_hashes, legacy_import, organisations
from idp.services.legacy_import.rows import FIELDS
from tests.support.journeys import signed_in
from tests.support.orgs import organisation, person
from tests.support.races import row_locks

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HASH = bcrypt.hashpw(b"Kesaloma2019", bcrypt.gensalt(4)).decode()


def account(legacy_id, login_name, email=None, **fields):
    row = {"legacy_id": legacy_id, "login_name": login_name, "email": email, "password_hash": HASH,
           "hash_scheme": "bcrypt", "created_at": "2014-03-12T08:15:00+02:00"}
    row.update(fields)
    return row


def write_jsonl(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return str(path)


def dump():
    """Every column of the two tables, ids replaced by what they point at."""
    emails = dict(db.session.execute(sa.select(Identity.id, Identity.email_normalized)).all())
    identities = sorted(tuple(r) for r in db.session.execute(sa.select(
        Identity.sub, Identity.email, Identity.email_normalized, Identity.email_verified, Identity.name,
        Identity.phone, Identity.password_hash, Identity.created_at, Identity.updated_at)).all())
    columns = [c for c in LegacyAccount.__table__.c if c.name not in ("id", "identity_id")]
    accounts = sorted(tuple(r[:-1]) + (emails.get(r[-1]),) for r in db.session.execute(
        sa.select(*columns, LegacyAccount.identity_id)).all())
    db.session.rollback()
    return identities, accounts


def accounts_by_id():
    return {(a.system, a.legacy_id): a for a in db.session.execute(sa.select(LegacyAccount)).scalars()}


def test_three_systems_with_overlapping_emails_merge_into_one_identity_per_email(app, tmp_path):
    kirjasto = write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("k1", "maija", "Maija.Meikalainen@Example.FI", name=None, phone="+358401234567"),
        account("k2", "matti", "matti.virtanen@example.fi", name="Matti Virtanen"),
        account("k3", "liisa", "liisa.korhonen@example.fi", name="Liisa Korhonen"),
    ])
    kauppa = write_jsonl(tmp_path, "kauppa.jsonl", [
        account("501", "maija.m@kauppa", "maija.meikalainen@example.fi", name="Maija Meikäläinen",
                phone="+358409999999"),
        account("502", "MATTI", " Matti.Virtanen@EXAMPLE.fi ", name="M. Virtanen"),
    ])
    asiakas = write_jsonl(tmp_path, "asiakas.jsonl", [
        account("AS-1", "AS-1", "MAIJA.MEIKALAINEN@example.fi", name="Maija M.", org_business_id="1572860-0",
                org_role="admin"),
        account("AS-2", "AS-2", "eino.koskinen@example.fi", name="Eino Koskinen"),
    ])

    first = legacy_import.run(kirjasto, "kirjasto").counts
    second = legacy_import.run(kauppa, "verkkokauppa").counts
    third = legacy_import.run(asiakas, "asiakasrekisteri").counts

    assert (first["identities_created"], first["accounts_created"], first["accounts_merged"]) == (3, 3, 3)
    assert (second["identities_created"], second["accounts_created"], second["accounts_merged"]) == (0, 2, 2)
    assert (third["identities_created"], third["accounts_created"], third["accounts_merged"]) == (1, 2, 2)
    people = {i.email_normalized: i for i in db.session.execute(sa.select(Identity)).scalars()}
    assert sorted(people) == ["eino.koskinen@example.fi", "liisa.korhonen@example.fi",
                              "maija.meikalainen@example.fi", "matti.virtanen@example.fi"]
    maija = people["maija.meikalainen@example.fi"]
    # The email as the first row wrote it; the first name and phone any row gave.
    assert (maija.email, maija.name, maija.phone) == ("Maija.Meikalainen@Example.FI", "Maija Meikäläinen",
                                                      "+358401234567")
    assert maija.email_verified is False and maija.password_hash is None
    assert people["matti.virtanen@example.fi"].name == "Matti Virtanen"
    linked = accounts_by_id()
    assert {key for key, a in linked.items() if a.identity_id == maija.id} == {
        ("kirjasto", "k1"), ("verkkokauppa", "501"), ("asiakasrekisteri", "AS-1")}
    assert linked[("verkkokauppa", "502")].identity_id == people["matti.virtanen@example.fi"].id
    assert linked[("verkkokauppa", "502")].login_name_normalized == "matti"
    org_account = linked[("asiakasrekisteri", "AS-1")]
    assert (org_account.org_business_id, org_account.org_role) == ("1572860-0", "admin")
    assert linked[("kirjasto", "k1")].legacy_created_at.isoformat() == "2014-03-12T06:15:00"  # stored in UTC


def test_accounts_without_a_usable_email_are_kept_unmerged(app, tmp_path):
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "eino", None, name="Eino Koskinen"),
        account("2", "ville", "ville.lehtonen@example", name="Ville Lehtonen"),
        account("3", "helmi", "helmi salo@example.fi"),
        account("4", "anna", "anna.makinen@example.fi"),
    ])
    report = legacy_import.run(path, "kirjasto")

    assert report.counts["accounts_without_email"] == 3 and report.counts["accounts_merged"] == 1
    assert report.counts["rejected"] == 0 and report.counts["warnings"] == 2
    assert [(w["line"], w["reason"], w["detail"]) for w in report.as_dict()["warnings"]] == [
        (2, "invalid_email", "ville.lehtonen@example"), (3, "invalid_email", "helmi salo@example.fi")]
    stored = accounts_by_id()
    assert [stored[("kirjasto", i)].identity_id for i in "123"] == [None, None, None]
    assert stored[("kirjasto", "2")].email == "ville.lehtonen@example"  # kept as written, for its owner
    assert db.session.execute(sa.select(sa.func.count()).select_from(Identity)).scalar() == 1


def test_a_name_is_kept_on_one_line_without_controls_as_a_registered_one_is(app, tmp_path):
    """An old system's export keeps what its forms let through: a line break, a terminal's
    escape, a right-to-left override. Stored as written, they went into ID tokens and split
    or recoloured the lines `tunnus users` prints."""
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "matti", "matti.virtanen@example.fi", name="Matti\r\nVirtanen\x1b[2J\u202e "),
        account("2", "eino", "eino.koskinen@example.fi", name=" \x07\u2066 "),
    ])
    assert legacy_import.run(path, "kirjasto").counts["rejected"] == 0

    assert Identity.by_email("matti.virtanen@example.fi").name == "Matti Virtanen[2J"
    assert accounts_by_id()[("kirjasto", "1")].name == "Matti Virtanen[2J"
    assert accounts_by_id()[("kirjasto", "2")].name is None
    assert Identity.by_email("eino.koskinen@example.fi").name == ""


def test_an_address_in_composed_and_decomposed_unicode_is_one_identity(app, tmp_path):
    legacy_import.run(write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "savel", "Sa\u0308vel.Ma\u0308kinen@example.fi", name="Sävel")]), "kirjasto")
    legacy_import.run(write_jsonl(tmp_path, "uimahalli.jsonl", [
        account("7", "savel.m", "s\u00e4vel.m\u00e4kinen@example.fi")]), "uimahalli")

    identity = db.session.execute(sa.select(Identity)).scalar_one()
    assert identity.email == "S\u00e4vel.M\u00e4kinen@example.fi"  # mailed to as keyboards type it
    assert identity.email_normalized == "s\u00e4vel.m\u00e4kinen@example.fi"
    stored = accounts_by_id()
    assert stored[("kirjasto", "1")].identity_id == stored[("uimahalli", "7")].identity_id == identity.id
    assert stored[("kirjasto", "1")].email == "Sa\u0308vel.Ma\u0308kinen@example.fi"  # kept as written


def test_an_address_with_an_invisible_character_is_a_warning_and_stays_unmerged(app, tmp_path):
    report = legacy_import.run(write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "nbsp", "maija\u00a0m@example.fi"), account("2", "zwsp", "maija\u200b@example.fi")]), "kirjasto")

    assert [w["reason"] for w in report.as_dict()["warnings"]] == ["invalid_email", "invalid_email"]
    assert [a.identity_id for a in accounts_by_id().values()] == [None, None]


def test_an_existing_tunnus_identity_is_linked_not_duplicated(app, tmp_path, user):
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [account("7", "maija", "maija.meikalainen@example.fi",
                                                            name="Someone Else", phone="+358401112223")])
    report = legacy_import.run(path, "kirjasto")

    assert report.counts["identities_created"] == 0 and report.counts["accounts_merged"] == 1
    assert accounts_by_id()[("kirjasto", "7")].identity_id == user.id
    db.session.refresh(user)
    # Nothing the person set is overwritten; an empty phone is filled in.
    assert (user.name, user.phone, user.email_verified) == ("Maija Meikäläinen", "+358401112223", True)


def test_importing_the_same_file_again_changes_nothing(app, tmp_path):
    rows = [account(str(n), f"user{n}", f"person{n % 7}@example.fi" if n % 5 else None, name=f"Henkilö {n}")
            for n in range(40)]
    path = write_jsonl(tmp_path, "kirjasto.jsonl", rows)
    first = legacy_import.run(path, "kirjasto", batch_size=16)
    before = dump()

    again = legacy_import.run(path, "kirjasto", batch_size=7)

    assert dump() == before
    assert again.counts["unchanged"] == 40 == first.counts["accounts_created"]
    assert all(again.counts[name] == 0 for name in ("identities_created", "accounts_created", "accounts_updated",
                                                    "accounts_merged", "accounts_without_email", "rejected"))


def test_a_member_an_admin_removed_stays_removed_when_the_accounts_are_imported_again(app, tmp_path):
    boss, worker = person("boss@alfa.fi"), person("worker@alfa.fi")
    alfa = organisation("Alfa", "0737546-2", boss, [worker])
    rows = [account("1", "ville", worker.email, org_business_id="0737546-2", org_role="admin")]
    legacy_import.run(write_jsonl(tmp_path, "v1.jsonl", rows), "extranet")
    organisations.remove_member(alfa, organisations.membership(alfa, worker), actor=boss)
    db.session.commit()

    again = legacy_import.run(write_jsonl(tmp_path, "v1.jsonl", rows), "extranet")
    assert again.counts["unchanged"] == 1 and again.memberships_created == 0
    assert organisations.membership(alfa, worker) is None
    rows[0]["last_login_at"] = "2024-05-01T10:00:00Z"  # a newer export of the same account
    newer = legacy_import.run(write_jsonl(tmp_path, "v2.jsonl", rows), "extranet")
    assert newer.counts["accounts_updated"] == 1 and organisations.membership(alfa, worker) is None

    rows[0]["org_business_id"] = "1572860-0"  # another organisation: a link not applied yet
    moved = legacy_import.run(write_jsonl(tmp_path, "v3.jsonl", rows), "extranet")
    assert moved.memberships_created == 1
    assert organisations.membership(organisations.by_business_id("1572860-0"), worker).role == "admin"


def test_a_member_the_import_added_is_named_in_the_admins_activity_list(app, tmp_path):
    boss, worker = person("boss@alfa.fi"), person("worker@alfa.fi")
    alfa = organisation("Alfa", "0737546-2", boss)
    rows = [account("1", "ville", worker.email, org_business_id="0737546-2", org_role="admin")]
    legacy_import.run(write_jsonl(tmp_path, "v1.jsonl", rows), "extranet")
    browser = signed_in(app, boss)
    browser.get(f"/orgs/{alfa.id}")
    latest = re.search(r'data-testid="activity">\s*<li>(.*?)</li>', browser.text, re.S).group(1)
    assert re.sub(r"\s+", " ", latest).strip().endswith("— worker@alfa.fi was added as admin.")  # by nobody named


def test_a_changed_row_is_updated_and_keeps_a_retired_password_retired(app, tmp_path):
    legacy_import.run(write_jsonl(tmp_path, "v1.jsonl", [account("1", "maija", "maija@example.fi"),
                                                          account("2", "matti", "matti@example.fi")]), "kirjasto")
    retired = accounts_by_id()[("kirjasto", "1")]
    retired.password_retired_at = retired.imported_at
    db.session.commit()

    report = legacy_import.run(write_jsonl(tmp_path, "v2.jsonl", [
        account("1", "maija.m", "maija.uusi@example.fi"), account("2", "matti", "matti@example.fi")]), "kirjasto")

    assert (report.counts["accounts_updated"], report.counts["unchanged"], report.counts["identities_created"]) == (1, 1, 1)
    updated = accounts_by_id()[("kirjasto", "1")]
    assert updated.login_name == "maija.m" and updated.password_retired_at is not None
    assert updated.identity_id == Identity.by_email("maija.uusi@example.fi").id


def test_an_account_stays_with_its_person_who_changed_address_when_a_newer_export_is_imported(app, tmp_path):
    """Before, any change to the row (a later last login) linked it again by its address:
    to a new, empty identity made for the address its person no longer has, whose old
    password, never adopted, then opened it."""
    legacy_import.run(write_jsonl(tmp_path, "v1.jsonl", [account("1", "maija", "maija@example.fi")]), "kirjasto")
    maija = Identity.by_email("maija@example.fi")
    maija.email_verified = True
    maija.set_email("maija.uusi@example.fi")  # changed on /account
    db.session.commit()

    report = legacy_import.run(write_jsonl(tmp_path, "v2.jsonl", [
        account("1", "maija", "maija@example.fi", last_login_at="2026-11-01T10:00:00")]), "kirjasto")

    assert (report.counts["accounts_updated"], report.counts["identities_created"]) == (1, 0)
    assert accounts_by_id()[("kirjasto", "1")].identity_id == maija.id and Identity.query.count() == 1


def test_rejected_rows_are_reported_with_their_line_numbers(app, tmp_path):
    legacy_import.run(write_jsonl(tmp_path, "earlier.jsonl", [account("900", "taken")]), "kirjasto")
    md5 = "$1$dXc3I7Rw$ctlgjDdWJLMT.qwHsWhXR1"
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "maija", "maija@example.fi"),                      # 1 fine
        account("2", "matti", password_hash="{SSHA}abc", hash_scheme="ssha"),  # 2 unknown scheme
        account("3", "liisa", password_hash="$1$broken", hash_scheme="md5_crypt"),  # 3 malformed
        account("4", "jukka", password_hash=md5, hash_scheme="bcrypt"),  # 4 scheme mismatch
        account(None, "anna"),                                           # 5 no legacy id
        account("6", "  "),                                              # 6 no login name
        "",                                                              # 7 blank: skipped
        "{not json",                                                     # 8 unreadable
        account("1", "maija", "maija@example.fi"),                       # 9 exact repeat of line 1
        account("1", "maija", "maija.toinen@example.fi"),                # 10 same id, other data
        account("11", "MAIJA"),                                          # 11 login of line 1
        account("12", "taken"),                                          # 12 login of 900 in the database
        account("13", "pekka", created_at="eilen"),                      # 13 bad time
        account("14", "sanna", "sanna.example.fi"),                      # 14 invalid email: a warning
        account("15", "timo", password_hash=md5, hash_scheme=None),      # 15 fine: scheme from the hash
        account("16", "x" * 201),                                        # 16 too long
    ])
    report = legacy_import.run(path, "kirjasto", batch_size=4).as_dict()

    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (2, "unknown_hash_scheme"), (3, "malformed_hash"), (4, "hash_scheme_mismatch"), (5, "missing_legacy_id"),
        (6, "missing_login_name"), (8, "unreadable_row"), (10, "duplicate_legacy_id"), (11, "login_name_taken"),
        (12, "login_name_taken"), (13, "invalid_timestamp"), (16, "field_too_long")]
    assert [(w["line"], w["reason"]) for w in report["warnings"]] == [(9, "duplicate_row"), (14, "invalid_email")]
    assert report["rejected"][8] == {"line": 12, "legacy_id": "12", "reason": "login_name_taken",
                                     "detail": "legacy_id 900 already has this login name"}
    assert "md5_crypt" in report["rejected"][2]["detail"]
    counts = report["counts"]
    assert (counts["rows"], counts["accounts_created"], counts["rejected"], counts["duplicates"]) == (15, 3, 11, 1)
    assert counts["warnings"] == 2
    assert report["rejected_by_reason"]["login_name_taken"] == 2
    assert accounts_by_id()[("kirjasto", "15")].hash_scheme == "md5_crypt"
    assert accounts_by_id()[("kirjasto", "1")].email == "maija@example.fi"


def test_a_login_name_longer_than_its_column_once_lower_cased_is_refused_and_the_rest_imported(app, tmp_path):
    """Lower-cased, "İ" is two characters. Before, on PostgreSQL the import stopped at the row
    with a traceback, every run; on SQLite the name could never be signed in with."""
    path = write_jsonl(tmp_path, "old.jsonl", [account("1", "İ" * 150), account("2", "tavallinen")])
    report = legacy_import.run(path, "kirjasto").as_dict()
    assert report["rejected"] == [{"line": 1, "legacy_id": "1", "reason": "field_too_long",
                                   "detail": "login_name is longer than 200 once lower-cased"}]
    assert list(accounts_by_id()) == [("kirjasto", "2")]


@pytest.mark.parametrize("costly, said", [
    ("$2b$15$" + "a" * 53, "cost 15 (at most 14)"),
    ("$P$J" + "a" * 30, "cost 21 (at most 20)"),
    ("$6$rounds=1000001$suola$" + "a" * 86, "cost 1000001 (at most 1000000)"),
    ("pbkdf2_sha256$2147483648$suola$" + "A" * 43 + "=", "cost 2147483648 (at most 2000000)"),
    ("$argon2id$v=19$m=4194304,t=3,p=4$c3VvbGE$YWJj", "m=4194304 (at most 262144)")])
def test_a_hash_asking_for_more_work_than_a_login_may_spend_is_refused(app, tmp_path, costly, said):
    """Before, each was taken: every guess at its login name then held a worker for minutes
    or days, and PBKDF2 at 2^31 was a 500 at every login of its person."""
    path = write_jsonl(tmp_path, "old.jsonl", [account("1", "kallis", password_hash=costly, hash_scheme=None),
                                               account("2", "tavallinen")])
    report = legacy_import.run(path, "kirjasto").as_dict()
    assert report["rejected"] == [{"line": 1, "legacy_id": "1", "reason": "hash_too_costly",
                                   "detail": f"password_hash asks for more work than a login may spend: {said}"}]
    assert report["counts"]["accounts_created"] == 1


@pytest.mark.parametrize("field", ["legacy_id", "login_name", "email", "name", "phone", "password_hash"])
@pytest.mark.parametrize("damage, said", [("\x00", "a NUL character"),
                                          ("\ud800", "half a character (a lone surrogate, e.g. \\ud800)")])
def test_a_row_with_a_damaged_character_is_rejected_and_the_rest_imported(app, tmp_path, field, damage, said):
    """A NUL, or JSON's escape of half a character, is a damaged export; no database can
    store either, and the import used to fail there with a traceback, importing nothing
    after the batch."""
    damaged = account("2", "matti", "matti@example.fi", name="Matti", phone="+358401234567")
    damaged[field] = damaged[field][:2] + damage + damaged[field][2:]
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [account("1", "maija", "maija@example.fi"), json.dumps(damaged),
                                                    account("3", "liisa", "liisa@example.fi")])

    report = legacy_import.run(path, "kirjasto").as_dict()

    assert report["rejected"] == [{"line": 2, "legacy_id": None, "reason": "unreadable_row",
                                   "detail": f"{field} holds {said}"}]
    assert sorted(legacy_id for _, legacy_id in accounts_by_id()) == ["1", "3"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_file_not_utf8_throughout_is_refused_whole_naming_its_first_such_line(app, tmp_path, fmt):
    """An export written in Windows-1252 may hold its first 'ä' far down: the rows before
    it used to be imported, and the import then stopped."""
    people = [account(str(n), f"user{n}", f"person{n}@example.fi", name=f"Henkilö {n}") for n in range(400)]
    people[300]["name"] = "Mäki"
    if fmt == "csv":
        lines = [",".join(FIELDS)] + [",".join(row.get(name) or "" for name in FIELDS) for row in people]
    else:
        lines = [json.dumps(row, ensure_ascii=False) for row in people]
    path = tmp_path / f"kirjasto.{fmt}"
    path.write_bytes("".join(line + "\n" for line in lines).encode("utf-8").replace("Mäki".encode(), b"M\xe4ki"))
    assert path.stat().st_size > 3 * 8192  # beyond what a reader decodes at once
    before = dump()

    with pytest.raises(ValidationFailed) as refused:
        legacy_import.run(str(path), "kirjasto")

    line = 302 if fmt == "csv" else 301
    assert str(refused.value) == (f"the file is not UTF-8 text: line {line} is not (convert the file first, "
                                  "e.g. iconv -f WINDOWS-1252 -t UTF-8)")
    assert dump() == before


@pytest.mark.parametrize("name, content", [("empty.jsonl", ""), ("blank.jsonl", "\n\n"),
                                           ("header.csv", "legacy_id,login_name,email\n")])
def test_a_file_without_accounts_is_refused(app, tmp_path, name, content):
    """Likely an export that went wrong: not reported as an import that found all in order."""
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")

    with pytest.raises(ValidationFailed) as refused:
        legacy_import.run(str(path), "kirjasto")

    after = " after the header" if name.endswith(".csv") else ""
    assert str(refused.value) == f"the file holds no accounts (no rows{after})"
    assert not db.session.execute(sa.select(AuditEvent).filter_by(event="legacy.imported")).first()


def test_dry_run_reports_like_a_real_run_and_changes_nothing(app, tmp_path):
    rows = [account(str(n), f"user{n}", f"person{n % 4}@example.fi", name=f"Henkilö {n}") for n in range(12)]
    rows.append(account("12", "user1"))
    path = write_jsonl(tmp_path, "kirjasto.jsonl", rows)
    before = dump()

    dry = legacy_import.run(path, "kirjasto", dry_run=True, batch_size=5)

    assert dump() == before
    real = legacy_import.run(path, "kirjasto", batch_size=5)
    assert dry.as_dict()["counts"] == real.as_dict()["counts"]
    assert dry.counts["identities_created"] == 4 and dry.counts["rejected"] == 1
    assert dry.summary()["dry_run"] is True


def test_csv_and_json_lines_are_the_same_rows(app, tmp_path):
    first = legacy_import.run(str(EXAMPLES / "legacy_accounts.csv"), "kirjasto")
    again = legacy_import.run(str(EXAMPLES / "legacy_accounts.jsonl"), "kirjasto")

    assert first.counts["accounts_created"] == 12 and first.summary()["format"] == "csv"
    assert again.counts["unchanged"] == 12
    # CSV lines count the header: the same account is one line further down.
    assert first.as_dict()["warnings"][0]["line"] == again.as_dict()["warnings"][0]["line"] + 1


def test_a_csv_without_the_required_columns_is_refused(app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,login\n1,maija\n")
    with pytest.raises(ValidationFailed, match="legacy_id, login_name"):
        legacy_import.run(str(path), "kirjasto")


def test_the_documented_example_passwords_open_the_imported_hashes(app):
    legacy_import.run(str(EXAMPLES / "legacy_accounts.jsonl"), "kirjasto")
    documented = re.findall(r"^\| (\d+) \| `[^`]+` \| (\w+) \| `([^`]+)` \|$",
                            (EXAMPLES / "README.md").read_text(encoding="utf-8"), re.MULTILINE)
    stored = accounts_by_id()

    assert len(documented) == 12
    assert {scheme for _, scheme, _ in documented} == set(legacy_hashes.SCHEMES)
    for legacy_id, scheme, password in documented:
        imported = stored[("kirjasto", legacy_id)]
        assert imported.hash_scheme == scheme
        assert legacy_hashes.verify(scheme, imported.password_hash, password), legacy_id
        assert not legacy_hashes.verify(scheme, imported.password_hash, password + "x"), legacy_id


def test_the_json_report_streams_every_entry(app, tmp_path):
    rows = [account(str(n), f"user{n}", "not-an-email") for n in range(30)]
    report = legacy_import.run(write_jsonl(tmp_path, "kirjasto.jsonl", rows), "kirjasto")
    out = io.StringIO()
    report.write_json(out)

    written = json.loads(out.getvalue())
    assert written == report.as_dict()
    assert len(written["warnings"]) == 30 and written["rejected"] == []


@pytest.mark.parametrize("system", ["", "Kirjasto", "a b", "x" * 65])
def test_system_names_are_plain_identifiers(app, tmp_path, system):
    with pytest.raises(ValidationFailed):
        legacy_import.run(write_jsonl(tmp_path, "k.jsonl", [account("1", "u")]), system)


def test_org_roles_are_read_whatever_their_case_and_an_unknown_one_is_refused(app, tmp_path):
    rows = [account("1", "matti", "matti@alfa.fi", org_business_id="0737546-2", org_role="Admin"),
            account("2", "jukka", "jukka@alfa.fi", org_business_id="0737546-2", org_role="MEMBER"),
            account("3", "kalle", "kalle@alfa.fi", org_business_id="0737546-2", org_role="Owner")]

    report = legacy_import.run(write_jsonl(tmp_path, "extranet.jsonl", rows), "extranet")

    alfa = organisations.by_business_id("0737546-2")
    assert {m.identity.email: m.role for m in organisations.members(alfa)} == {"matti@alfa.fi": "admin",
                                                                              "jukka@alfa.fi": "member"}
    assert report.as_dict()["rejected"] == [{"line": 3, "legacy_id": "3", "reason": "unknown_org_role",
                                             "detail": "org_role 'Owner' is neither admin nor member"}]
    assert report.organisations_without_admin == []


def test_a_row_naming_no_valid_business_id_is_refused_and_joins_once_the_file_is_fixed(app, tmp_path):
    rows = [account("1", "matti", "matti@alfa.fi", org_business_id="garbage!!", org_role="admin"),
            account("2", "jukka", "jukka@alfa.fi", org_business_id="0737546-3")]  # a wrong check digit
    report = legacy_import.run(write_jsonl(tmp_path, "extranet.jsonl", rows), "extranet")
    assert [(problem["line"], problem["reason"]) for problem in report.as_dict()["rejected"]] == [
        (1, "invalid_business_id"), (2, "invalid_business_id")]

    rows[0]["org_business_id"] = rows[1]["org_business_id"] = "0737546-2"
    legacy_import.run(write_jsonl(tmp_path, "extranet.jsonl", rows), "extranet")
    alfa = organisations.by_business_id("0737546-2")
    assert {m.identity.email: m.role for m in organisations.members(alfa)} == {"matti@alfa.fi": "admin",
                                                                              "jukka@alfa.fi": "member"}


def test_an_organisation_left_without_an_admin_is_named_with_the_command_that_makes_one(app, tmp_path, runner):
    rows = [account("1", "timo", "timo@beta.fi", org_business_id="2480135-5", org_role="member")]
    path = write_jsonl(tmp_path, "extranet.jsonl", rows)

    report = legacy_import.run(path, "extranet")

    beta = organisations.by_business_id("2480135-5")
    assert report.summary()["organisations_without_admin"] == [{"id": beta.id, "business_id": "2480135-5",
                                                                "name": "2480135-5"}]
    assert ("organisation 2480135-5 (2480135-5, id %d) has no admin:"
            " tunnus orgs set-role --org 2480135-5 --email E --role admin" % beta.id) in report.text()
    assert legacy_import.run(path, "extranet").organisations_without_admin != []  # told until fixed
    fixed = runner.invoke(args=["orgs", "set-role", "--org", "2480135-5", "--email", "timo@beta.fi",
                                "--role", "admin"])
    assert fixed.exit_code == 0, fixed.output
    again = legacy_import.run(path, "extranet")
    assert again.organisations_without_admin == [] and "has no admin" not in again.text()


def test_the_example_file_leaves_every_organisation_an_admin(app):
    report = legacy_import.run(str(EXAMPLES / "legacy_accounts.jsonl"), "kirjasto")
    assert report.memberships_created == 3 and report.organisations_without_admin == []


@row_locks
def test_an_import_filling_in_a_phone_as_its_person_confirms_an_email_change_is_answered_both(app, mailbox,
                                                                                            monkeypatch, tmp_path):
    """A batch fills in the phone of a person who has none, just as the person confirms a
    change of their sign-in email. The change holds the person's row and then writes the
    address, which waits for every hold of the row; the batch fills in the phone, which waits
    for the change, before it holds the rows it merges into. Both go through, not one with a
    deadlock: the old account is the person's, and so is the phone."""
    from idp.flows.email_change import EmailChangeFlow
    from idp.services.legacy_import import writer
    from tests.support.browser import Browser
    from tests.support.journeys import signed_in
    from tests.support.races import at_once, meet_after, post

    maija = person("maija@example.fi")
    owner = signed_in(app, maija)
    owner.get("/account")
    owner.submit("/account/email", new_email="maija@uusi.example", current_password=maija.test_password)
    confirming = Browser(app)
    confirming.get(mailbox.link("maija@uusi.example", "/confirm/"))
    rows = write_jsonl(tmp_path, "kirjasto.jsonl", [account("1", "maija.m", maija.email, phone="+358401234567")])

    def importing():
        with app.app_context():
            return legacy_import.run(str(rows), "kirjasto").counts

    # The batch has read the identities to merge into, and the change holds the person's row,
    # before either goes on.
    meet_after(monkeypatch, (writer, "_existing"), (EmailChangeFlow, "_lock"))
    counts, confirmed = at_once(importing, post(app, confirming, "/confirm/"))
    monkeypatch.undo()

    assert confirmed.status_code == 200 and "Email address changed" in confirmed.get_data(as_text=True), \
        confirmed.status_code
    assert counts["accounts_merged"] == 1 and counts["identities_created"] == 0, counts
    db.session.expire_all()
    stored = db.session.get(Identity, maija.id)
    assert (stored.email, stored.phone) == ("maija@uusi.example", "+358401234567")


def test_rows_python_cannot_read_as_it_should_are_rejected_and_the_rest_imported(app, tmp_path):
    """Before, each stopped the import with a traceback."""
    path = write_jsonl(tmp_path, "kirjasto.jsonl", [
        account("1", "maija", "maija@example.fi"),
        "[" * 100_000,  # nested deeper than Python reads
        account("3", "matti", created_at="0001-01-01T00:00+14:00"),  # before the year 1 in UTC
        account("4", "liisa", last_login_at="9999-12-31T23:59-12:00"),  # after the year 9999
        '{"legacy_id": "5", "login_name": "pekka", "created_at": NaN}',
        account("6", "anna", "anna@example.fi")])

    report = legacy_import.run(path, "kirjasto").as_dict()

    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (2, "unreadable_row"), (3, "invalid_timestamp"), (4, "invalid_timestamp"), (5, "unreadable_row")]
    assert sorted(legacy_id for _, legacy_id in accounts_by_id()) == ["1", "6"]


def test_a_csv_field_beyond_csvs_own_limit_is_too_long_and_the_rest_imported(app, tmp_path):
    path = tmp_path / "kirjasto.csv"
    path.write_text("legacy_id,login_name,name\n1,maija,Maija\n2,matti," + "M" * 200_000 + "\n3,liisa,Liisa\n",
                    encoding="utf-8")

    report = legacy_import.run(str(path), "kirjasto").as_dict()

    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [(3, "field_too_long")]
    assert sorted(legacy_id for _, legacy_id in accounts_by_id()) == ["1", "3"]
