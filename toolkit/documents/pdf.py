"""HTML to PDF with WeasyPrint: the only module that imports it.

A PDF may bring in nothing but files under ``toolkit/static/`` and ``data:`` URLs,
and rendering runs in a worker process so that a runaway document can be stopped.
WeasyPrint itself (about a second and 100 MB to import) is loaded only where a PDF is
rendered: in the worker processes, not in every web process and CLI command.
"""

from __future__ import annotations

import atexit
import functools
import logging
import mimetypes
import multiprocessing
import os
import threading
from multiprocessing.pool import Pool
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import DataHandler, Request, url2pathname

logger = logging.getLogger(__name__)

STATIC_ROOT = Path(__file__).resolve().parent.parent / "static"


class PdfError(Exception):
    """Rendering failed (message is safe to show to a user)."""


class RenderTimeout(PdfError):
    """Rendering took longer than allowed, and its worker was stopped."""


class RefusedURL(ValueError):
    """A document asked for something outside static files and ``data:`` URLs."""


@functools.cache
def _safe_fetcher_class() -> type:
    """The fetcher class, made on first use so that importing this module stays light."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: PLC0415

    class SafeURLFetcher(URLFetcher):
        """Serves only files under STATIC_ROOT and ``data:`` URLs, so a PDF never reaches out.

        ``file:`` URLs are served only if their real path (symlinks and ``..`` resolved)
        is a file inside STATIC_ROOT. Anything else raises ``RefusedURL`` before any
        network or file access. The base class's opener, with its proxy, FTP and HTTP
        handlers, is never used; the arguments passed to it are only a second lock.
        """

        def __init__(self) -> None:
            super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False)

        def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
            """Return the resource at ``url``, or raise ``RefusedURL``."""
            scheme = url.partition(":")[0].lower()
            if scheme == "data":
                # Decoded here, not by the opener, which a *_proxy variable could reroute.
                response = DataHandler().data_open(Request(url))
                return URLFetcherResponse(url, response.read(), response.headers)
            if scheme == "file" and (path := _static_file(url)) is not None:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                # The real path becomes the URL, so relative URLs in a stylesheet resolve from it.
                return URLFetcherResponse(
                    path.as_uri(), path.read_bytes(), {"Content-Type": content_type}
                )
            shown = url if len(url) <= 200 else f"{url[:200]}…"
            logger.info("PDF: refused to fetch %s", shown)
            raise RefusedURL(f"only static files and data: URLs are allowed: {shown}")

    return SafeURLFetcher


def __getattr__(name: str) -> object:
    """``SafeURLFetcher`` on demand (PEP 562): it subclasses WeasyPrint's fetcher."""
    if name == "SafeURLFetcher":
        return _safe_fetcher_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _static_file(url: str) -> Path | None:
    """The real path a ``file:`` URL names, if it is a regular file inside STATIC_ROOT."""
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        return None  # urllib would hand file://host/... to FTP
    try:
        path = Path(url2pathname(parts.path)).resolve()
        root = STATIC_ROOT.resolve()
        return path if path.is_relative_to(root) and path.is_file() else None
    except (OSError, ValueError):  # a NUL byte, a symlink loop
        return None


class _Collector(logging.Handler):
    """Keeps one render's log messages for the parent: a spawned worker has no logging setup."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[tuple[str, int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        # Progress is chatter; WeasyPrint's error for a refused URL repeats the fetcher's INFO.
        if record.name != "weasyprint.progress" and "RefusedURL:" not in message:
            self.messages.append((record.name, record.levelno, message))


_LOGGERS = ("weasyprint", __name__)


def _init_worker() -> None:
    """Let INFO messages reach the collector in a worker, where logging is not configured."""
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def _render(html: str, base_url: str | None) -> tuple[bytes, list[tuple[str, int, str]]]:
    """Render in a worker process; return the PDF and the messages logged meanwhile."""
    collector = _Collector()
    for name in _LOGGERS:
        logging.getLogger(name).addHandler(collector)
    import weasyprint  # noqa: PLC0415 - loaded in the worker process only

    try:
        document = weasyprint.HTML(
            string=html,
            base_url=base_url or STATIC_ROOT.as_uri() + "/",
            url_fetcher=_safe_fetcher_class()(),
        )
        return document.write_pdf(), collector.messages
    finally:
        for name in _LOGGERS:
            logging.getLogger(name).removeHandler(collector)


# WeasyPrint 70 keeps some 250 kB per document (a new font map each time), so a worker is
# replaced after this many documents.
_TASKS_PER_WORKER = 200

_pool: Pool | None = None
_pool_lock = threading.Lock()


def _get_pool() -> Pool:
    """The worker pool, created on first use so that importing this module stays cheap."""
    global _pool
    with _pool_lock:
        if _pool is None:
            processes = int(os.environ.get("TOOLKIT_PDF_WORKERS", "1"))
            context = multiprocessing.get_context("spawn")  # no copy of the app's threads or locks
            _pool = context.Pool(
                processes, initializer=_init_worker, maxtasksperchild=_TASKS_PER_WORKER
            )
        return _pool


def _stop(pool: Pool) -> None:
    """Kill ``pool``'s workers and forget it, so that the next render starts a fresh pool."""
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.terminate()
    pool.join()


def shutdown() -> None:
    """Terminate the worker pool (registered with atexit)."""
    if (pool := _pool) is not None:
        _stop(pool)


atexit.register(shutdown)


def render_pdf(html: str, *, timeout: float = 30.0, base_url: str | None = None) -> bytes:
    """HTML string -> PDF bytes, with a hard cap on render time.

    Relative URLs resolve against ``base_url``, by default STATIC_ROOT. The time
    includes waiting for a free worker and, on the first call, starting one.
    """
    pool = _get_pool()
    result = pool.apply_async(_render, (html, base_url))
    try:
        pdf, messages = result.get(timeout)
    except multiprocessing.TimeoutError:
        _stop(pool)
        logger.warning("PDF rendering stopped after %g seconds", timeout)
        raise RenderTimeout(
            f"Making the PDF took longer than {timeout:g} seconds, so it was stopped."
        ) from None
    except Exception as error:
        logger.exception("PDF rendering failed")
        raise PdfError("The PDF could not be made from this document.") from error
    for name, level, message in messages:
        logging.getLogger(name).log(level, "%s", message)
    return pdf
