"""Long work in the background, with progress any process can read.

For now a job runs in a daemon thread of the process that started it; a later change can put
a queue (Redis/RQ) behind the same functions. Each job's state is a small JSON file in
``<instance>/jobs/`` (or ``JOBS_DIR``), replaced atomically, so a page served by another
web process reads the same progress. A running job writes a heartbeat every few seconds; one
whose heartbeat stops (its process ended) is read as failed rather than running forever.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import Flask

log = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "failed")
HEARTBEAT_SECONDS = 20.0  # how often a running job says it is alive
STALE_AFTER = timedelta(minutes=3)  # a running job silent this long has lost its process
KEEP_FOR = timedelta(days=7)  # job files and their results are removed after this
LOST = "The work stopped unexpectedly (the server may have restarted). Please start it again."
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


@dataclass(frozen=True)
class Job:
    """What is known about one job: its state, its progress and, when done, its result."""

    id: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    result_path: str | None = None
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    owner: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def percent(self) -> int:
        """Progress as a whole percentage (100 only when done)."""
        if self.state == "done":
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))

    @property
    def finished(self) -> bool:
        """True once the job is done or failed."""
        return self.state in ("done", "failed")


def jobs_folder(app: Flask) -> Path:
    """Where job files live: JOBS_DIR, by default ``<instance>/jobs``."""
    folder = Path(app.config.get("JOBS_DIR") or os.path.join(app.instance_path, "jobs"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _now() -> datetime:
    return datetime.now(UTC)


def _to_json(job: Job) -> str:
    data = asdict(job)
    for name in ("started_at", "finished_at", "created_at", "updated_at"):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return json.dumps(data, ensure_ascii=False)


def _from_json(text: str) -> Job:
    data = json.loads(text)
    for name in ("started_at", "finished_at", "created_at", "updated_at"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    known = Job.__dataclass_fields__
    return Job(**{key: value for key, value in data.items() if key in known})


def _write(folder: Path, job: Job) -> None:
    """Replace the job's file in one step, so a reader never sees half of it."""
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{job.id}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(_to_json(job))
        os.replace(temporary, folder / f"{job.id}.json")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class JobContext:
    """Handed to a job's target: report progress, and find where to put the result."""

    def __init__(self, app: Flask, job: Job, folder: Path) -> None:
        self.app = app
        self.folder = folder
        self._job = job
        self._lock = threading.Lock()

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._job.id

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record how far the work has come: ``done`` of ``total`` steps, and what it is doing."""
        self._update(done=done, total=total, message=message or self._job.message)

    def result_file(self, name: str) -> Path:
        """A path for the job's result file, next to its state (``<id>-<name>``)."""
        return self.folder / f"{self._job.id}-{Path(name).name}"

    def _update(self, **changes: object) -> Job:
        with self._lock:
            self._job = replace(self._job, updated_at=_now(), **changes)
            _write(self.folder, self._job)
            return self._job

    def _heartbeat(self) -> None:
        with self._lock:
            if self._job.state == "running":
                self._job = replace(self._job, updated_at=_now())
                _write(self.folder, self._job)


def start_job(
    app: Flask,
    kind: str,
    target: Callable[[JobContext], str | None],
    *,
    owner: str = "",
) -> str:
    """Run ``target`` in the background inside an app context; return the new job's id.

    The target reports progress through its JobContext and returns the path of its result
    file, or None. An exception it raises marks the job failed with the exception's message.
    """
    folder = jobs_folder(app)
    _prune(folder)
    now = _now()
    job = Job(id=secrets.token_urlsafe(16), kind=kind, owner=owner, created_at=now,
              updated_at=now)  # fmt: skip
    _write(folder, job)
    context = JobContext(app, job, folder)
    thread = threading.Thread(
        target=_run, args=(app, context, target), name=f"job-{kind}-{job.id[:6]}", daemon=True
    )
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return job.id


def _run(app: Flask, context: JobContext, target: Callable[[JobContext], str | None]) -> None:
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                context._heartbeat()
            except OSError:
                log.exception("job %s: heartbeat not written", context.job_id)

    heart = threading.Thread(target=beat, name=f"job-heartbeat-{context.job_id[:6]}", daemon=True)
    try:
        context._update(state="running", started_at=_now())
        heart.start()
        with app.app_context():
            result = target(context)
        context._update(state="done", result_path=str(result) if result else None,
                        finished_at=_now())  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - any failure is the job's result
        log.exception("job %s (%s) failed", context.job_id, context._job.kind)
        try:
            context._update(state="failed", error=str(exc) or type(exc).__name__,
                            finished_at=_now())  # fmt: skip
        except OSError:
            log.exception("job %s: failure not recorded", context.job_id)
    finally:
        stop.set()
        with _threads_lock:
            _threads.discard(threading.current_thread())


def get_job(app: Flask, job_id: str) -> Job | None:
    """The job with this id, or None; a running job whose heartbeat stopped is read as failed."""
    if not _ID_RE.match(job_id or ""):
        return None
    folder = jobs_folder(app)
    try:
        job = _from_json((folder / f"{job_id}.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        log.exception("job %s: unreadable state file", job_id)
        return None
    if job.state in ("queued", "running") and job.updated_at is not None:
        if _now() - job.updated_at > STALE_AFTER:
            job = replace(job, state="failed", error=LOST, finished_at=_now(), updated_at=_now())
            _write(folder, job)
    return job


def wait_for_jobs(timeout: float = 30.0) -> bool:
    """Wait for the jobs started in this process (tests, shutdown); True when all ended."""
    deadline = time.monotonic() + timeout
    while True:
        with _threads_lock:
            threads = list(_threads)
        if not threads:
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        threads[0].join(min(remaining, 0.5))


def _prune(folder: Path) -> None:
    """Remove job files and results older than KEEP_FOR, so the folder does not grow forever."""
    limit = time.time() - KEEP_FOR.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass
