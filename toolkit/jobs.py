"""Long work in the background, through one interface, with progress any process can read.

Two ways of running, chosen by the configuration, with the same functions:

* Without Redis (REDIS_URL unset), a job runs once, in a daemon thread of the process that
  starts it. Its state is a small JSON file in ``<instance>/jobs/`` (or JOBS_DIR), replaced
  atomically, so another web process on the machine reads the same progress. A running job
  writes a heartbeat; one whose heartbeat stops (its process ended) is read as failed.
* With REDIS_URL, a job goes to the RQ queue "toolkit" and `toolkit worker` runs it, on any
  machine, within JOB_TIMEOUT seconds, retried JOB_RETRIES times after an error or a worker
  that died. Its state and its result file's bytes are kept in Redis for KEEP_FOR, so every
  app process on every machine reads the same progress and serves the same result, whatever
  became of the worker that made it.

A target is a module-level function ``target(context, *args)`` with JSON arguments: RQ
imports it by name in another process, so a lambda or a closure is refused in both modes
(what works on one machine then works on several). A retried job starts from scratch, so a
target's side effects must be safe to repeat; the job's "done" and its result are written
once, by the attempt that is current, and a job already done is never run again.
"""

from __future__ import annotations

import hashlib
import importlib
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
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger(__name__)

STATES = ("queued", "running", "done", "failed")
HEARTBEAT_SECONDS = 5.0  # how often a running job says it is alive
STALE_AFTER = timedelta(minutes=3)  # a running job silent this long has lost its process
KEEP_FOR = timedelta(days=7)  # job states and their results are removed after this
QUEUE_NAME = "toolkit"  # the RQ queue `toolkit worker` listens on
# Seconds before the first, second, third... retry: the first at once (a dead worker's job has
# already waited to be found), later ones spaced out, as an error may be passing.
RETRY_INTERVALS = (0, 60, 300)
LOST = "The work stopped unexpectedly (the server may have restarted). Please start it again."
TIMED_OUT = "The work took longer than {seconds} seconds and was given up."
_ID_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_PREFIX = "toolkit:jobs:"  # Redis keys: <prefix>state:<id>, <prefix>result:<id>, <prefix>key:<key>

_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()
_file_lock = threading.RLock()  # one writer at a time for the job files of this process

Target = Callable[..., "str | os.PathLike[str] | None"]


class JobError(RuntimeError):
    """Background work cannot be started (the queue cannot be reached); the message says why."""


