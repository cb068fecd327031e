"""Writing one batch of checked rows: set-based SQL, one transaction per batch.

For a batch: read what the database already holds for its legacy ids and login names,
drop the unchanged rows, create the missing identities (ON CONFLICT DO NOTHING on the
normalised email, RETURNING their ids), and upsert the accounts keyed on
(system, legacy_id). A batch either commits whole or not at all, so an import killed
half way is finished by running it again.

On PostgreSQL each step is one statement whatever the batch size: a lookup takes its
list as one JSON parameter, and rows to insert are copied (COPY) into a temporary table
first. SQLite gets IN lists and executemany.
"""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ...models import Identity, LegacyAccount
from ...models.identity import composed_email, normalise_email
from ..identities import valid_email
from .. import erasures
from .rows import Problem, Row

accounts = LegacyAccount.__table__
identities = Identity.__table__
# Columns an update overwrites; password_retired_at stays: a retired hash stays retired.
# (org_linked_at is kept or cleared: see _org_link_kept.)
_UPDATED = ("login_name", "login_name_normalized", "email", "name", "phone", "password_hash", "hash_scheme",
            "legacy_created_at", "legacy_last_login_at", "org_business_id", "org_role", "identity_id",
            "row_digest", "imported_at")
_ACCOUNT_COLUMNS = ("system", "legacy_id", "login_name", "login_name_normalized", "email", "name", "phone",
                    "password_hash", "hash_scheme", "legacy_created_at", "legacy_last_login_at", "org_business_id",
                    "org_role", "identity_id", "row_digest", "imported_at")
_IDENTITY_COLUMNS = ("email", "email_normalized", "email_verified", "name", "phone", "failed_logins",
                     "created_at", "updated_at")


@dataclass
class Outcome:
    counts: Counter = field(default_factory=Counter)
    rejected: list[Problem] = field(default_factory=list)
    skipped: list[Problem] = field(default_factory=list)


def write(conn: sa.Connection, system: str, batch: list[Row], now: dt.datetime,
          erasure_keys: list[bytes] = ()) -> Outcome:
    """`erasure_keys`: erasures.derived_keys(), to recognise the rows of people deleted."""
    outcome = Outcome()
    if conn.dialect.name == "postgresql":
        # A batch lost in a crash is written again by the next run: no need to wait for
        # the disk at each commit (the database stays consistent either way).
        conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
    batch = _not_erased(conn, system, batch, erasure_keys, outcome)
    known = {legacy_id: (digest, identity_id, email) for legacy_id, digest, identity_id, email in conn.execute(
        sa.select(accounts.c.legacy_id, accounts.c.row_digest, accounts.c.identity_id, accounts.c.email)
        .where(accounts.c.system == system, _among(conn, accounts.c.legacy_id, [r.legacy_id for r in batch])))}
    changed = []
    for row in batch:
        digest, identity_id, _ = known.get(row.legacy_id, (None, None, None))
        # Unchanged also means still linked (an identity deleted by other means than
        # account_deletion, which leaves an erasure, is linked again).
        if digest == row.digest and (identity_id is not None or row.email_norm is None):
            outcome.counts["unchanged"] += 1
        else:
            changed.append(row)
    if not changed:
        return outcome
    changed = _free_login_names(conn, system, changed, outcome)
    linked = _linked(changed, known)
    changed, existing = _held(conn, system, changed, _wanted(changed, linked), now, erasure_keys, outcome)
    ids = _identities(conn, _wanted(changed, linked), existing, now, outcome)
    alive = _alive(conn, set(linked.values()))
    moment = _moment if conn.dialect.name == "sqlite" else _as_is
    values = []
    for row in changed:
        identity_id = linked[row.legacy_id] if linked.get(row.legacy_id) in alive else ids.get(row.email_norm)
        outcome.counts["accounts_updated" if row.legacy_id in known else "accounts_created"] += 1
        outcome.counts["accounts_merged" if identity_id else "accounts_without_email"] += 1
        values.append((system, row.legacy_id, row.login_name, row.login_norm, row.email, row.name, row.phone,
                       row.password_hash, row.hash_scheme, moment(row.created_at), moment(row.last_login_at),
                       row.org_business_id, row.org_role, identity_id, row.digest, now))
    _insert_rows(conn, accounts, _ACCOUNT_COLUMNS, values, lambda statement: statement.on_conflict_do_update(
        index_elements=["system", "legacy_id"], set_={**{name: statement.excluded[name] for name in _UPDATED},
                                                      "org_linked_at": _org_link_kept(statement.excluded)}))
    return outcome


def _linked(rows: list[Row], known: dict) -> dict[str, int]:
    """The identity each changed row of an account already linked keeps, by legacy id: all
    whose address in the export is the one it had (or none, both times). The link may be
    the person's own doing (an address added to an account without one, at login) or have
    outlived a change of their Tunnus address; only a new address in the export links the
    account afresh. Before, any change (a later last login) linked it again by the row's
    address: an account without one lost its person, and one whose person had changed
    address moved to a new identity made for the old one."""
    return {row.legacy_id: identity_id for row in rows
            for _, identity_id, email in [known.get(row.legacy_id, (None, None, None))]
            if identity_id is not None and _address(email) == row.email_norm}


