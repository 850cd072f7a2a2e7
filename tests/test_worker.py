"""`toolkit worker`: jobs through Redis (RQ) run by real worker processes; a worker killed
mid-job has its job retried and completed once; mail queued while no worker runs is sent
when one starts.

The tests use Redis database 5 (TOOLKIT_TEST_REDIS_URL), emptied before and after each test.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterator
from io import BytesIO
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from tests import worker_targets
from tests.campaigns.helpers import links, make_campaign, sign
from tests.campaigns.test_batch_letters import pdf_text, setup_campaign
from tests.campaigns.test_organizers import add_signatures
from tests.conftest import csrf_token, login, make_user, require
from tests.smtp import mail_config, smtp_server  # noqa: F401
from toolkit.config import PROJECT_ROOT
from toolkit.extensions import db
from toolkit.jobs import QUEUE_NAME, get_job, job_result_path, start_job
from toolkit.mail.models import OutboxMessage
from toolkit.mail.outbox import FLUSH_WAITING_KEY

REDIS_TEST_URL = os.environ.get("TOOLKIT_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database for one test (skipped when Redis is absent, failed in CI)."""
    from redis import Redis
    from redis.exceptions import RedisError

    client = Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
        problem = None
    except RedisError as exc:
        problem = f"Redis not reachable at {REDIS_TEST_URL}: {exc}"
    require(problem is None, problem or "")
    client.flushdb()
    try:
        yield REDIS_TEST_URL
    finally:
        client.flushdb()
        client.close()


