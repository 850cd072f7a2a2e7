"""Advocacy letter and petition toolkit: tailored letters, sign-on letters and petitions."""

from __future__ import annotations

from flask import Flask

from toolkit import db as _db  # noqa: F401 - registers the SQLite pragmas
from toolkit.config import configure
from toolkit.extensions import babel, csrf, db, limiter, migrate, select_locale
from toolkit.web import (
    register_error_handlers,
    register_security_headers,
    register_template_helpers,
)

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)

    db.init_app(app)
    migrate.init_app(app, db, directory=app.config.get("MIGRATIONS_DIR") or _migrations_dir())
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)

    from toolkit.contacts import models as _contacts  # noqa: F401 - models known to Alembic
    from toolkit.events import models as _events  # noqa: F401
    from toolkit.letters.views import bp as letters_bp
    from toolkit.main.views import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(letters_bp)

    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)

    from toolkit.cli import register_commands

    register_commands(app)
    return app


def _migrations_dir() -> str:
    from toolkit.config import PROJECT_ROOT

    return str(PROJECT_ROOT / "migrations")
