"""One caching policy for what the public reads during a surge: pages, the widget, the API."""

from __future__ import annotations

from flask import request
from werkzeug.wrappers import Response

STALE_IF_ERROR = 86400  # a cache may keep serving a day's old copy while the app is down


def cache_publicly(response: Response, max_age: int, *, live: bool = True) -> Response:
    """Let a cache in front serve the response for ``max_age`` seconds. A ``live`` figure (a
    count) may also be served stale while it is refreshed and while the app is down, as the UK
    petitions site learned to; an ETag (the body's, unless one is set) answers a repeat with
    304."""
    response.cache_control.public = True
    response.cache_control.max_age = max_age
    if live:
        response.cache_control.stale_while_revalidate = 4 * max_age
        response.cache_control.stale_if_error = STALE_IF_ERROR
    if response.get_etag()[0] is None:
        response.add_etag()
    return response.make_conditional(request)
