"""Flask extensions, created unbound here and initialised in create_app."""

from __future__ import annotations

from flask import Flask, current_app, has_app_context
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _per_app(name: str) -> property:
    """One of Flask-Limiter's settings, kept for each app apart (see AppLimiter)."""

    def get(self: AppLimiter) -> object:
        state = self._app_state()
        if state is not None and name in state:
            return state[name]
        if name in self._defaults:
            return self._defaults[name]
        raise AttributeError(name)

    def set_(self: AppLimiter, value: object) -> None:
        state = self._app_state()
        (self._defaults if state is None else state)[name] = value

    return property(get, set_)


class AppLimiter(Limiter):
    """Flask-Limiter with each app's storage and settings kept apart.

    Flask-Limiter keeps the storage, its state and the settings read in init_app on the Limiter
    object, so a second app in the same process (tests, a script) silently takes over the
    first's: their counts merge and the last one's settings win. The views' decorators need one
    Limiter object, so this one keeps those parts per app, in ``app.extensions``: two apps
    count apart unless they share a storage (Redis), as separate processes do.

    When the storage is unreachable (Redis restarting), each process falls back to counting in
    its own memory with the same limits, and goes back to the storage once it answers (it is
    retried with a growing interval). Under a surge that is what a site wants: signing goes on,
    no visitor sees an error page, and the limits still hold, if more loosely (one count per
    process). Any other failure of the limiter is logged and lets the request through
    (RATELIMIT_SWALLOW_ERRORS): a broken limiter must not take signing down with it.
    """

    enabled = _per_app("enabled")
    _storage = _per_app("_storage")
    _storage_options = _per_app("_storage_options")
    _storage_dead = _per_app("_storage_dead")
    _strategy = _per_app("_strategy")
    _limiter = _per_app("_limiter")
    _fallback_storage = _per_app("_fallback_storage")
    _fallback_limiter = _per_app("_fallback_limiter")
    _in_memory_fallback_enabled = _per_app("_in_memory_fallback_enabled")
    _swallow_errors = _per_app("_swallow_errors")
    _fail_on_first_breach = _per_app("_fail_on_first_breach")
    _headers_enabled = _per_app("_headers_enabled")
    _header_mapping = _per_app("_header_mapping")
    _retry_after = _per_app("_retry_after")
    _key_prefix = _per_app("_key_prefix")
    _request_identifier = _per_app("_request_identifier")
    _on_breach = _per_app("_on_breach")
    _on_meta_breach = _per_app("_on_meta_breach")

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._defaults: dict[str, object] = {}
        self._initializing: Flask | None = None
        super().__init__(*args, **kwargs)

    def _app_state(self) -> dict | None:
        app = self._initializing
        if app is None:
            if not has_app_context():
                return None
            app = current_app
        return app.extensions.setdefault("toolkit.limiter", {})

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        """The views' decorators check here even when limits are off (RATELIMIT_ENABLED):
        then there is nothing to count, and the signing view is spared the lookups."""
        if self.enabled:
            super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)

    def init_app(self, app: Flask) -> None:
        """Read this app's settings into its own state, with the toolkit's defaults."""
        config = app.config
        config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
        config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
        if str(config.get("RATELIMIT_STORAGE_URI") or "").startswith(("redis", "valkey")):
            # An unreachable Redis costs each request a second at most, not a hang.
            options = {"socket_connect_timeout": 1, "socket_timeout": 1}
            config["RATELIMIT_STORAGE_OPTIONS"] = options | config.get(
                "RATELIMIT_STORAGE_OPTIONS", {}
            )
        self._initializing = app
        try:
            self._storage_options = dict(self._defaults["_storage_options"])
            super().init_app(app)
        finally:
            self._initializing = None


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()
limiter = AppLimiter(key_func=get_remote_address)
babel = Babel()
login_manager = LoginManager()
login_manager.login_view = "accounts.login"
login_manager.login_message = None  # the login page says why; no flash needed
login_manager.session_protection = "strong"