def _with_redis(app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    app.config["REDIS_URL"] = redis_url
    app.config["JOBS_DIR"] = str(tmp_path / "app-jobs")  # never the worker's folder
    yield app
    client = app.extensions.pop("toolkit.redis", None)
    if client is not None:
        client.close()


@pytest.fixture
def redis_app(app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app (SQLite and PostgreSQL) with its jobs going to Redis."""
    yield from _with_redis(app, redis_url, tmp_path)


@pytest.fixture
def redis_sqlite_app(sqlite_app: Flask, redis_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite only with its jobs going to Redis (the database is not the subject)."""
    yield from _with_redis(sqlite_app, redis_url, tmp_path)


class WorkerProcess:
    """A real `toolkit worker`, in its own process group, logging to a file."""

    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        with open(log, "ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "toolkit", "worker", *args],
                env=env, cwd=PROJECT_ROOT, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM, as systemd stops it: the current job is finished first."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def kill(self) -> None:
        """SIGKILL to the worker and every process it started (its process group)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()


@pytest.fixture
def workers(redis_url: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers on the test's database and Redis: ``workers(app, "name", *options, **env)``."""
    started: list[WorkerProcess] = []

    def start(app: Flask, name: str, *options: str, **extra: str) -> WorkerProcess:
        env = {**os.environ, "TOOLKIT_DATABASE_URL": app.config["DATABASE_URL"],
               "TOOLKIT_SECRET_KEY": app.config["SECRET_KEY"], "TOOLKIT_REDIS_URL": redis_url,
               "TOOLKIT_JOBS_DIR": str(tmp_path / "worker-jobs"),
               "TOOLKIT_OUTBOX_DIR": str(tmp_path / "worker-outbox"),
               "TOOLKIT_DOCUMENTS_DIR": str(tmp_path / "worker-documents"),
               "TOOLKIT_MAIL_WORKER_INTERVAL": "0.2", **extra}  # fmt: skip
        worker = WorkerProcess(env, tmp_path / f"worker-{name}.log", "--name", name, *options)
        started.append(worker)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.close()


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.1)
    return value


def finished_job(app: Flask, job_id: str, timeout: float = 60):  # noqa: ANN201 - a Job
    return wait_until(lambda: (job := get_job(app, job_id)) and job.finished and job, timeout,
                      f"job {job_id} finished")  # fmt: skip


def test_without_redis_the_worker_says_what_to_use_instead(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "Redis is not configured: set TOOLKIT_REDIS_URL" in result.output
    assert "`toolkit mail worker`" in result.output


def test_an_unreachable_redis_is_one_line(runner, app):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith("Error: cannot reach Redis at redis://127.0.0.1:1/0:")


def test_a_burst_worker_runs_what_waits_sends_the_outbox_and_stops(
    redis_sqlite_app, tmp_path, workers
):
    from toolkit.mail.outbox import queue_message

    with redis_sqlite_app.app_context():
        queue_message(db.session, to="grace@example.org", subject="Waiting", text="Hello.")
        db.session.commit()
    ids = [start_job(redis_sqlite_app, "test", worker_targets.config_value, "JOBS_DIR")
           for _ in range(2)]  # fmt: skip
    burst = workers(redis_sqlite_app, "burst", "--burst")
    assert burst.process.wait(60) == 0, burst.output()
    assert [get_job(redis_sqlite_app, job_id).state for job_id in ids] == ["done", "done"]
    assert len(list((tmp_path / "worker-outbox").glob("*.eml"))) == 1


def test_jobs_run_on_a_worker_and_their_progress_and_results_are_everyones(
    redis_app, client, tmp_path, workers
):
    setup_campaign(redis_app, tmp_path)
    redis_app.config["JOBS_DIR"] = str(tmp_path / "app-jobs")
    first = workers(redis_app, "first")
    go = tmp_path / "go"
    job_id = start_job(redis_app, "test", worker_targets.write_when_told, str(go),
                       "made by the first worker", owner="7")  # fmt: skip
    assert get_job(redis_app, job_id).state == "queued"
    job = wait_until(lambda: (j := get_job(redis_app, job_id)) and j.done == 2 and j, 60,
                     "progress visible")  # fmt: skip
    assert (job.state, job.done, job.total, job.message) == ("running", 2, 4, "halfway")
    assert job.attempts == 1 and job.owner == "7"
    go.touch()
    assert finished_job(redis_app, job_id).state == "done"

    # A batch of letters from the organizers' page: the sender and the date cross to the
    # worker as JSON, and the page follows the job's progress.
    login(client, "org@example.org")
    url = "/letters/batch?template=delegation-request"
    data = {"countries": "codes", "codes": "SN", "event": "wcit-12", "language": "en",
            "date": "2012-11-20", "name": "Kenya ICT Action Network", "contact_name": "Grace",
            "email": "grace@example.org", "country": "KE", "representative_name": "Grace",
            "csrf_token": csrf_token(client, url)}  # fmt: skip
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    batch_url = response.headers["Location"]
    batch_id = re.search(r"/letters/batch/([A-Za-z0-9_-]+)$", batch_url).group(1)
    assert finished_job(redis_app, batch_id, 120).state == "done", first.output()

    assert first.stop() == 0, first.output()
    assert "stopped" in first.output()
    shutil.rmtree(tmp_path / "worker-jobs")  # the worker's machine and its files are gone
    second = workers(redis_app, "second")

    # This app's folder never held the results: they come from Redis.
    assert not list((tmp_path / "app-jobs").glob(f"{job_id}-*"))
    path = job_result_path(redis_app, get_job(redis_app, job_id))
    assert path.parent == tmp_path / "app-jobs"
    assert path.read_text() == "made by the first worker"
    assert "1 letter is ready." in client.get(batch_url).get_data(as_text=True)
    with client.get(f"{batch_url}/download") as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        archive = zipfile.ZipFile(BytesIO(download.data))
    text = pdf_text(archive.read("SN-delegation-request.pdf"))
    assert "Mme Awa Ndiaye" in text and "Kenya ICT Action Network" in text

    # The new worker takes new jobs, in its own app context (its own configuration).
    other = start_job(redis_app, "test", worker_targets.config_value, "JOBS_DIR")
    assert finished_job(redis_app, other).state == "done", second.output()
    assert job_result_path(redis_app, get_job(redis_app, other)).read_text() == str(
        tmp_path / "worker-jobs"
    )
    assert second.stop() == 0, second.output()


def test_a_long_final_letter_is_built_by_a_worker_once_and_kept(
    redis_sqlite_app, workers, monkeypatch
):
    from redis import Redis
    from rq import Queue

    from toolkit.campaigns import documents

    monkeypatch.setattr(documents, "SYNC_LIMIT", 1)
    owner = make_user(redis_sqlite_app, "owner@example.org")
    make_campaign(redis_sqlite_app, organizer_id=owner)
    add_signatures(redis_sqlite_app, [{"name": f"Signer {i}", "email": f"{i}@e.org"}
                                      for i in range(3)])  # fmt: skip
    client = redis_sqlite_app.test_client()
    login(client, "owner@example.org")
    url = "/admin/campaigns/let-us-in/letter.pdf"
    for _ in range(2):  # asked twice before any worker runs: one job waits
        waiting = client.get(url)
        assert waiting.status_code == 202 and "<progress" in waiting.get_data(as_text=True)
    connection = Redis.from_url(redis_sqlite_app.config["REDIS_URL"])
    assert Queue(QUEUE_NAME, connection=connection).count == 1
    connection.close()

    worker = workers(redis_sqlite_app, "pdf")
    ready = wait_until(lambda: (r := client.get(url)).status_code == 200 and r, 60, "the PDF")
    assert ready.mimetype == "application/pdf" and "Signer 2" in pdf_text(ready.data)
    assert worker.stop() == 0, worker.output()
    kept = list(Path(redis_sqlite_app.config["DOCUMENTS_DIR"]).glob("let-us-in-*.pdf"))
    assert len(kept) == 1 and kept[0].read_bytes() == ready.data
    assert client.get(url).data == ready.data  # served from the kept file, no worker needed


def test_a_failing_job_is_retried_then_recorded_as_failed(redis_sqlite_app, workers):
    redis_sqlite_app.config["JOB_RETRIES"] = 1  # one retry, at once
    worker = workers(redis_sqlite_app, "failing")
    job_id = start_job(redis_sqlite_app, "test", worker_targets.fail, "no contact list")
    job = finished_job(redis_sqlite_app, job_id)
    assert (job.state, job.error, job.attempts) == ("failed", "no contact list", 2)
    assert job_result_path(redis_sqlite_app, job) is None
    assert worker.stop() == 0, worker.output()


def test_a_worker_killed_mid_job_has_the_job_retried_and_completed_once(
    redis_sqlite_app, tmp_path, workers
):
    log = tmp_path / "completions.log"
    doomed = workers(redis_sqlite_app, "doomed")
    job_id = start_job(redis_sqlite_app, "test", worker_targets.slow_and_counted, str(log), 4)
    wait_until(Path(f"{log}.started").exists, 60, "the job started")
    doomed.kill()  # SIGKILL, mid-job: no chance to record anything
    killed_at = time.monotonic()
    job = get_job(redis_sqlite_app, job_id)
    assert (job.state, job.attempts) == ("running", 1) and not log.exists()

    heir = workers(redis_sqlite_app, "heir")
    job = finished_job(redis_sqlite_app, job_id, 150)
    print(f"retried and done {time.monotonic() - killed_at:.1f} s after the kill")
    assert (job.state, job.attempts, job.message) == ("done", 2, "finished"), heir.output()
    assert log.read_text().splitlines() == [f"{job_id} completed"]
    assert Path(f"{log}.started").read_text().splitlines() == [
        f"{job_id} attempt 1", f"{job_id} attempt 2"
    ]  # fmt: skip
    assert heir.stop() == 0, heir.output()

    from redis import Redis
    from rq import Queue

    connection = Redis.from_url(redis_sqlite_app.config["REDIS_URL"])
    queue = Queue(QUEUE_NAME, connection=connection)
    assert queue.count == 0 and job_id in queue.finished_job_registry
    assert queue.started_job_registry.count == 0 and queue.failed_job_registry.count == 0
    connection.close()
    assert log.read_text().splitlines() == [f"{job_id} completed"]  # still once


def test_mail_queued_while_no_worker_runs_is_sent_when_one_starts(
    redis_app,
    client,
    workers,
    smtp_server,  # noqa: F811
):
    """Confirmations are queued with the signature and never sent by the web process."""
    from redis import Redis
    from rq import Queue

    mail_config(redis_app, smtp_server)
    make_campaign(redis_app)
    assert sign(client, name="Amina Diallo", email="amina@example.org").status_code == 302
    assert sign(client, name="Kofi Mensah", email="kofi@example.org").status_code == 302
    connection = Redis.from_url(redis_app.config["REDIS_URL"])
    assert Queue(QUEUE_NAME, connection=connection).count == 1  # one flush waits, not two
    assert connection.exists(FLUSH_WAITING_KEY)
    connection.close()
    time.sleep(1)
    assert smtp_server.messages == []
    with redis_app.app_context():
        assert [m.status for m in db.session.scalars(select(OutboxMessage))] == ["queued"] * 2

    worker = workers(redis_app, "mail", TOOLKIT_MAIL_SERVER=smtp_server.host,
                     TOOLKIT_MAIL_PORT=str(smtp_server.port))  # fmt: skip
    messages = smtp_server.wait_for(2, timeout=60)
    assert sorted(str(m["To"]) for m in messages) == ["amina@example.org", "kofi@example.org"]
    assert all(any("/confirm/" in link for link in links(m)) for m in messages)
    assert worker.stop() == 0, worker.output()
    with redis_app.app_context():
        assert [m.status for m in db.session.scalars(select(OutboxMessage))] == ["sent"] * 2
    assert len(smtp_server.messages) == 2


def test_mail_being_sent_by_a_killed_worker_is_all_sent_after_a_restart(
    redis_sqlite_app,
    workers,
    monkeypatch,
    smtp_server,  # noqa: F811
):
    """The fault run: a worker killed while it sends; every queued message still goes out."""
    import asyncio

    from tests import smtp
    from toolkit.mail.outbox import queue_message

    class SlowHandler(smtp._Handler):
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            await asyncio.sleep(0.3)  # a slow mail server: the worker is killed mid-way
            return await super().handle_DATA(server, session, envelope)

    smtp_server.stop()
    monkeypatch.setattr(smtp, "_Handler", SlowHandler)
    smtp_server.start()
    addresses = [f"person{n}@example.org" for n in range(10)]
    with redis_sqlite_app.app_context():
        for address in addresses:
            queue_message(db.session, to=address, subject="Please confirm", text="Hello.")
        db.session.commit()
    env = {"TOOLKIT_MAIL_SERVER": smtp_server.host, "TOOLKIT_MAIL_PORT": str(smtp_server.port),
           "TOOLKIT_MAIL_LEASE_SECONDS": "3"}  # fmt: skip
    doomed = workers(redis_sqlite_app, "mail-doomed", **env)
    smtp_server.wait_for(2, timeout=60)
    doomed.kill()
    with redis_sqlite_app.app_context():
        statuses = [m.status for m in db.session.scalars(select(OutboxMessage))]
    assert "sending" in statuses  # claimed by the dead worker: nobody else may take them yet

    heir = workers(redis_sqlite_app, "mail-heir", **env)
    wait_until(lambda: {str(m["To"]) for m in smtp_server.messages} == set(addresses), 60,
               "every message sent")  # fmt: skip
    assert heir.stop() == 0, heir.output()
    with redis_sqlite_app.app_context():
        assert [m.status for m in db.session.scalars(select(OutboxMessage))] == ["sent"] * 10
    assert len(smtp_server.messages) <= 11  # at most the one in flight, twice; none lost
