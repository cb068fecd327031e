"""Every IDP_* setting, once, with its default and a one-line doc.

Settings come from the environment (or the `config` mapping given to create_app).
The README's configuration table is generated from SETTINGS by `tunnus config docs`.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _bool(value: str) -> bool:
    # A typo must not read as "off": IDP_SECURE_COOKIES=ture would drop Secure on https.
    word = str(value).strip().lower()
    if word not in _TRUE | _FALSE:
        raise ValueError("on or off (1/0, true/false, yes/no)")
    return word in _TRUE


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    parse: Callable[[str], Any] = str


SETTINGS: tuple[Setting, ...] = (
    Setting("IDP_ISSUER", "http://localhost:5000", "Issuer identifier; every endpoint URL is built from it. Its host is the passkeys' relying party id: a name, not an IP address."),
    Setting("IDP_DATABASE_URL", None, "SQLAlchemy URL (postgres:// and postgresql:// mean postgresql+psycopg://); default is SQLite at instance/tunnus.sqlite3."),
    Setting("IDP_DATABASE_CONNECT_TIMEOUT", 3, "Seconds to wait for PostgreSQL to accept a new connection (libpq connect_timeout; at least 2).", int),
    Setting("IDP_DATABASE_POOL_TIMEOUT", 5, "Seconds a request waits for a free database connection of its process.", float),
    Setting("IDP_DATABASE_STATEMENT_TIMEOUT", 5, "Longest a web request waits for PostgreSQL to answer one statement, in seconds (statement_timeout; a server that does not answer at all is given up 2 s later); then 503. 0: no limit. `tunnus` commands run without it.", float),
    Setting("IDP_REDIS_URL", None, "Redis URL for rate limits shared between processes; absent: in-process."),
    Setting("IDP_SECRET_KEY", None, "Signs cookies and derives encryption keys: the same random value, at least 32 characters, on every machine. Required unless embedded (SQLite and an http issuer), which generates one into instance/."),
    Setting("IDP_SECRET_KEY_FALLBACKS", None, "Earlier IDP_SECRET_KEY values, comma-separated: still accepted (cookies, sealed secrets, codes), never used for new ones.", _comma_list),
    Setting("IDP_KEYS_DIR", "keys", "Folder of private signing keys (JWK files, never committed); a relative path is in the checkout, beside instance/. Unless embedded (SQLite and an http issuer), create them once with `tunnus keys rotate`."),
    Setting("IDP_SMTP_URL", None, "Outgoing mail: smtp+starttls://user:pass@host:587 or smtps://user:pass@host:465 (the server's certificate verified against the system's authorities, or SSL_CERT_FILE's; no fallback to plain text), or smtp://host:25 on a trusted network; absent: mail stays in the outbox and is logged."),
    Setting("IDP_MAIL_FROM", "Tunnus <no-reply@tunnus.invalid>", "From address of outgoing mail: an address of your own domain (the default's cannot exist, and receiving servers refuse or file such mail as spam)."),
    Setting("IDP_MAIL_TIMEOUT", 10, "Seconds the SMTP server has to answer each command; a whole delivery attempt ends after ten times that.", int),
    Setting("IDP_MAIL_MAX_ATTEMPTS", 8, "Delivery attempts (with growing delays) before a mail is marked failed.", int),
    Setting("IDP_ARGON2_TIME_COST", 2, "argon2id iterations (OWASP minimum with 19 MiB is 2).", int),
    Setting("IDP_ARGON2_MEMORY_KIB", 19456, "argon2id memory in KiB (OWASP minimum: 19456).", int),
    Setting("IDP_ARGON2_PARALLELISM", 1, "argon2id lanes.", int),
    Setting("IDP_PASSWORD_MIN_LENGTH", 12, "Shortest password accepted for new passwords.", int),
    Setting("IDP_CODE_TTL", 60, "Authorization code lifetime in seconds (single use).", int),
    Setting("IDP_PAR_TTL", 60, "Lifetime in seconds of the request_uri a pushed authorization request (/par, RFC 9126) gets; single use.", int),
    Setting("IDP_ACCESS_TOKEN_TTL", 600, "Access token (JWT, RFC 9068) lifetime in seconds.", int),
    Setting("IDP_ID_TOKEN_TTL", 3600, "ID token lifetime in seconds.", int),
    Setting("IDP_REFRESH_TOKEN_TTL", 30 * 24 * 3600, "Refresh token lifetime in seconds; each use rotates it.", int),
    Setting("IDP_DPOP_PROOF_MAX_AGE", 60, "Seconds after its iat a DPoP proof (RFC 9449) is accepted; within them each proof is accepted once.", int),
    Setting("IDP_DPOP_PROOF_CLOCK_SKEW", 5, "Seconds a DPoP proof's iat may lie ahead of Tunnus's clock (the client's clock running fast).", int),
    Setting("IDP_REMEMBER_ME_TTL", 30 * 24 * 3600, "Lifetime of a 'remember me' browser session, and of the email the login page then suggests, in seconds.", int),
    Setting("IDP_BROWSER_SESSION_TTL", 12 * 3600, "Longest life of a session without 'remember me', in seconds.", int),
    Setting("IDP_CSRF_TOKEN_TTL", 24 * 3600, "How long a page's forms can still be posted (their CSRF token's life), in seconds; later, the person is asked to try again.", int),
    Setting("IDP_FLOW_TTL", 1800, "How long a started login or authorization request stays usable, in seconds.", int),
    Setting("IDP_KEY_PUBLISH_DELAY", 900, "Seconds a rotated key is published before it signs (JWKS caches refresh).", int),
    Setting("IDP_JWKS_MAX_AGE", 300, "Cache-Control max-age of the JWKS and discovery documents.", int),
    Setting("IDP_LOGIN_DELAY_AFTER", 5, "Wrong passwords in a row after which the account must wait before its next password is checked.", int),
    Setting("IDP_LOGIN_DELAY_BASE", 30, "First wait in seconds; it doubles with each further wrong password (never a permanent lock).", int),
    Setting("IDP_LOGIN_DELAY_MAX", 900, "Longest wait in seconds between password checks of one account.", int),
    Setting("IDP_TOTP_LOCK_THRESHOLD", 5, "Wrong second-factor codes in a row before the code step locks.", int),
    Setting("IDP_TOTP_LOCK_SECONDS", 900, "How long the second-factor code step stays locked.", int),
    Setting("IDP_PIN_MAX_ATTEMPTS", 5, "Wrong kiosk PINs (in all, since the PIN was set) after which PIN login stays off until the person sets a new PIN.", int),
    Setting("IDP_PIN_CHANGE_INTERVAL", 24 * 3600, "Shortest time between two changes of a person's kiosk PIN, in seconds (a locked PIN may be replaced at once).", int),
    Setting("IDP_KIOSK_IDLE_TIMEOUT", 120, "Seconds without use after which a kiosk (PIN) session ends; also the longest life of its access tokens.", int),
    Setting("IDP_KIOSK_STILL_THERE_AFTER", 45, "Seconds without a touch after which the kiosk's PIN page asks \"Still there?\".", int),
    Setting("IDP_KIOSK_STILL_THERE_WAIT", 30, "Seconds the question \"Still there?\" waits for an answer before the PIN page goes back to the list of residents (WCAG 2.2.1: at least 20).", int),
    Setting("IDP_PIN_RATE_LIMIT", "30 per minute", "Kiosk PIN attempts per client IP (one kiosk serves a whole building from one address)."),
    Setting("IDP_PIN_ACCOUNT_RATE_LIMIT", "10 per minute", "Kiosk PIN attempts per person, from any IP."),
    Setting("IDP_LOGIN_RATE_LIMIT", "20 per minute", "Password attempts, and first steps of a login (an email or old user name), per client IP (Flask-Limiter syntax)."),
    Setting("IDP_LOGIN_ACCOUNT_RATE_LIMIT", "10 per minute", "Password attempts per account, from any IP."),
    Setting("IDP_CLIENT_CACHE_SECONDS", 5, "How long a process may answer for a client from memory; a client changed elsewhere is seen after this many seconds.", float),
    Setting("IDP_CLIENT_ASSERTION_MAX_LIFETIME", 300, "Longest a private_key_jwt client assertion may have left to live (exp) when it arrives, in seconds: one is made for each request.", int),
    Setting("IDP_CLIENT_ASSERTION_LEEWAY", 30, "Clock skew in seconds allowed when checking a client assertion's exp, nbf and iat.", int),
    Setting("IDP_CLIENT_JWKS_TIMEOUT", 5, "Seconds a client's jwks_uri has to answer, in full.", int),
    Setting("IDP_CLIENT_JWKS_CACHE_TTL", 300, "Seconds the keys read from a client's jwks_uri are used before it is read again.", int),
    Setting("IDP_CLIENT_JWKS_REFETCH_INTERVAL", 30, "Shortest time in seconds between two reads of a client's jwks_uri: an assertion naming a key id not among its keys reads it again, at most this often.", int),
    Setting("IDP_TOKEN_RATE_LIMIT", "6000 per minute", "Token endpoint requests per client IP."),
    Setting("IDP_TOKEN_CLIENT_RATE_LIMIT", "3000 per minute", "Token endpoint requests per client_id."),
    Setting("IDP_PAR_RATE_LIMIT", "6000 per minute", "Pushed authorization requests (/par) per client IP."),
    Setting("IDP_PAR_CLIENT_RATE_LIMIT", "3000 per minute", "Pushed authorization requests (/par) per client_id."),
    Setting("IDP_RECOVERY_RATE_LIMIT", "5 per 10 minutes", "Password reset requests (each sends mail) per client IP."),
    Setting("IDP_RECOVERY_CODE_RATE_LIMIT", "30 per 10 minutes", "Password reset code attempts per client IP (each code also allows only 5 wrong tries)."),
    Setting("IDP_MAIL_RATE_LIMIT", "5 per 10 minutes", "Registrations and 'send a new code' requests (each sends mail) per client IP."),
    Setting("IDP_MAIL_ACCOUNT_RATE_LIMIT", "5 per hour", "Registration, 'send a new code', password reset, change-of-email and invitation mails per email address, from any IP. The codes a sign-in mails (to an unproven address, at a campaign's step) count apart, as many: strangers' mail does not hold the person at their own sign-in."),
    Setting("IDP_INVITATION_RATE_LIMIT", "50 per hour", "Invitations an organisation's admins send from its page (each mails the address) per client IP; each address also counts in IDP_MAIL_ACCOUNT_RATE_LIMIT."),
    Setting("IDP_CODE_RATE_LIMIT", "30 per 10 minutes", "Emailed code attempts (registration, change of email; a campaign's only when wrong) per client IP."),
    Setting("IDP_CODE_ACCOUNT_RATE_LIMIT", "20 per 10 minutes", "Emailed code attempts per email address, all code steps together, from any IP."),
    Setting("IDP_BACKCHANNEL_TIMEOUT", 5, "Seconds a relying service's back-channel logout endpoint has to answer, in full.", int),
    Setting("IDP_BACKCHANNEL_MAX_ATTEMPTS", 8, "Back-channel logout delivery attempts (with growing delays) before giving up.", int),
    Setting("IDP_UPSTREAM_TIMEOUT", 10, "Seconds an upstream identity provider has to answer each request (discovery, JWKS, token endpoint), in full.", int),
    Setting("IDP_UPSTREAM_CACHE_TTL", 3600, "Seconds an upstream provider's discovery document and keys are cached (unknown keys are fetched at once).", int),
    Setting("IDP_UPSTREAM_LEEWAY", 60, "Clock skew in seconds allowed when checking an upstream ID token's exp and iat.", int),
    Setting("IDP_VERIFICATION_TTL", 24 * 3600, "How long an emailed verification code or link works, in seconds.", int),
    Setting("IDP_AUDIT_RETENTION_DAYS", 730, "Days audit records and the metadata of sent mail and logout notifications are kept; `tunnus prune` deletes older ones (set it to your organisation's log retention policy).", int),
    Setting("IDP_INVITATION_TTL", 14 * 24 * 3600, "How long an invitation to an organisation can be accepted, in seconds; inviting the address again starts it anew.", int),
    Setting("IDP_SECURE_COOKIES", None, "Force Secure cookies on/off; default: on when the issuer is https.", _bool),
    Setting("IDP_SUPPORT_CONTACT", None, "Where people are sent for help (a sign-in email changed without them, a lost second factor, an unexpected campaign mail, a refused sign-in request): an email address or an https:// URL; absent: the support of the service they use."),
    Setting("IDP_DEFAULT_LOCALE", "fi", "UI language when neither ui_locales nor the browser chooses one."),
    Setting("IDP_TIMEZONE", "Europe/Helsinki", "Time zone of times shown to people, on pages and in mail."),
    Setting("IDP_LOG_FORMAT", "text", "Log lines as readable text, or json: one JSON object a line with the request id (use in production)."),
    Setting("IDP_ACCESS_LOG", True, "One access line per request (request id, method, path without query, status, duration), written by the app.", _bool),
    Setting("IDP_METRICS_TOKEN", None, "Bearer token Prometheus must send for /metrics (Authorization: Bearer ...); absent: /metrics answers anyone, so let the proxy answer it only to the scraper."),
    Setting("IDP_PROXY_HOPS", 0, "Reverse proxies in front whose X-Forwarded-For/-Proto are trusted for the client IP and https; 0: none.", int),
)


MIN_SECRET_LENGTH = 32
# libpq's spellings, as hosting platforms hand them out; SQLAlchemy would look for psycopg2.
POSTGRES_SCHEMES = ("postgres://", "postgresql://")
REDIS_SCHEMES = ("redis", "rediss", "unix")
# Plain addresses only: a mailto: link must need no escaping of its own.
SUPPORT_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


class ConfigurationError(Exception):
    """A setting a process cannot start with: one line naming the variable and what is wrong."""


def embedded(values) -> bool:
    """The setup `make run` makes with no configuration: SQLite, one machine, no https. It
    makes its own secret and keys; any other deployment shares them between machines and
    must be given them, or each machine would make different ones."""
    return values["IDP_DATABASE_URL"].startswith("sqlite") and not values["IDP_ISSUER"].startswith("https://")


def default(name: str) -> Any:
    return next(setting.default for setting in SETTINGS if setting.name == name)


# Said where mail would leave from the default sender: at serve.py's start, by `mail test`.
PLACEHOLDER_SENDER = ("IDP_MAIL_FROM is not set: mail leaves from no-reply@tunnus.invalid, a domain that cannot "
                      "exist, and receiving servers refuse it or file it as spam; set it to an address of your domain")


def sends_from_placeholder(values) -> bool:
    return bool(values["IDP_SMTP_URL"]) and values["IDP_MAIL_FROM"] == default("IDP_MAIL_FROM")


def load(overrides: dict | None = None, instance_path: str | None = None) -> dict:
    """Flask config mapping from defaults, environment and explicit overrides."""
    overrides = dict(overrides or {})
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.name in overrides:
            values[setting.name] = overrides.pop(setting.name)
        elif setting.name in os.environ:
            values[setting.name] = _parsed(setting, os.environ[setting.name])
        else:
            values[setting.name] = setting.default
    values.update(overrides)
    instance = Path(instance_path or "instance")
    url = values["IDP_DATABASE_URL"]
    if not url:
        values["IDP_DATABASE_URL"] = f"sqlite:///{(instance / 'tunnus.sqlite3').resolve()}"
    elif url.startswith(POSTGRES_SCHEMES):
        values["IDP_DATABASE_URL"] = "postgresql+psycopg://" + url.partition("://")[2]
    values["IDP_ISSUER"] = values["IDP_ISSUER"].rstrip("/")
    # The checkout's folder whichever folder a command runs in, as instance/: a loop started
    # elsewhere would otherwise sign with keys of its own, unknown to /jwks.
    values["IDP_KEYS_DIR"] = str(instance.resolve().parent / values["IDP_KEYS_DIR"])
    _check_database_url(values["IDP_DATABASE_URL"])
    _check_redis_url(values["IDP_REDIS_URL"])
    _check_smtp_url(values["IDP_SMTP_URL"])
    _check_mail_from(values["IDP_MAIL_FROM"])
    _check_issuer(values["IDP_ISSUER"])
    _check_time_zone(values["IDP_TIMEZONE"])
    _check_support_contact(values["IDP_SUPPORT_CONTACT"])
    _check_rate_limits(values)
    # Below 1, `tunnus prune` would delete all history; above 100 years its date would
    # come before the year 1, and every prune failed, pruning nothing at all.
    if not 1 <= values["IDP_AUDIT_RETENTION_DAYS"] <= 36_500:
        raise ConfigurationError("IDP_AUDIT_RETENTION_DAYS must be from 1 to 36500 (100 years), not "
                                 f"{values['IDP_AUDIT_RETENTION_DAYS']}")
    # Relying services must see a key before it signs: with their cached key set older than
    # the key's publication, every rotation's first tokens failed at them.
    if 0 < values["IDP_KEY_PUBLISH_DELAY"] <= values["IDP_JWKS_MAX_AGE"]:
        raise ConfigurationError(f"IDP_JWKS_MAX_AGE ({values['IDP_JWKS_MAX_AGE']}) must be shorter than "
                                 f"IDP_KEY_PUBLISH_DELAY ({values['IDP_KEY_PUBLISH_DELAY']}): relying services would "
                                 "still hold a key set without a rotated key when it begins to sign")
    if not values["IDP_SECRET_KEY"]:
        if not embedded(values):
            raise ConfigurationError("IDP_SECRET_KEY is not set: give every machine the same random value of at least "
                                     f"{MIN_SECRET_LENGTH} characters (python3 -c 'import secrets; "
                                     "print(secrets.token_urlsafe(48))')")
        values["IDP_SECRET_KEY"] = _instance_secret(instance)
    elif len(values["IDP_SECRET_KEY"]) < MIN_SECRET_LENGTH and not embedded(values):
        raise ConfigurationError(f"IDP_SECRET_KEY is too short ({len(values['IDP_SECRET_KEY'])} characters): use a "
                                 f"random value of at least {MIN_SECRET_LENGTH}")
    return values


def _parsed(setting: Setting, text: str) -> Any:
    """A value that does not parse is one line naming the variable, not a traceback in
    every worker (or a typo silently read as a default)."""
    try:
        return setting.parse(text)
    except ValueError as error:
        expected = {int: "a whole number", float: "a number"}.get(setting.parse, str(error))
        raise ConfigurationError(f"{setting.name} must be {expected}, not {text!r}") from None


def _check_issuer(issuer: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(issuer)
    # OIDC Discovery §3: https (http for local development), no query or fragment.
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigurationError(f"IDP_ISSUER must be a URL such as https://tunnus.example.fi, not {issuer!r}")


def _check_time_zone(name: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(f"IDP_TIMEZONE is not a known time zone: {name!r} (e.g. Europe/Helsinki)") from None


def _check_support_contact(contact: str | None) -> None:
    """Templates link an https:// value as is and any other as mailto:."""
    if not contact or SUPPORT_ADDRESS.fullmatch(contact):
        return
    from urllib.parse import urlsplit

    if not contact.startswith("https://") or not urlsplit(contact).hostname or any(c.isspace() for c in contact):
        raise ConfigurationError("IDP_SUPPORT_CONTACT must be an email address or an https:// URL such as "
                                 f"tuki@example.fi or https://example.fi/tuki, not {contact!r}")


