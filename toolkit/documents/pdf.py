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
import multiprocessing.connection
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
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


# --- many documents at once: batch letters ------------------------------------------------
#
# A batch has its own workers, apart from the single-document pool above: each is a spawned
# process that imports WeasyPrint once, then renders one document at a time sent over a pipe.
# The parent hands each idle worker the next document and times it, so a document that runs
# too long is stopped (its worker killed and replaced) without touching the others. Workers
# stay warm between batches and are stopped after a few idle minutes.

_BATCH_STARTUP = 120.0  # seconds a new worker may take to start and import WeasyPrint
_BATCH_IDLE = 300.0  # seconds an unused worker is kept
_BATCH_START_FAILURES = 3  # workers that die before they are ready, before a batch gives up


def _batch_worker(connection: multiprocessing.connection.Connection) -> None:
    """A batch worker's loop: render each (key, html) received; stop on None."""
    _init_worker()
    import weasyprint  # noqa: F401, PLC0415 - imported once, before the first document

    connection.send(("ready",))
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        key, html = task
        try:
            pdf, messages = _render(html, None)
        except Exception as error:  # noqa: BLE001 - reported to the parent, by key
            connection.send(("failed", key, f"{type(error).__name__}: {error}"))
        else:
            connection.send(("done", key, pdf, messages))


