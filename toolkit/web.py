"""What every page shares: error pages, security headers, session cookies, template helpers."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from itsdangerous import URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException, InternalServerError

from toolkit.api.views import error as api_error

ERROR_TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You may not see this page"),
    404: _l("Page not found"),
    405: _l("That action is not possible here"),
    413: _l("What you sent is too large"),
    422: _l("That could not be done"),
    429: _l("Too many requests"),
    503: _l("Please try again in a moment"),
}

# No inline scripts, no third-party anything: pages work without JavaScript.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

# The one kind of page other sites may frame (the campaign widget): nothing else changes.
FRAMEABLE_POLICY = CONTENT_SECURITY_POLICY.replace("frame-ancestors 'none'", "frame-ancestors *")


def register_error_handlers(app: Flask) -> None:
    """Friendly pages for every error; never a stack trace."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        message = _(
            "Your form expired or came from another site. Go back, reload the page and send "
            "it again; what you typed is kept by your browser."
        )
        return _error_page(400, message), 400

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # noqa: ANN202 - a page or a JSON response
        code = error.code or 500
        if request.path.startswith("/api/"):
            return api_error(code, error.description or error.name)
        if code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH") or 0
            message = _(
                "What you sent is larger than the %(size)s KB this site accepts. "
                "Shorten the longest texts and send it again.",
                size=limit // 1024,
            )
        elif code == 429:
            message = _("You have sent this form many times in a short while. Wait a minute.")
        else:
            message = error.description if code in ERROR_TITLES else None
        return _error_page(code, message), code

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> tuple[str, int]:
        app.logger.error("unhandled error on %s", request.path, exc_info=error.original_exception)
        message = _("Something went wrong on our side. Nothing you sent was lost; try again.")
        return _error_page(500, message), 500


def _error_page(code: int, message: str | None) -> str:
    title = ERROR_TITLES.get(code) or _("Something went wrong")
    return render_template("errors/error.html", code=code, title=title, message=message)


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_SECURITY_HEADERS_BY_KEY = tuple(
    (name.lower(), name, value) for name, value in SECURITY_HEADERS.items()
)


def register_security_headers(app: Flask) -> None:
    """All web security headers, in one place."""

    @app.after_request
    def security_headers(response):  # noqa: ANN001, ANN202 - Flask's Response
        # A view's own value wins (a framed widget's policy). One pass over the headers: this
        # runs on every response, the busiest ones included.
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        if g.get("frameable"):
            present.add("x-frame-options")
        for key, name, value in _SECURITY_HEADERS_BY_KEY:
            if key not in present:
                headers.add(name, value)
        return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookies, with the signer made once for the app's keys.

    Flask makes it anew on every request, with or without a cookie; the signing request, the
    busiest in a surge, reads no session but paid for that. A new SECRET_KEY or
    SECRET_KEY_FALLBACKS gets a new signer.
    """

    def __init__(self) -> None:
        self._signer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        cached = self._signer
        if cached is not None and cached[0] == keys:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._signer = (keys, serializer)
        return serializer


def register_template_helpers(app: Flask) -> None:
    """Helpers the page templates use."""

    @app.context_processor
    def page_helpers() -> dict:
        return {"site_name": app.config.get("SITE_NAME", "Advocacy Toolkit")}
