"""Advocacy letter and petition toolkit: tailored letters, sign-on letters and petitions.

Imports stay inside create_app (as in Flask's tutorial), so that `import toolkit.documents.pdf`
in a PDF worker process does not pull in the whole web app.
"""

from __future__ import annotations

from flask import Flask

__all__ = ["create_app"]


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: configuration, extensions, blueprints, commands."""
    from toolkit import db as _db  # noqa: F401 - registers the SQLite pragmas
    from toolkit.accounts.views import bp as accounts_bp
    from toolkit.admin.views import bp as admin_bp
    from toolkit.api.views import bp as api_bp
    from toolkit.campaigns.views import bp as campaigns_bp
    from toolkit.cli import register_commands
    from toolkit.config import PROJECT_ROOT, configure
    from toolkit.contacts.views import bp as contacts_bp
    from toolkit.extensions import babel, csrf, db, limiter, login_manager, migrate
    from toolkit.i18n import register as register_languages
    from toolkit.i18n import select_locale
    from toolkit.letters.views import bp as letters_bp
    from toolkit.mail.views import bp as mail_bp
    from toolkit.main.views import bp as main_bp
    from toolkit.models import import_all_models
    from toolkit.resources.views import bp as resources_bp
    from toolkit.web import (
        SessionCookies,
        register_error_handlers,
        register_security_headers,
        register_template_helpers,
    )

    app = Flask(__name__, instance_relative_config=True)
    configure(app, test_config)
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # The client's address (rate limits, fraud views) is the one the proxy saw.
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    app.session_interface = SessionCookies()
    import_all_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)

    blueprints = (
        main_bp, letters_bp, contacts_bp, campaigns_bp, resources_bp, accounts_bp, admin_bp,
        mail_bp, api_bp,
    )  # fmt: skip
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_languages(app)
    register_commands(app)
    return app
