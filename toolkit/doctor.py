"""`toolkit doctor`: check a site's configuration before people rely on it, and say what to fix.

Each check gives OK, WARN (works, but not as it should for a public site) or FAIL (something
people need will not work); the command exits with 1 when anything fails, so a deploy script
or a timer can stop on it. Nothing here changes the site; the slowest check waits a few seconds
for a server that does not answer.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from toolkit.config import PROJECT_ROOT

OK, WARN, FAIL = "OK", "WARN", "FAIL"
TIMEOUT = 5  # seconds any one server may take to answer
NEW_KEY = "python3 -c 'import secrets; print(secrets.token_hex(32))'"
# Keys seen in tutorials, examples and tests: whoever knows one can forge sessions.
KNOWN_KEYS = frozenset({
    "", "dev", "development", "secret", "secret-key", "secret_key", "secretkey", "changeme",
    "change-me", "change_me", "changethis", "default", "test", "testing", "test-secret-key",
    "your-secret-key", "your_secret_key", "mysecret", "supersecret", "super-secret", "insecure",
    "replace-me", "please-change-me", "flask", "toolkit", "password", "12345", "123456",
})  # fmt: skip
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0", ""})


@dataclass(frozen=True)
class Finding:
    """One check's outcome, and in its message what to do about it."""

    status: str  # OK | WARN | FAIL
    topic: str
    message: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.topic}: {self.message}"


def diagnose(app: Flask) -> list[Finding]:
    """Every check, in the order a person would fix things (call inside an app context)."""
    findings = [_database(app)]
    if findings[0].status == OK:
        findings.append(_migrations())
        if findings[-1].status == OK:
            findings.append(_data())
    findings.extend(_redis(app))
    findings.append(_mail(app))
    findings.extend(_system())
    findings.append(_secret_key(app))
    findings.extend(_addresses(app))
    return findings


@click.command("doctor")
@with_appcontext
def doctor_command() -> None:
    """Check the configuration (database, Redis, mail, fonts, secret key, addresses)."""
    findings = diagnose(current_app._get_current_object())  # type: ignore[attr-defined]
    for finding in findings:
        click.echo(finding.line())
    failed = sum(f.status == FAIL for f in findings)
    warned = sum(f.status == WARN for f in findings)
    if failed:
        click.echo(f"{failed} problem(s) to fix, {warned} warning(s).")
        raise SystemExit(1)
    click.echo(f"Nothing to fix; {warned} warning(s)." if warned else "All checks passed.")


# --- the database ----------------------------------------------------------------------------