def _address(email: str | None) -> str | None:
    """A stored account's address as rows.check reads one (Row.email_norm)."""
    return normalise_email(email) if email and valid_email(email) else None


def _alive(conn, identity_ids: set[int]) -> set[int]:
    """Those of the identities that still exist, held until the commit as _held holds the
    ones it finds (an account deleted now is deleted after the batch, or before it)."""
    if not identity_ids:
        return set()
    select = sa.select(identities.c.id).where(identities.c.id.in_(sorted(identity_ids))).order_by(identities.c.id)
    if conn.dialect.name == "postgresql":
        select = select.with_for_update(read=True, key_share=True)
    return set(conn.execute(select).scalars())


def _not_erased(conn, system: str, rows: list[Row], erasure_keys: list[bytes], outcome: Outcome) -> list[Row]:
    """The rows of nobody who had their account deleted; the others are skipped, whatever
    the database holds for them (GDPR Art. 17: they asked to be forgotten)."""
    keys = {row.legacy_id: (*erasures.account_keys(system, row.legacy_id, row.login_norm),
                            *([erasures.email_key(row.email_norm)] if row.email_norm else []))
            for row in rows}
    erased = erasures.matching(conn, erasure_keys, (key for row_keys in keys.values() for key in row_keys))
    if not erased:
        return rows
    kept = []
    for row in rows:
        deletion = max((erased[key] for key in keys[row.legacy_id] if key in erased), default=None)
        if deletion is None:
            kept.append(row)
            continue
        deleted_at, sub = deletion
        outcome.skipped.append(Problem(row.line, row.legacy_id, "deleted_on_request",
                                       f"the person's account was deleted at their request on"
                                       f" {deleted_at:%Y-%m-%d} (sub {sub}); not imported"))
    return kept


def _org_link_kept(excluded):
    """An applied organisation link stays applied while the row names the same organisation
    for the same person (organisations.join skips it); any other change is a new link."""
    same = sa.and_(accounts.c.org_business_id.is_not_distinct_from(excluded.org_business_id),
                   accounts.c.identity_id.is_not_distinct_from(excluded.identity_id))
    return sa.case((same, accounts.c.org_linked_at), else_=sa.null())