class _BatchWorker:
    """One batch worker process, seen from the parent."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.connection, child = context.Pipe()
        self.process = context.Process(target=_batch_worker, args=(child,), daemon=True)
        self.process.start()
        # Kept warm between batches, these are managed here (joined or killed by stop(), and
        # they end by themselves when this process goes): leave them out of
        # multiprocessing.active_children(), which callers use to watch the single-document pool.
        multiprocessing.process._children.discard(self.process)  # type: ignore[attr-defined]
        child.close()
        self.ready = False
        self.started = time.monotonic()  # of the process, then of the current task
        self.task: str | None = None
        self.count = 0
        self.idle_since = 0.0

    def give(self, key: str, html: str) -> None:
        self.connection.send((key, html))
        self.task = key
        self.count += 1
        self.started = time.monotonic()

    def deadline(self, timeout: float) -> float:
        if not self.ready:
            return self.started + _BATCH_STARTUP
        if self.task is not None:
            return self.started + timeout
        return float("inf")

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.connection.send(None)
            except OSError:
                kill = True
        if kill or not self._joined(2.0):
            self.process.kill()
            self.process.join(5)
        self.connection.close()

    def _joined(self, timeout: float) -> bool:
        self.process.join(timeout)
        return not self.process.is_alive()


_idle_workers: list[_BatchWorker] = []
_idle_lock = threading.Lock()
_reaper: threading.Thread | None = None


def _take_workers(count: int) -> list[_BatchWorker]:
    """Warm idle workers first, new ones for the rest."""
    with _idle_lock:
        taken = [w for w in _idle_workers[:count] if w.process.is_alive()]
        del _idle_workers[:count]
    return taken + [_BatchWorker() for _ in range(count - len(taken))]


def _give_back(workers: list[_BatchWorker]) -> None:
    """Keep healthy idle workers for the next batch (up to one per core); stop the rest."""
    global _reaper
    keep = max(os.cpu_count() or 1, 1)
    now = time.monotonic()
    spare: list[_BatchWorker] = []
    with _idle_lock:
        for worker in workers:
            healthy = worker.ready and worker.task is None and worker.process.is_alive()
            if healthy and worker.count < _TASKS_PER_WORKER and len(_idle_workers) < keep:
                worker.idle_since = now
                _idle_workers.append(worker)
            else:
                spare.append(worker)
        if _idle_workers and (_reaper is None or not _reaper.is_alive()):
            _reaper = threading.Thread(target=_reap_idle, name="pdf-batch-reaper", daemon=True)
            _reaper.start()
    for worker in spare:
        worker.stop(kill=worker.task is not None)


def _reap_idle() -> None:
    """Stop workers left unused for a while, so a web process does not keep them for nothing."""
    while True:
        time.sleep(min(60.0, _BATCH_IDLE / 2))
        now = time.monotonic()
        with _idle_lock:
            old = [w for w in _idle_workers if now - w.idle_since > _BATCH_IDLE]
            for worker in old:
                _idle_workers.remove(worker)
            left = bool(_idle_workers)
        for worker in old:
            worker.stop()
        if not left:
            return


def shutdown_batch_workers() -> None:
    """Stop the idle batch workers (registered with atexit)."""
    with _idle_lock:
        workers = list(_idle_workers)
        _idle_workers.clear()
    for worker in workers:
        worker.stop()


atexit.register(shutdown_batch_workers)


def render_many(
    documents: Sequence[tuple[str, str]],
    *,
    workers: int | None = None,
    timeout: float = 60.0,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, bytes | PdfError]:
    """Render many (key, html) documents on several processes; a PdfError stands for a failure.

    One document's error or timeout (``timeout`` seconds of its own rendering, not counting
    the wait for a worker) is returned for its key and never stops the others.
    ``progress(done, total)`` is called in this process as each document ends. Keys should
    be unique; the result keeps the order of ``documents``.
    """
    total = len(documents)
    if total == 0:
        return {}
    count = max(1, min(workers or os.cpu_count() or 1, total))
    pending = deque(documents)
    results: dict[str, bytes | PdfError] = {}
    done = 0
    start_failures = 0
    pool = _take_workers(count)

    def finish(key: str, result: bytes | PdfError) -> None:
        nonlocal done
        results[key] = result
        done += 1
        if progress is not None:
            progress(done, total)

    def replace(worker: _BatchWorker) -> None:
        worker.stop(kill=True)
        pool.remove(worker)
        if pending and len(pool) < count and start_failures < _BATCH_START_FAILURES:
            pool.append(_BatchWorker())

    try:
        while done < total:
            for worker in pool:
                if worker.ready and worker.task is None and pending:
                    key, html = pending.popleft()
                    worker.give(key, html)
            if not pool:  # no worker could start: fail what is left
                while pending:
                    key, _html = pending.popleft()
                    finish(key, PdfError("The PDF could not be made: no worker could start."))
                break
            now = time.monotonic()
            wait = max(0.0, min(w.deadline(timeout) for w in pool) - now)
            ready = multiprocessing.connection.wait(
                [w.connection for w in pool], timeout=min(wait, 5.0)
            )
            by_connection = {w.connection: w for w in pool}
            for connection in ready:
                worker = by_connection[connection]
                try:
                    message = connection.recv()
                except (EOFError, OSError):
                    if worker.task is not None:
                        logger.error("PDF batch: a worker died while rendering %s", worker.task)
                        finish(worker.task, PdfError("The PDF could not be made: its worker "
                                                     "stopped unexpectedly."))  # fmt: skip
                        worker.task = None
                    elif not worker.ready:
                        start_failures += 1
                    replace(worker)
                    continue
                if message[0] == "ready":
                    worker.ready = True
                    continue
                key = message[1]
                worker.task = None
                if message[0] == "done":
                    for name, level, text in message[3]:
                        logging.getLogger(name).log(level, "%s", text)
                    finish(key, message[2])
                else:
                    logger.error("PDF batch: %s failed: %s", key, message[2])
                    finish(key, PdfError("The PDF could not be made from this document."))
            now = time.monotonic()
            for worker in list(pool):
                if now < worker.deadline(timeout):
                    continue
                if worker.task is not None:
                    logger.warning("PDF batch: %s stopped after %g seconds", worker.task, timeout)
                    finish(worker.task, RenderTimeout(
                        f"Making the PDF took longer than {timeout:g} seconds, so it was stopped."
                    ))  # fmt: skip
                    worker.task = None
                else:
                    logger.error("PDF batch: a worker did not start in %g seconds", _BATCH_STARTUP)
                    start_failures += 1
                replace(worker)
    finally:
        _give_back(pool)
    return {key: results[key] for key, _html in documents if key in results}