def _is_postgres(app: Flask) -> bool:
    return make_url(app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() == "postgresql"


def _database(app: Flask) -> Finding:
    from toolkit.extensions import db  # noqa: PLC0415

    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    where = url.render_as_string(hide_password=True)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not Path(url.database).is_file():  # connecting would make an empty one
            message = f"no database file at {url.database}: run `toolkit db upgrade` to make it"
            return Finding(FAIL, "database", message)
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        if url.get_backend_name() == "sqlite":
            fix = "check TOOLKIT_DATABASE_URL, and that its folder exists and is writable"
        else:
            fix = "check TOOLKIT_DATABASE_URL, that the server runs and this user may connect"
        return Finding(FAIL, "database", f"cannot connect to {where} ({reason}): {fix}")
    return Finding(OK, "database", f"{where} answers")


def _migrations() -> Finding:
    from alembic.migration import MigrationContext  # noqa: PLC0415
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from toolkit.extensions import db  # noqa: PLC0415

    script = ScriptDirectory(str(PROJECT_ROOT / "migrations"))
    heads = set(script.get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    needed, at = ", ".join(sorted(heads)), ", ".join(sorted(current))
    known = {revision.revision for revision in script.walk_revisions()}
    if current == heads:
        message = f"the database is at the latest revision ({needed})"
        return Finding(OK, "migrations", message)
    if not current:
        message = "the database is not migrated (no tables yet): run `toolkit db upgrade`"
    elif current - known:
        message = (
            f"the database is at {at}, which this code does not know (newer code migrated "
            "it?): deploy the same version of the code everywhere"
        )
    else:
        message = f"the database is at {at}; this code needs {needed}: run `toolkit db upgrade`"
    return Finding(FAIL, "migrations", message)


def _data() -> Finding:
    from toolkit.contacts.models import ContactPoint, MemberState  # noqa: PLC0415
    from toolkit.events.models import Event  # noqa: PLC0415
    from toolkit.extensions import db  # noqa: PLC0415

    def count(model: type) -> int:
        return db.session.scalar(select(func.count()).select_from(model)) or 0

    states, points, events = count(MemberState), count(ContactPoint), count(Event)
    db.session.rollback()
    if not states:
        message = "no member states are loaded (country menus are empty): run `toolkit data load`"
        return Finding(FAIL, "data", message)
    if not events:
        return Finding(WARN, "data", "no events are loaded: run `toolkit data load`")
    if not points:
        message = (
            "no contact points: letters to governments cannot be addressed or sent; import "
            "them with `toolkit contacts import FILE.csv` (contacts/README.md says how)"
        )
        return Finding(WARN, "data", message)
    return Finding(OK, "data", f"{states} member states, {points} contact points, {events} events")


# --- Redis and rate limits -------------------------------------------------------------------


def _masked(url: str) -> str:
    """A server's URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return url


def _redis(app: Flask) -> list[Finding]:
    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415

    url = app.config.get("REDIS_URL")
    storage = str(app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    findings = []
    if url:
        client = Redis.from_url(url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
        try:
            client.ping()
            findings.append(Finding(OK, "redis", f"{_masked(url)} answers"))
        except RedisError as exc:
            message = (
                f"cannot reach {_masked(url)} ({exc}): start Redis or correct "
                "TOOLKIT_REDIS_URL; until then background jobs cannot start and each process "
                "counts rate limits alone"
            )
            findings.append(Finding(FAIL, "redis", message))
        finally:
            client.close()
    elif _is_postgres(app):
        message = (
            "TOOLKIT_REDIS_URL is not set: with several app processes, set it, so that jobs go "
            "to `toolkit worker` and every process shares the rate limits"
        )
        findings.append(Finding(WARN, "redis", message))
    if storage.startswith("memory"):
        if _is_postgres(app) or url:  # the signs of more than one process
            message = (
                "counted in each process's memory, so each allows the full limit: set "
                "TOOLKIT_REDIS_URL (or TOOLKIT_RATELIMIT_STORAGE_URI) to share them"
            )
            findings.append(Finding(WARN, "rate limits", message))
        else:
            findings.append(Finding(OK, "rate limits", "counted in memory (one process)"))
    elif storage == url:
        if findings[-1].status == OK:  # Redis answered: the limits are there
            findings.append(Finding(OK, "rate limits", "shared by every process through Redis"))
    else:
        findings.append(_limits_storage(storage))
    return findings


def _limits_storage(uri: str) -> Finding:
    from limits.storage import storage_from_string  # noqa: PLC0415

    options = {"socket_connect_timeout": TIMEOUT, "socket_timeout": TIMEOUT}
    reason = ""
    try:
        storage = storage_from_string(uri, **(options if uri.startswith("redis") else {}))
        reachable = storage.check()
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        reachable, reason = False, f" ({exc})"
    if reachable:
        return Finding(OK, "rate limits", f"shared through {_masked(uri)}")
    message = (
        f"cannot reach the rate-limit storage {_masked(uri)}{reason}: start it or correct "
        "TOOLKIT_RATELIMIT_STORAGE_URI (each process counts in memory meanwhile)"
    )
    return Finding(FAIL, "rate limits", message)


# --- mail ------------------------------------------------------------------------------------


def _mail(app: Flask) -> Finding:
    from toolkit.mail.delivery import describe_error, destination  # noqa: PLC0415

    config = app.config
    server = config.get("MAIL_SERVER")
    if not server:
        message = (
            f"no TOOLKIT_MAIL_SERVER: messages are written as .eml files to "
            f"{config['OUTBOX_DIR']} instead of sent; set TOOLKIT_MAIL_SERVER (and "
            "TOOLKIT_MAIL_PORT) to send them"
        )
        return Finding(WARN if _is_postgres(app) else OK, "mail", message)
    where = destination(config)
    timeout = min(float(config.get("MAIL_TIMEOUT") or TIMEOUT), TIMEOUT)
    use_ssl, use_tls = bool(config.get("MAIL_USE_SSL")), bool(config.get("MAIL_USE_TLS"))
    if use_ssl:
        smtp = smtplib.SMTP_SSL(timeout=timeout, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(timeout=timeout)
    try:
        code, reply = smtp.connect(server, int(config.get("MAIL_PORT") or 25))
        if code != 220:
            raise smtplib.SMTPConnectError(code, reply)
        code, reply = smtp.ehlo()
        if code != 250:
            raise smtplib.SMTPHeloError(code, reply)
        if use_tls and not use_ssl:
            smtp.starttls(context=ssl.create_default_context())
        smtp.quit()
    except (OSError, smtplib.SMTPException) as exc:
        smtp.close()
        message = (
            f"{describe_error(exc, where, timeout)}: check TOOLKIT_MAIL_SERVER and "
            "TOOLKIT_MAIL_PORT (587 with MAIL_USE_TLS, 465 with MAIL_USE_SSL) and the "
            "firewall; mail waits in the outbox until the server answers"
        )
        return Finding(FAIL, "mail", message)
    tls = " with STARTTLS" if use_tls and not use_ssl else ""
    return Finding(OK, "mail", f"{where} answers EHLO{tls} (the login is not tried)")


# --- the machine -----------------------------------------------------------------------------


def _system() -> list[Finding]:
    from toolkit.system_check import problems  # noqa: PLC0415

    found = problems()
    if not found:
        return [Finding(OK, "fonts", "the fonts and libraries PDFs need are installed")]
    return [Finding(WARN, "fonts", problem) for problem in found]


# --- secrets and addresses -------------------------------------------------------------------


def _secret_key(app: Flask) -> Finding:
    key = str(app.config.get("SECRET_KEY") or "")
    fix = f"set TOOLKIT_SECRET_KEY to the output of {NEW_KEY}"
    if key.strip().lower() in KNOWN_KEYS:
        message = f"SECRET_KEY is a well-known value, so anyone could forge sessions: {fix}"
        return Finding(FAIL, "secret key", message)
    if len(key) < 32:
        message = f"SECRET_KEY has {len(key)} characters, too few to resist guessing: {fix}"
        return Finding(WARN, "secret key", message)
    generated = Path(app.instance_path) / "secret_key"
    try:
        from_instance = generated.read_text().strip() == key
    except OSError:
        from_instance = False
    if from_instance and (_is_postgres(app) or app.config.get("REDIS_URL")):
        message = (
            f"SECRET_KEY was generated into {generated}, but every process and machine needs "
            "the same one (or a form filled on one is refused by another): set "
            "TOOLKIT_SECRET_KEY to one value everywhere"
        )
        return Finding(WARN, "secret key", message)
    return Finding(OK, "secret key", "set, long enough and not a known value")


def _addresses(app: Flask) -> list[Finding]:
    base_url = str(app.config.get("BASE_URL") or "")
    parts = urlsplit(base_url)
    local = (parts.hostname or "") in LOCAL_HOSTS
    secure = bool(app.config.get("SESSION_COOKIE_SECURE"))
    findings = []
    if local and _is_postgres(app):
        message = (
            f"TOOLKIT_BASE_URL is {base_url}, so links in emails (confirmations, password "
            "resets) would point to this machine: set it to the public address, e.g. "
            "https://petition.example.org"
        )
        findings.append(Finding(WARN, "base URL", message))
    else:
        findings.append(Finding(OK, "base URL", base_url))
    if parts.scheme == "https" and not secure:
        message = (
            "the site is served over HTTPS but the session cookie may travel unencrypted: "
            "set TOOLKIT_SESSION_COOKIE_SECURE=true"
        )
        findings.append(Finding(WARN, "cookies", message))
    elif parts.scheme != "https" and secure and not local:
        message = (
            f"SESSION_COOKIE_SECURE is on but {base_url} is plain HTTP: browsers will not send "
            "the cookie, so logins fail; serve the site over HTTPS"
        )
        findings.append(Finding(WARN, "cookies", message))
    else:
        findings.append(Finding(OK, "cookies", "secure" if secure else "fine for plain HTTP"))
    if parts.scheme == "https" and not app.config.get("PROXY_COUNT"):
        limit = app.config.get("SIGN_LIMIT_PER_IP") or "10 per minute"
        message = (
            "TOOLKIT_PROXY_COUNT is 0: behind nginx or Caddy set it to 1, or every visitor "
            f"has the proxy's address and all share one rate limit (signing: {limit})"
        )
        findings.append(Finding(WARN, "proxy", message))
    return findings
