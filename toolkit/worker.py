"""`toolkit worker`: run the background jobs queued in Redis, and send the outbox.

Every app process queues its jobs (large PDFs, batch letters, sending to governments, the
outbox's flushes) in the RQ queue "toolkit"; as many `toolkit worker` processes as wanted, on
any machines sharing the database and Redis, take them one at a time. The app is built once
per worker and each job runs in a fresh app context.

A worker that dies mid-job (killed, out of memory, the machine lost) stops the job's
heartbeat; once the heartbeat is ABANDONED_AFTER seconds old, the next idle worker's
maintenance (every MAINTENANCE_SECONDS) puts the job back in the queue, and it runs again
from the start (see toolkit.jobs for why that is safe). RQ's own defaults would wait more than
ten minutes; the figures here make it well under a minute.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import threading
from urllib.parse import urlsplit

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from toolkit.jobs import QUEUE_NAME
from toolkit.mail.outbox import deliver_pending, deliver_until

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5  # a running job tells Redis it is alive this often
ABANDONED_AFTER = 20  # a job silent this long (four missed beats) lost its worker: retried
MAINTENANCE_SECONDS = 10  # how often an idle worker looks for such jobs (and due retries)
CLEANING_LOCK_SECONDS = 60  # RQ holds its cleaning lock 15 min if a worker dies while cleaning


@functools.cache
def worker_class() -> type:
    """The RQ worker class `toolkit worker` runs (made on first use: RQ and redis take a
    quarter of a second to import, which no web process or other command should pay)."""
    from redis.exceptions import RedisError  # noqa: PLC0415
    from rq import SimpleWorker, worker_registration  # noqa: PLC0415
    from rq.executions import Execution  # noqa: PLC0415
    from rq.job import Job  # noqa: PLC0415
    from rq.queue import Queue  # noqa: PLC0415
    from rq.registry import clean_registries  # noqa: PLC0415
    from rq.utils import now  # noqa: PLC0415
    from rq.worker import WorkerStatus  # noqa: PLC0415

    class ToolkitWorker(SimpleWorker):
        """RQ's worker, running each job in this process, in an app context of its own.

        A SimpleWorker (no fork per job): the job dies with its worker, so a job is never left
        running on its own while the queue retries it elsewhere. A thread keeps the job's
        heartbeat (RQ's forking worker does it from the parent), with the short figures above.
        """

        def __init__(self, *args: object, app: Flask, **kwargs: object) -> None:
            self.app = app
            kwargs.setdefault("job_monitoring_interval", HEARTBEAT_SECONDS)
            kwargs.setdefault("maintenance_interval", MAINTENANCE_SECONDS)
            # An idle worker waits this long for a job, minus 15 s, before its maintenance.
            kwargs.setdefault("worker_ttl", MAINTENANCE_SECONDS + 15)
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

        def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:  # noqa: ARG002
            """How long a job's heartbeat counts: past it, the job is taken as abandoned."""
            return ABANDONED_AFTER

        def execute_job(self, job: Job, queue: Queue) -> None:
            """Run the job here, in an app context, with a heartbeat thread beside it."""
            execution = self.prepare_execution(job)
            stop = threading.Event()
            beat = threading.Thread(target=self._beat, args=(job, execution, stop),
                                    name="rq-heartbeat", daemon=True)  # fmt: skip
            beat.start()
            try:
                with self.app.app_context():
                    self.perform_job(job, queue, execution)
            finally:
                stop.set()
                beat.join(HEARTBEAT_SECONDS * 2)
            self.set_state(WorkerStatus.IDLE)

        def _beat(self, job: Job, execution: Execution, stop: threading.Event) -> None:
            while not stop.wait(self.job_monitoring_interval):
                try:
                    self.maintain_heartbeats(job, execution)
                except RedisError as exc:  # Redis away: the next beat may get through
                    log.warning("worker: job %s heartbeat not sent: %s", job.id, exc)

        def clean_registries(self) -> None:
            """RQ's registry cleaning (which retries abandoned jobs), with a lock that a worker
            killed mid-cleaning holds for a minute rather than RQ's fifteen."""
            for queue in self.queues:
                key = queue.registry_cleaning_key
                if self.connection.set(key, 1, nx=True, ex=CLEANING_LOCK_SECONDS):
                    try:
                        clean_registries(queue, self._exc_handlers)
                        worker_registration.clean_worker_registry(queue)
                        queue.intermediate_queue.cleanup(self, queue)
                    finally:
                        queue.release_maintenance_lock()
            self.last_cleaned_at = now()

    return ToolkitWorker


def _safe_url(url: str) -> str:
    """The Redis URL without its password, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


def _flush_once(app: Flask) -> None:
    from toolkit.extensions import db  # noqa: PLC0415 - extensions import Flask machinery

    try:
        with app.app_context():
            deliver_pending(db.session, app.config, limit=100_000)
    except Exception:  # noqa: BLE001 - the jobs still run; the mail waits for the next flush
        log.exception("worker: the outbox could not be sent")


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the jobs waiting now, then stop (tests, cron).")
@click.option("--name", default=None, help="This worker's name in Redis (default: host.pid).")
@with_appcontext
def worker_cli(burst: bool, name: str | None) -> None:
    """Run the background jobs queued in Redis and send the outbox, until stopped.

    Needs TOOLKIT_REDIS_URL. SIGTERM or Ctrl-C finishes the current job, then stops; a second
    one stops at once (the job is then retried). Start as many as wanted, on any machine.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    url = app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException(
            "Redis is not configured: set TOOLKIT_REDIS_URL (for example "
            "redis://127.0.0.1:6379/0) to use `toolkit worker`. On one machine without Redis, "
            "jobs run inside the web processes and `toolkit mail worker` sends the mail."
        )
    from redis import Redis  # noqa: PLC0415
    from redis.exceptions import RedisError  # noqa: PLC0415

    connection = Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
    try:
        connection.ping()
    except RedisError as exc:
        raise click.ClickException(f"cannot reach Redis at {_safe_url(url)}: {exc}") from exc
    name = name or f"{socket.gethostname()}.{os.getpid()}"
    worker = worker_class()([QUEUE_NAME], connection=connection, name=name, app=app)
    logging.getLogger("toolkit").setLevel(logging.INFO)
    if not logging.getLogger().handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    click.echo(f"worker {name}: jobs from {_safe_url(url)} (queue {QUEUE_NAME}); "
               "stop with Ctrl-C")  # fmt: skip
    stop = threading.Event()
    mail = None
    if burst:
        _flush_once(app)
    else:
        interval = float(app.config["MAIL_WORKER_INTERVAL"])
        mail = threading.Thread(target=deliver_until, args=(app, stop, interval),
                                name="outbox", daemon=True)  # fmt: skip
        mail.start()
    try:
        worker.work(burst=burst, with_scheduler=True, logging_level="INFO")
    finally:
        stop.set()
        if mail is not None:
            mail.join()  # the message being sent is finished
        elif burst:
            _flush_once(app)  # what the jobs queued
    click.echo(f"worker {name}: stopped")