def _check_rate_limits(values: dict) -> None:
    """Flask-Limiter would log an error at each request and apply no limit at all."""
    from limits import parse_many

    for name, value in values.items():
        if name.endswith("_RATE_LIMIT"):
            try:
                parse_many(value)
            except ValueError:
                raise ConfigurationError(f"{name} is not a rate limit such as '20 per minute': {value!r}") from None


def _check_database_url(url: str) -> None:
    """A URL SQLAlchemy cannot use is a 50-line traceback in every worker; say which and why."""
    import sqlalchemy as sa

    try:
        dialect = sa.engine.make_url(url).get_dialect()
    except sa.exc.NoSuchModuleError:  # an ArgumentError too: first
        raise ConfigurationError(f"IDP_DATABASE_URL names an unknown database {url.partition(':')[0]!r} "
                                 "(postgresql://user@host/name)") from None
    except sa.exc.ArgumentError:
        raise ConfigurationError("IDP_DATABASE_URL is not a database URL (postgresql://user@host/name)") from None
    try:
        dialect.import_dbapi()
    except ImportError as error:
        raise ConfigurationError(f"IDP_DATABASE_URL needs the driver {error.name!r}, which is not installed "
                                 "(PostgreSQL's: pip install -e '.[postgres]' in the checkout)") from None


def _check_redis_url(url: str | None) -> None:
    if not url:
        return
    from urllib.parse import urlsplit

    scheme = urlsplit(url).scheme
    if scheme not in REDIS_SCHEMES:
        raise ConfigurationError("IDP_REDIS_URL is not a Redis URL: it must start with redis://, rediss:// or unix:// "
                                 "(redis://host:6379/0)")


def _check_smtp_url(url: str | None) -> None:
    """Checked at start: before, every request sending mail was a 500, and the log showed a
    piece of the password (a '#' in it unencoded makes the rest the "port")."""
    if not url:
        return
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    try:
        parts.port
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("smtp", "smtp+starttls", "smtps") or not parts.hostname:
        # Not echoed: it may hold the server's password.
        raise ConfigurationError("IDP_SMTP_URL is not an SMTP URL: use smtp://HOST[:PORT], "
                                 "smtp+starttls://USER:PASSWORD@HOST:587 or smtps://HOST[:PORT], with any of "
                                 "@ : / ? # % in the user or password percent-encoded (%40 %3A %2F %3F %23 %25)")


def _check_mail_from(value: str) -> None:
    """One address: a name with a comma, unquoted, is read as two (every mail was a 500)."""
    from email.utils import getaddresses

    found = getaddresses([value])
    if len(found) != 1 or "@" not in found[0][1]:
        raise ConfigurationError(f"IDP_MAIL_FROM must be one address, such as Tunnus <no-reply@example.fi> (a name "
                                 f'with a comma in quotes: "Kaupunki, Tunnus" <no-reply@example.fi>), not {value!r}')


def secret_keys(values) -> list[str]:
    """IDP_SECRET_KEY, then its fallbacks: anything new is made with the first, any is
    accepted, so the key can change without voiding what the earlier one signed."""
    return [values["IDP_SECRET_KEY"], *(values["IDP_SECRET_KEY_FALLBACKS"] or [])]


def _instance_secret(instance: Path) -> str:
    """A per-installation random key kept in instance/ so restarts keep sessions."""
    import secrets

    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def markdown_table() -> str:
    rows = ["| Variable | Default | Meaning |", "| --- | --- | --- |"]
    for setting in SETTINGS:
        default = "(none)" if setting.default is None else f"`{setting.default}`"
        rows.append(f"| `{setting.name}` | {default} | {setting.doc} |")
    return "\n".join(rows)