@dataclass(frozen=True)
class Job:
    """What is known about one job: its state, its progress and, when done, its result."""

    id: str
    kind: str
    state: str = "queued"
    done: int = 0
    total: int = 0
    message: str = ""
    result_path: str | None = None  # where the result was written (on the machine that ran it)
    error: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    owner: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    attempts: int = 0  # runs started so far: 2 after one retry
    timeout: int = 0  # seconds the job may run

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
    """Where job files live: JOBS_DIR, by default ``<instance>/jobs``.

    Without Redis it holds the jobs' states and results; with Redis, local copies of results
    (made by the worker, or fetched from Redis to be served).
    """
    folder = Path(app.config.get("JOBS_DIR") or os.path.join(app.instance_path, "jobs"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def uses_redis(app: Flask) -> bool:
    """True when jobs go to RQ (REDIS_URL is set)."""
    return bool(app.config.get("REDIS_URL"))


def redis_connection(app: Flask) -> Redis:
    """The app's Redis client, made once per app (redis-py reconnects after a fork)."""
    client = app.extensions.get("toolkit.redis")
    if client is None:
        from redis import Redis  # noqa: PLC0415 - only sites with Redis need it

        client = Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=5, socket_timeout=30,
            health_check_interval=30,
        )  # fmt: skip
        app.extensions["toolkit.redis"] = client
    return client


def _now() -> datetime:
    return datetime.now(UTC)


def _to_json(job: Job) -> str:
    data = asdict(job)
    for name in ("started_at", "finished_at", "created_at", "updated_at"):
        if data[name] is not None:
            data[name] = data[name].isoformat()
    return json.dumps(data, ensure_ascii=False)


def _from_json(text: str | bytes) -> Job:
    data = json.loads(text)
    for name in ("started_at", "finished_at", "created_at", "updated_at"):
        if data.get(name):
            data[name] = datetime.fromisoformat(data[name])
    known = Job.__dataclass_fields__
    return Job(**{key: value for key, value in data.items() if key in known})


# --- where states are kept: files (one machine) or Redis (several) ---------------------------

Change = Callable[[Job], "Job | None"]  # the new state, or None to leave the job as it is


class _FileStore:
    """Job states as JSON files; results stay where the target wrote them."""

    keeps_results = False

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def load(self, job_id: str) -> Job | None:
        try:
            return _from_json((self.folder / f"{job_id}.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def create(self, job: Job) -> None:
        with _file_lock:
            self._write(job)

    def apply(self, job_id: str, change: Change, result: bytes | None = None) -> Job | None:
        """Change the job's state in one step for this process; None when it was left as is."""
        with _file_lock:
            current = self.load(job_id)
            new = change(current) if current is not None else None
            if new is not None:
                self._write(new)
            return new

    def _write(self, job: Job) -> None:
        """Replace the job's file in one step, so a reader never sees half of it."""
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{job.id}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(_to_json(job))
            os.replace(temporary, self.folder / f"{job.id}.json")
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def result(self, job_id: str) -> bytes | None:  # noqa: ARG002 - the file is the result
        return None

    def _key_file(self, key: str) -> Path:
        return self.folder / f"key-{hashlib.sha256(key.encode()).hexdigest()[:32]}.txt"

    def lookup(self, key: str) -> str | None:
        try:
            return self._key_file(key).read_text(encoding="utf-8").strip() or None
        except FileNotFoundError:
            return None

    def register(self, key: str, job_id: str, busy: Callable[[str], bool]) -> str:
        """Name ``job_id`` the job for ``key``, unless a busy job already is; return the winner."""
        with _file_lock:
            existing = self.lookup(key)
            if existing and busy(existing):
                return existing
            path = self._key_file(key)
            temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            temporary.write_text(job_id, encoding="utf-8")
            os.replace(temporary, path)
            return job_id

    def prune(self) -> None:
        """Remove job files and results older than KEEP_FOR, so the folder does not grow forever."""
        _prune(self.folder)


class _RedisStore:
    """Job states and results in Redis, shared by every process on every machine."""

    keeps_results = True

    def __init__(self, connection: Redis, folder: Path) -> None:
        self.connection = connection
        self.folder = folder
        self.ttl = int(KEEP_FOR.total_seconds())

    @staticmethod
    def _state_key(job_id: str) -> str:
        return f"{_PREFIX}state:{job_id}"

    @staticmethod
    def _result_key(job_id: str) -> str:
        return f"{_PREFIX}result:{job_id}"

    def load(self, job_id: str) -> Job | None:
        raw = self.connection.get(self._state_key(job_id))
        return _from_json(raw) if raw else None

    def create(self, job: Job) -> None:
        self.connection.set(self._state_key(job.id), _to_json(job), ex=self.ttl)

    def apply(self, job_id: str, change: Change, result: bytes | None = None) -> Job | None:
        """Read, change and write the state in one transaction (WATCH: a concurrent writer
        makes it start again); the result is stored in the same transaction."""
        key = self._state_key(job_id)

        def transaction(pipe) -> Job | None:  # noqa: ANN001 - a redis Pipeline
            raw = pipe.get(key)
            new = change(_from_json(raw)) if raw else None
            if new is None:
                return None
            pipe.multi()
            if result is not None:
                pipe.set(self._result_key(job_id), result, ex=self.ttl)
            pipe.set(key, _to_json(new), ex=self.ttl)
            return new

        return self.connection.transaction(transaction, key, value_from_callable=True)

    def result(self, job_id: str) -> bytes | None:
        return self.connection.get(self._result_key(job_id))

    def lookup(self, key: str) -> str | None:
        raw = self.connection.get(f"{_PREFIX}key:{key}")
        return raw.decode() if raw else None

    def register(self, key: str, job_id: str, busy: Callable[[str], bool]) -> str:
        name = f"{_PREFIX}key:{key}"

        def transaction(pipe) -> str:  # noqa: ANN001 - a redis Pipeline
            existing = pipe.get(name)
            if existing and busy(existing.decode()):
                return existing.decode()
            pipe.multi()
            pipe.set(name, job_id, ex=self.ttl)
            return job_id

        return self.connection.transaction(transaction, name, value_from_callable=True)

    def prune(self) -> None:
        """Local copies of results go after KEEP_FOR (Redis expires its own keys)."""
        _prune(self.folder)


def _store(app: Flask) -> _FileStore | _RedisStore:
    folder = jobs_folder(app)
    if uses_redis(app):
        return _RedisStore(redis_connection(app), folder)
    return _FileStore(folder)


# --- the rules of a job's life, the same in both stores ------------------------------------


def _begin(job: Job) -> Job | None:
    """A new attempt starts from scratch; a job already done is not run again."""
    if job.state == "done":
        return None
    now = _now()
    return replace(job, state="running", attempts=job.attempts + 1, done=0, total=0, message="",
                   error="", result_path=None, started_at=now, finished_at=None,
                   updated_at=now)  # fmt: skip


def _current(attempt: int) -> Callable[[Job], bool]:
    """Only the attempt now running may write: a late one's words are dropped."""
    return lambda job: job.state == "running" and job.attempts == attempt


class JobContext:
    """Handed to a job's target: report progress, and find where to put the result."""

    def __init__(self, app: Flask, job: Job, store: _FileStore | _RedisStore) -> None:
        self.app = app
        self.folder = store.folder
        self._store = store
        self._job = job

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self._job.id

    @property
    def attempt(self) -> int:
        """Which run of the job this is: 1, then 2 after a retry."""
        return self._job.attempts

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record how far the work has come: ``done`` of ``total`` steps, and what it is doing."""
        self._update(done=done, total=total, message=message or self._job.message)

    def result_file(self, name: str) -> Path:
        """A path for the job's result file, in the jobs folder (``<id>-<name>``)."""
        return self.folder / f"{self._job.id}-{Path(name).name}"

    def _update(self, result: bytes | None = None, **changes: Any) -> Job | None:
        is_current = _current(self._job.attempts)

        def change(job: Job) -> Job | None:
            return replace(job, updated_at=_now(), **changes) if is_current(job) else None

        new = self._store.apply(self._job.id, change, result)
        if new is not None:
            self._job = new
        return new

    def _heartbeat(self) -> None:
        """Say the job is alive; without a queue to stop it, give up a job past its time."""
        job = self._job
        timeout = job.timeout
        if (
            not self._store.keeps_results
            and timeout
            and job.started_at is not None
            and _now() - job.started_at > timedelta(seconds=timeout)
        ):
            self._update(state="failed", error=TIMED_OUT.format(seconds=timeout),
                         finished_at=_now())  # fmt: skip
            return
        self._update()

    def _finish(self, result: str | os.PathLike[str] | None) -> bool:
        """Record the job done with its result (bytes too, in Redis); False if it was not the
        current attempt's to record."""
        data = None
        if result and self._store.keeps_results:
            data = Path(result).read_bytes()
        return self._update(result=data, state="done", result_path=str(result) if result else None,
                            finished_at=_now()) is not None  # fmt: skip

    def _fail(self, error: str, retrying: bool) -> None:
        if retrying:
            message = f"Attempt {self._job.attempts} failed ({error}); it will be tried again."
            self._update(state="queued", error="", message=message[:500])
        else:
            self._update(state="failed", error=error, finished_at=_now())


def _perform(
    app: Flask,
    store: _FileStore | _RedisStore,
    job_id: str,
    target: Target,
    args: list,
    *,
    will_retry: Callable[[], bool],
) -> bool:
    """Run one attempt of a job in the current app context; False when it failed.

    A failed attempt is recorded as failed, or as queued again when ``will_retry`` says the
    queue will retry it. In a worker the exception is then re-raised, for RQ to record and
    retry; in a thread it ends there.
    """
    job = store.apply(job_id, _begin)
    if job is None:
        log.info("job %s: already done or unknown; not run again", job_id)
        return True
    context = JobContext(app, job, store)
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                context._heartbeat()
            except Exception:  # noqa: BLE001 - a missed beat is not the job's failure
                log.exception("job %s: heartbeat not written", job_id)

    heart = threading.Thread(target=beat, name=f"job-heartbeat-{job_id[:6]}", daemon=True)
    heart.start()
    try:
        result = target(context, *args)
        if not context._finish(result):
            log.warning("job %s: attempt %s finished after it was replaced", job_id, job.attempts)
        return True
    except Exception as exc:
        log.exception("job %s (%s) attempt %s failed", job_id, job.kind, job.attempts)
        retrying = will_retry()
        try:
            context._fail(str(exc) or type(exc).__name__, retrying)
        except Exception:  # noqa: BLE001 - the original error matters more
            log.exception("job %s: failure not recorded", job_id)
        if store.keeps_results:
            raise  # RQ records the failure and retries the job
        return False
    finally:
        stop.set()
        heart.join(10)


# --- starting and reading jobs -----------------------------------------------------------


def _target_name(target: Target) -> str:
    """``module.function`` for a module-level function; TypeError for anything else."""
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", "")
    found = None
    if module and module != "__main__" and name.isidentifier():
        found = getattr(importlib.import_module(module), name, None)
    if found is not target:
        raise TypeError(
            f"a job's target must be a module-level function (RQ imports it by name), "
            f"not {target!r}"
        )
    return f"{module}.{name}"


def _import_target(name: str) -> Target:
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(module), function)


def _json_args(args: tuple) -> list:
    """The arguments as JSON would give them back (tuples become lists), in both modes."""
    try:
        return json.loads(json.dumps(list(args)))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"a job's arguments must be JSON values: {exc}") from exc


def _retry(app: Flask):  # noqa: ANN202 - an rq.Retry or None
    from rq import Retry  # noqa: PLC0415

    retries = int(app.config.get("JOB_RETRIES") or 0)
    if retries <= 0:
        return None
    intervals = [RETRY_INTERVALS[min(i, len(RETRY_INTERVALS) - 1)] for i in range(retries)]
    return Retry(max=retries, interval=intervals)


def start_job(
    app: Flask,
    kind: str,
    target: Target,
    *args: Any,
    owner: str = "",
    timeout: int | None = None,
    key: str | None = None,
) -> str:
    """Run ``target(context, *args)`` in the background inside an app context; return the id.

    The target reports progress through its JobContext and returns the path of its result
    file, or None; an exception it raises is the job's error. ``timeout`` defaults to
    JOB_TIMEOUT. With ``key``, a job for that key still queued or running is reused rather
    than started twice (a kept PDF asked for by two people at once). Raises JobError when
    the queue cannot be reached, TypeError for a target or arguments a queue cannot carry.
    """
    name = _target_name(target)
    values = _json_args(args)
    seconds = int(timeout or app.config.get("JOB_TIMEOUT") or 3600)
    now = _now()
    job = Job(id=secrets.token_urlsafe(16), kind=kind, owner=owner, created_at=now,
              updated_at=now, timeout=seconds)  # fmt: skip
    if not uses_redis(app):
        store = _FileStore(jobs_folder(app))
        store.prune()
        if key and (winner := store.register(key, job.id, _busy(app))) != job.id:
            return winner
        store.create(job)
        thread = threading.Thread(target=_run_thread, args=(app, store, job.id, target, values),
                                  name=f"job-{kind}-{job.id[:6]}", daemon=True)  # fmt: skip
        with _threads_lock:
            _threads.add(thread)
        thread.start()
        return job.id

    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import Queue  # noqa: PLC0415

    try:
        store = _RedisStore(redis_connection(app), jobs_folder(app))
        store.prune()
        if key and (winner := store.register(key, job.id, _busy(app))) != job.id:
            return winner
        store.create(job)
        Queue(QUEUE_NAME, connection=store.connection).enqueue(
            run_job, job.id, name, values, job_id=job.id, job_timeout=seconds,
            retry=_retry(app), description=f"{kind} {job.id}", result_ttl=3600,
            failure_ttl=int(KEEP_FOR.total_seconds()),
        )  # fmt: skip
    except RedisError as exc:
        log.exception("job %s (%s): not queued", job.id, kind)
        raise JobError(f"the job queue (Redis) cannot be reached: {exc}") from exc
    return job.id


def _busy(app: Flask) -> Callable[[str], bool]:
    def busy(job_id: str) -> bool:
        job = get_job(app, job_id)
        return job is not None and not job.finished

    return busy


def _run_thread(app: Flask, store: _FileStore, job_id: str, target: Target, args: list) -> None:
    try:
        with app.app_context():
            _perform(app, store, job_id, target, args, will_retry=lambda: False)
    except Exception:  # noqa: BLE001 - a daemon thread has no one to raise to
        log.exception("job %s: could not be run", job_id)
    finally:
        with _threads_lock:
            _threads.discard(threading.current_thread())


def run_job(job_id: str, target: str, args: list) -> None:
    """What `toolkit worker` runs for each job (RQ imports it by name), in an app context."""
    from rq import get_current_job  # noqa: PLC0415

    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def will_retry() -> bool:
        job = get_current_job()
        return bool(job is not None and job.retries_left)

    _perform(app, _store(app), job_id, _import_target(target), args, will_retry=will_retry)


def enqueue_task(
    app: Flask, target: Callable[..., Any], *args: Any, once: str = "", once_seconds: int = 300
) -> bool:
    """Queue ``target(*args)`` for `toolkit worker`, with no state to follow (the outbox's
    flush); True when queued. Needs REDIS_URL.

    With ``once`` (a Redis key), nothing is queued while an earlier task with that key still
    waits: the key is set here and cleared when the task starts, or after ``once_seconds``.
    Raises JobError when Redis cannot be reached.
    """
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import Queue  # noqa: PLC0415

    name, values = _target_name(target), _json_args(args)
    connection = redis_connection(app)
    try:
        if once and not connection.set(once, "1", nx=True, ex=once_seconds):
            return False
        Queue(QUEUE_NAME, connection=connection).enqueue(
            run_task, name, values, once, job_timeout=int(app.config.get("JOB_TIMEOUT") or 3600),
            result_ttl=0, failure_ttl=24 * 3600, description=name,
        )  # fmt: skip
    except RedisError as exc:
        raise JobError(f"the job queue (Redis) cannot be reached: {exc}") from exc
    return True


def run_task(target: str, args: list, once: str = "") -> None:
    """What `toolkit worker` runs for a task: clear its "waiting" key, then call it."""
    if once:
        redis_connection(current_app._get_current_object()).delete(once)  # type: ignore[attr-defined]
    _import_target(target)(*args)


def find_job(app: Flask, key: str) -> Job | None:
    """The latest job started with this ``key`` (see start_job), or None."""
    try:
        job_id = _store(app).lookup(key)
    except Exception:  # noqa: BLE001 - an unreachable queue is reported when starting one
        log.exception("job key %s: not readable", key)
        return None
    return get_job(app, job_id) if job_id else None


def get_job(app: Flask, job_id: str) -> Job | None:
    """The job with this id, or None; a running job whose process is gone is read as failed."""
    if not _ID_RE.match(job_id or ""):
        return None
    store = _store(app)
    try:
        job = store.load(job_id)
    except Exception:  # noqa: BLE001 - an unreadable file or Redis away: no job to show
        log.exception("job %s: unreadable state", job_id)
        return None
    if job is None or job.finished or job.updated_at is None:
        return job
    if _now() - job.updated_at <= STALE_AFTER or not _lost(app, job):
        return job

    def lose(current: Job) -> Job | None:
        if current.finished or current.updated_at != job.updated_at:
            return None  # it moved on meanwhile
        return replace(current, state="failed", error=LOST, finished_at=_now(), updated_at=_now())

    return store.apply(job_id, lose) or store.load(job_id)


def _lost(app: Flask, job: Job) -> bool:
    """A silent job is lost unless RQ still holds it (waiting for a worker, or for a retry)."""
    if not uses_redis(app):
        return True
    from rq.exceptions import NoSuchJobError  # noqa: PLC0415
    from rq.job import Job as RqJob  # noqa: PLC0415
    from rq.job import JobStatus  # noqa: PLC0415

    try:
        status = RqJob.fetch(job.id, connection=redis_connection(app)).get_status()
    except NoSuchJobError:
        return True
    waiting = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)
    return status not in waiting


def job_result_path(app: Flask, job: Job) -> Path | None:
    """A local path to a done job's result file, or None when there is none (any longer).

    With Redis the file may have been made on another machine: its bytes are fetched from
    Redis into the jobs folder the first time this machine needs them.
    """
    if job.state != "done" or not job.result_path:
        return None
    if not uses_redis(app):
        path = Path(job.result_path)
        return path if path.is_file() else None
    name = Path(job.result_path).name
    if not name.startswith(f"{job.id}-"):
        name = f"{job.id}-{name}"
    local = jobs_folder(app) / name
    if local.is_file():
        return local
    try:
        data = _RedisStore(redis_connection(app), local.parent).result(job.id)
    except Exception:  # noqa: BLE001 - Redis away: no result to serve now
        log.exception("job %s: result not readable", job.id)
        return None
    if data is None:
        return None
    handle, temporary = tempfile.mkstemp(dir=local.parent, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, local)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return local


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
    """Remove files older than KEEP_FOR, so the folder does not grow forever."""
    limit = time.time() - KEEP_FOR.total_seconds()
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < limit:
                path.unlink()
        except OSError:
            pass
