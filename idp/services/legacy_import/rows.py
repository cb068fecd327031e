"""Reading an export file row by row and checking each row on its own.

Rows come from JSON Lines (one object per line) or CSV (a header line naming the
columns). Every row keeps the line number it starts on, so the report can point at it.
A row is either a `Row` (normalised, with the digest that makes re-imports idempotent)
or a `Problem`; an invalid email is not a problem, only a warning on a valid row.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import os
import re
import unicodedata
from typing import Iterator, NamedTuple

from ...errors import ValidationFailed
from ...models.identity import normalise_email
from ...models.organisation import ADMIN, MEMBER
from .. import business_id, legacy_hashes, names, strict_json
from ..identities import valid_email

FIELDS = ("legacy_id", "login_name", "email", "name", "phone", "password_hash", "hash_scheme",
          "created_at", "last_login_at", "org_business_id", "org_role")
# Column sizes of legacy_accounts; a longer value is refused rather than cut.
MAX_LENGTH = {"legacy_id": 128, "login_name": 200, "name": 200, "phone": 32, "password_hash": 512,
              "org_business_id": 16, "org_role": 16}
MAX_EMAIL = 320
ORG_ROLES = (ADMIN, MEMBER)  # empty: member
# A NUL, or a JSON escape of half a character ("\ud800"), is a damaged export, not text
# anyone wrote, and neither database can store it.
DAMAGED = re.compile("[\x00\ud800-\udfff]")
SCHEME_PROBLEMS = {
    "missing_password_hash": "hash_scheme {0} is given but password_hash is empty",
    "unknown_hash_scheme": "hash_scheme {0} is not a supported scheme, nor is the hash's format",
    "malformed_hash": "password_hash does not have the format of hash_scheme {0}",
    "hash_scheme_mismatch": "password_hash has the format of {1}, not of hash_scheme {0}",
    "hash_too_costly": "password_hash asks for more work than a login may spend: {2}",
}


class Row(NamedTuple):
    line: int
    legacy_id: str
    login_name: str
    login_norm: str
    email: str | None
    email_norm: str | None  # None: no usable email, the account stays unmerged
    name: str | None
    phone: str | None
    password_hash: str | None
    hash_scheme: str | None
    created_at: str | None  # ISO 8601, naive UTC
    last_login_at: str | None
    org_business_id: str | None
    org_role: str | None
    digest: str


class Problem(NamedTuple):
    line: int
    legacy_id: str | None
    reason: str
    detail: str


def read(path: str, fmt: str) -> Iterator[tuple[int, dict | None, int]]:
    """(line, fields or None if unreadable, bytes read so far) for every data row.
    ValidationFailed, before the first row, for a file that is not UTF-8 throughout."""
    _check_utf8(path)
    with open(path, "rb") as raw:
        if fmt == "csv":
            yield from _read_csv(raw)
        else:
            yield from _read_jsonl(raw)


def _check_utf8(path: str) -> None:
    """An export in another encoding (Latin-1 or Windows-1252, as old systems write) is
    refused whole, naming its first such line: found at that line while importing, the
    rows before it were in, those after it not, and the names in them as garbled as the
    operator had not meant them."""
    with open(path, "rb") as raw:
        for number, line in enumerate(raw, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                raise ValidationFailed("the file is not UTF-8 text: line %(line)s is not (convert the file first, e.g. "
                                       "iconv -f WINDOWS-1252 -t UTF-8)", line=number) from None


def _read_jsonl(raw) -> Iterator[tuple[int, dict | None, int]]:
    position = 0
    for number, line in enumerate(raw, start=1):
        position += len(line)
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
        if not line.strip():
            continue
        try:
            fields = strict_json.loads(line)
        except ValueError:
            fields = None
        yield number, fields if isinstance(fields, dict) else None, position


def _read_csv(raw) -> Iterator[tuple[int, dict | None, int]]:
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    # csv's own limit (128 kB a field) stopped the import half way, at the first such row;
    # read whole, the row is refused as field_too_long and the rest imported.
    csv.field_size_limit(max(csv.field_size_limit(), os.path.getsize(raw.name)))
    reader = csv.reader(text)
    header = [name.strip() for name in next(reader, [])]
    missing = [name for name in ("legacy_id", "login_name") if name not in header]
    if missing:
        raise ValidationFailed("the CSV header must name the columns %(columns)s", columns=", ".join(missing))
    start = reader.line_num + 1
    for values in reader:
        if values:
            yield start, dict(zip(header, values)) if len(values) == len(header) else None, raw.tell()
        start = reader.line_num + 1


def check(system: str, line: int, fields: dict | None) -> tuple[Row | None, Problem | None]:
    """The normalised row, or the problem that rejects it; a warning comes with a row."""
    if fields is None:
        return None, Problem(line, None, "unreadable_row", "not a JSON object / wrong number of CSV columns")
    try:
        values = {}
        for name in FIELDS:
            value = fields.get(name)
            values[name] = (value.strip() or None) if value.__class__ is str else _text(value)
    except ValueError:
        return None, Problem(line, None, "unreadable_row", "a field holds a list, an object or true/false")
    damaged = next(((name, found.group()) for name in FIELDS if values[name]
                    for found in [DAMAGED.search(values[name])] if found), None)
    if damaged:
        name, character = damaged
        what = "a NUL character" if character == "\x00" else "half a character (a lone surrogate, e.g. \\ud800)"
        return None, Problem(line, None, "unreadable_row", f"{name} holds {what}")
    # As every other way a name comes in: an old system's export keeps what its forms let
    # through (line breaks, a terminal's escapes).
    values["name"] = names.one_line(values["name"]) or None
    legacy_id = values["legacy_id"]
    for name in ("legacy_id", "login_name"):
        if not values[name]:
            return None, Problem(line, legacy_id, f"missing_{name}", f"{name} is empty")
    for name, limit in MAX_LENGTH.items():
        if values[name] and len(values[name]) > limit:
            return None, Problem(line, legacy_id, "field_too_long", f"{name} is longer than {limit}")
    # As stored and compared: lower-cased "İ" is two characters. Before, such a name stopped
    # the import on PostgreSQL at that row, and on SQLite could never be signed in with.
    if len(normalise_login(values["login_name"])) > MAX_LENGTH["login_name"]:
        return None, Problem(line, legacy_id, "field_too_long",
                             f"login_name is longer than {MAX_LENGTH['login_name']} once lower-cased")
    scheme, problem = _scheme(values["password_hash"], values["hash_scheme"])
    costly = scheme and not problem and legacy_hashes.too_costly(scheme, values["password_hash"])
    if costly:
        problem = "hash_too_costly"
    if problem:
        detail = SCHEME_PROBLEMS[problem].format(values["hash_scheme"] or "(none)", scheme, costly)
        return None, Problem(line, legacy_id, problem, detail)
    # Old systems spell roles as they like ("Admin", "ADMIN"); a role neither admin nor
    # member is the operator's to decide, not ours to make a member silently.
    role = values["org_role"].lower() if values["org_role"] else None
    if role is not None and role not in ORG_ROLES:
        return None, Problem(line, legacy_id, "unknown_org_role",
                             f"org_role {values['org_role']!r} is neither admin nor member")
    values["org_role"] = role
    if values["org_business_id"] and business_id.normalise(values["org_business_id"]) is None:
        return None, Problem(line, legacy_id, "invalid_business_id",
                             f"org_business_id {values['org_business_id']!r} is not a Finnish business id (1234567-8)")
    try:
        created, last_login = _when(values["created_at"]), _when(values["last_login_at"])
    except ValueError as error:
        return None, Problem(line, legacy_id, "invalid_timestamp", str(error))
    # An unusable email is kept on the account as written, for its owner to recognise.
    email = values["email"] if values["email"] and len(values["email"]) <= MAX_EMAIL else None
    usable = email is not None and valid_email(email)
    warning = None if usable or not values["email"] else Problem(line, legacy_id, "invalid_email",
                                                                 values["email"][:MAX_EMAIL])
    kept = (system, legacy_id, values["login_name"], email, values["name"], values["phone"],
            values["password_hash"], scheme, created, last_login, values["org_business_id"], values["org_role"])
    digest = hashlib.sha256("\x1f".join([value or "\x00" for value in kept]).encode()).hexdigest()
    row = Row(line, legacy_id, values["login_name"], normalise_login(values["login_name"]), email,
              normalise_email(email) if usable else None, *kept[4:], digest)
    return row, warning


def normalise_login(login_name: str) -> str:
    """Login names compare like people type them: composed Unicode, case-insensitive."""
    return unicodedata.normalize("NFC", login_name).strip().lower()


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # numeric ids and Unix times, as many exports write them
    if not isinstance(value, str):
        raise ValueError(value)
    return value.strip() or None


def _scheme(password_hash: str | None, declared: str | None) -> tuple[str | None, str | None]:
    """The canonical scheme of the hash and the reason the pair is refused, if it is.

    With a mismatch the scheme returned is the detected one, for the report.
    """
    if password_hash is None:
        return None, "missing_password_hash" if declared else None
    detected = legacy_hashes.detect_scheme(password_hash)
    if declared is None:
        return detected, None if detected else "unknown_hash_scheme"
    named = legacy_hashes.scheme_name(declared)
    if named is None:
        return None, "unknown_hash_scheme"
    if detected is None:
        return None, "malformed_hash"
    return detected, None if named == detected else "hash_scheme_mismatch"


def _when(value: str | None) -> str | None:
    """ISO 8601 (a zone is converted to UTC; none means UTC) or Unix seconds."""
    if value is None:
        return None
    try:
        moment = (dt.datetime.fromtimestamp(int(value), dt.timezone.utc) if value.isdigit()
                  else dt.datetime.fromisoformat(value))
        if moment.tzinfo is not None:  # in UTC, 0001-01-01T00:00+14:00 is before the year 1
            moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    return moment.isoformat(sep=" ")
