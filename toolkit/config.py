"""Configuration defaults; every key can be overridden with a TOOLKIT_* environment variable."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

PROJECT_ROOT = Path(__file__).resolve().parent.parent


MAIL_DELIVERY_MODES = ("background", "worker")


class Defaults:
    """Defaults for one machine: SQLite in the instance folder, no SMTP, in-process work."""

    # Set from TOOLKIT_DATABASE_URL; None means a SQLite file in the instance folder.
    DATABASE_URL: str | None = None
    SECRET_KEY: str | None = None
    LETTER_TEMPLATES_DIR = str(PROJECT_ROOT / "letter_templates")
    CONTACTS_DIR = str(PROJECT_ROOT / "contacts")
    DEFAULT_EVENT = "wcit-12"
    # email-validator: look up the domain's MX records? Off by default (slow networks, offline use).
    EMAIL_CHECK_DELIVERABILITY = False
    # Largest request body accepted; larger ones get a 413 page.
    MAX_CONTENT_LENGTH = 256 * 1024
    # Seconds one PDF may take before rendering is stopped.
    PDF_TIMEOUT = 30
    # Mail. No MAIL_SERVER: messages are written as .eml files to OUTBOX_DIR instead of sent.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_USE_TLS = False  # STARTTLS on MAIL_PORT
    MAIL_USE_SSL = False  # TLS from the first byte (usually port 465)
    MAIL_DEFAULT_SENDER = "Advocacy Toolkit <noreply@localhost>"
    MAIL_TIMEOUT = 15
    MAIL_MAX_ATTEMPTS = 8  # then the message is marked failed and shown to admins
    MAIL_RETRY_BASE_SECONDS = 30  # backoff: 30 s, 1 min, 2 min, ... capped at one hour
    OUTBOX_DIR: str | None = None  # default: instance/outbox
    # "background": a thread in the web process sends mail right after it is queued.
    # "worker": web processes only queue; `toolkit mail worker` sends (busy sites, surges).
    MAIL_DELIVERY = "background"
    MAIL_WORKER_INTERVAL = 2.0  # seconds the worker waits when the outbox is empty
    MAIL_BATCH_INTERVAL = 2.0  # seconds between letters to governments sent as one batch
    DOCUMENTS_DIR: str | None = None  # kept PDFs (long final letters); default: instance/documents
    # Where links in emails point (password resets, confirmations); no trailing slash.
    BASE_URL = "http://127.0.0.1:5000"
    PASSWORD_RESET_MAX_AGE = 3600  # seconds a reset link stays valid
    SIGNATURE_CONFIRM_MAX_AGE = 14 * 24 * 3600  # seconds a confirmation link stays valid
    SIGNATURE_MANAGE_MAX_AGE = 365 * 24 * 3600  # update/withdraw links live as long as data is kept
    # Redis (e.g. redis://127.0.0.1:6379/0): background jobs go to RQ (`toolkit worker` runs
    # them), rate limits are shared by every app process, and the outbox is flushed by jobs.
    # None: jobs run in a thread of the process that starts them (one machine).
    REDIS_URL: str | None = None
    # Flask-Limiter storage; None: REDIS_URL when set, else memory (one process's own counts).
    RATELIMIT_STORAGE_URI: str | None = None
    # Signing limits (Flask-Limiter syntax). Per address: a person signs once, a typo or two
    # aside. Per campaign: a ceiling against a flood of bots, far above any real surge (the UK
    # Parliament's record was about 2,000 a minute).
    SIGN_LIMIT_PER_IP = "10 per minute;60 per hour"
    SIGN_LIMIT_PER_CAMPAIGN = "20000 per minute"
    # How many proxies in front set X-Forwarded-For (0: none; 1: nginx/Caddy on the same host).
    PROXY_COUNT = 0
    # Background jobs (large PDFs, batch letters, sending to governments).
    JOB_TIMEOUT = 3600  # seconds one job may run before it is stopped and marked failed
    JOB_RETRIES = 2  # further tries after a failure or a worker that died mid-job
    JOBS_DIR: str | None = None  # job state and results without Redis; default: instance/jobs
    # The public count is recomputed at most this often (seconds); `toolkit signatures recount`
    # makes it exact at once. 0: every read counts (small sites, tests).
    COUNT_REFRESH_SECONDS = 5
    # A web process keeps its copy of a campaign's signing rules (the form's fields, whether
    # mail confirms) this long; opening, closing and pausing always act at once. 0: no copy.
    CAMPAIGN_CACHE_SECONDS = 5
    # Public campaign pages and the count endpoint: seconds a cache in front may serve them.
    PUBLIC_MAX_AGE = 30
    MAIL_LEASE_SECONDS = 600  # a message claimed this long ago by a sender that died is retried
    RATELIMIT_HEADERS_ENABLED = True
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session; a slow form is not an error
    BABEL_DEFAULT_LOCALE = "en"
    # pool_pre_ping: a server database restarted under us costs one retry, not an error page.
    # (Not for SQLite, a file: there a ping is only a cost, on every request.)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}


def configure(app: Flask, test_config: dict | None) -> None:
    """Layer the configuration: defaults, then TOOLKIT_* variables, then the test config."""
    app.config.from_object(Defaults)
    app.config.from_prefixed_env("TOOLKIT")
    if test_config:
        app.config.from_mapping(test_config)

    database_url = app.config.get("DATABASE_URL") or _sqlite_url(app)
    app.config["DATABASE_URL"] = database_url
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url
    if database_url.startswith("sqlite"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("OUTBOX_DIR"):
        app.config["OUTBOX_DIR"] = os.path.join(app.instance_path, "outbox")
    if not app.config.get("DOCUMENTS_DIR"):
        app.config["DOCUMENTS_DIR"] = os.path.join(app.instance_path, "documents")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(app)
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if app.config["MAIL_DELIVERY"] not in MAIL_DELIVERY_MODES:
        raise ValueError(
            f"TOOLKIT_MAIL_DELIVERY must be one of {', '.join(MAIL_DELIVERY_MODES)}, "
            f"not {app.config['MAIL_DELIVERY']!r}"
        )


def _sqlite_url(app: Flask) -> str:
    """The embedded default database: a file in the instance folder."""
    os.makedirs(app.instance_path, exist_ok=True)
    return "sqlite:///" + os.path.join(app.instance_path, "toolkit.sqlite3")


def _instance_secret_key(app: Flask) -> str:
    """A random key made on first run and kept, owner-readable only, in the instance folder."""
    os.makedirs(app.instance_path, exist_ok=True)
    path = Path(app.instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