def refresh_statistics(conn: sa.Connection) -> None:
    """Let PostgreSQL's planner see the tables as the import has grown them.

    Planned with the statistics of a table that was empty, lookups and foreign-key
    checks would scan it whole, again for every batch.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text(f"ANALYZE {accounts.name} (system, legacy_id, login_name_normalized),"
                             f" {identities.name} (email_normalized)"))


def _free_login_names(conn, system: str, rows: list[Row], outcome: Outcome) -> list[Row]:
    """Rows whose login name no other legacy id of the system already has."""
    holders = dict(conn.execute(
        sa.select(accounts.c.login_name_normalized, accounts.c.legacy_id)
        .where(accounts.c.system == system,
               _among(conn, accounts.c.login_name_normalized, [r.login_norm for r in rows]))).all())
    free = []
    for row in rows:
        holder = holders.get(row.login_norm, row.legacy_id)
        if holder == row.legacy_id:
            free.append(row)
        else:
            outcome.rejected.append(Problem(row.line, row.legacy_id, "login_name_taken",
                                            f"legacy_id {holder} already has this login name"))
    return free


def _wanted(rows: list[Row], linked: dict[str, int]) -> dict[str, dict]:
    """Per normalised email of the rows to link afresh (not `linked`): the email as the first
    row wrote it (composed, NFC), and the first name and phone any row gives."""
    wanted: dict[str, dict] = {}
    for row in rows:
        if row.email_norm is None or row.legacy_id in linked:
            continue
        entry = wanted.setdefault(row.email_norm, {"email": composed_email(row.email), "name": None, "phone": None})
        entry["name"] = entry["name"] or row.name
        entry["phone"] = entry["phone"] or row.phone
    return wanted


def _existing(conn, wanted: dict) -> dict[str, tuple]:
    select = sa.select(identities.c.email_normalized, identities.c.id, identities.c.name, identities.c.phone)
    return {email: (id_, name, phone) for email, id_, name, phone in conn.execute(
        select.where(_among(conn, identities.c.email_normalized, list(wanted))))}


def _held(conn, system: str, rows: list[Row], wanted: dict, now: dt.datetime, erasure_keys: list[bytes],
          outcome: Outcome) -> tuple[list[Row], dict[str, int]]:
    """The rows still to write, and the ids by normalised email of the identities they merge
    into, held until the commit as every request writing what names a person holds them
    (Identity.hold): an account deleted at this moment is deleted after the batch, with what
    it wrote, or was deleted before, and its rows are skipped, checked again here (neither
    made anew nor failing on a foreign key). The empty names and phones are filled in first:
    that UPDATE holds the row too, taken before any hold as a change of the sign-in email
    takes it (a hold, then an UPDATE waiting for such a change, which waits for the hold to
    write the address, would be a deadlock)."""
    if not wanted:
        return rows, {}
    existing = _existing(conn, wanted)
    _fill_in(conn, existing, wanted, now)
    ids = {email: id_ for email, (id_, _, _) in existing.items()}
    if ids and conn.dialect.name == "postgresql":  # SQLite lets one writer in at a time
        # By id: one whose address changed meanwhile is still the one the rows merge into.
        alive = set(conn.execute(sa.select(identities.c.id).where(identities.c.id.in_(sorted(ids.values())))
                                 .order_by(identities.c.id).with_for_update(read=True, key_share=True)).scalars())
        ids = {email: id_ for email, id_ in ids.items() if id_ in alive}  # those deleted meanwhile are gone
    return _not_erased(conn, system, rows, erasure_keys, outcome), ids


def _identities(conn, wanted: dict, existing: dict[str, int], now: dt.datetime, outcome: Outcome) -> dict[str, int]:
    """Identity id per normalised email, creating the missing identities (`existing`: those
    _held found, and filled in the empty names and phones of)."""
    if not wanted:
        return {}
    missing = [(entry["email"], email, False, entry["name"] or "", entry["phone"], 0, now, now)
               for email, entry in wanted.items() if email not in existing]
    # `sub` comes from the column's default (SQLite) or gen_random_uuid() (PostgreSQL).
    created = dict(_insert_rows(
        conn, identities, _IDENTITY_COLUMNS, missing,
        lambda statement: statement.on_conflict_do_nothing(index_elements=["email_normalized"])
        .returning(identities.c.email_normalized, identities.c.id),
        generated={"sub": sa.cast(sa.func.gen_random_uuid(), sa.String)}))
    outcome.counts["identities_created"] += len(created)
    ids = {email: id_ for email, id_ in existing.items() if email in wanted}
    ids.update(created)
    raced = [values[1] for values in missing if values[1] not in created]  # created meanwhile elsewhere
    if raced:
        ids.update(conn.execute(sa.select(identities.c.email_normalized, identities.c.id).where(
            _among(conn, identities.c.email_normalized, raced))).all())
    return ids


def _fill_in(conn, existing: dict, wanted: dict, now: dt.datetime) -> None:
    for column in ("name", "phone"):
        updates = [{"b_id": id_, "b_value": wanted[email][column]}
                   for email, (id_, name, phone) in existing.items()
                   if wanted[email][column] and not (name if column == "name" else phone)]
        if updates:
            empty = identities.c[column] == "" if column == "name" else identities.c[column].is_(None)
            conn.execute(identities.update().where(identities.c.id == sa.bindparam("b_id"), empty)
                         .values({column: sa.bindparam("b_value"), "updated_at": now}), updates)


def _among(conn, column, values: list):
    """`column IN values`; PostgreSQL gets the list as one JSON parameter, made an array:
    `= ANY(array)` is planned as index lookups even while the table's statistics still
    describe it as it was before the import (an IN (subquery) then scans it all)."""
    if conn.dialect.name == "postgresql":
        keys = sa.select(sa.func.json_array_elements_text(_json(values))).scalar_subquery()
        return column == sa.any_(sa.func.array(keys))
    return column.in_(values)


def _insert_rows(conn, table, names: tuple[str, ...], values: list[tuple], on_conflict,
                 generated: dict | None = None) -> list:
    """INSERT the rows in one go: executemany on SQLite; on PostgreSQL COPY into a
    temporary table, then one INSERT ... SELECT, far faster than a parameter per value.
    `generated`: columns PostgreSQL computes per row; SQLite uses the columns' defaults.
    The rows RETURNING gives, if the statement asks for some."""
    if not values:
        return []
    if conn.dialect.name == "sqlite":
        result = conn.execute(on_conflict(sqlite.insert(table)), [dict(zip(names, row)) for row in values])
        return result.all() if result.returns_rows else []
    scratch = f"import_{table.name}"
    cursor = conn.connection.driver_connection.cursor()
    columns = ", ".join(names)
    # Lives as long as the connection; emptied for each batch (TRUNCATE: a dry run never commits).
    cursor.execute(f"CREATE TEMP TABLE IF NOT EXISTS {scratch} AS SELECT {columns} FROM {table.name} WITH NO DATA")
    cursor.execute(f"TRUNCATE {scratch}")
    with cursor.copy(f"COPY {scratch} ({columns}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)
    generated = generated or {}
    source = sa.select(*[sa.column(name) for name in names], *generated.values()).select_from(sa.table(scratch))
    result = conn.execute(on_conflict(postgresql.insert(table).from_select([*names, *generated], source)))
    return result.all() if result.returns_rows else []


def _json(value: list):
    return sa.cast(sa.literal(json.dumps(value)), postgresql.JSON)


def _moment(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _as_is(value: str | None) -> str | None:
    return value  # PostgreSQL reads the ISO 8601 text itself
