"""Background jobs: progress others can read, failures recorded, lost jobs not left running."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from toolkit.jobs import LOST, get_job, start_job, wait_for_jobs


@pytest.fixture
def jobs_app(sqlite_app, tmp_path: Path):
    sqlite_app.config["JOBS_DIR"] = str(tmp_path / "jobs")
    return sqlite_app


def test_progress_is_readable_while_running_and_result_when_done(jobs_app):
    halfway, finish = threading.Event(), threading.Event()

    def work(context):
        context.progress(2, 4, "halfway")
        halfway.set()
        finish.wait(10)
        path = context.result_file("out.txt")
        path.write_text("result")
        context.progress(4, 4, "written")
        return str(path)

    job_id = start_job(jobs_app, "test", work, owner="7")
    assert halfway.wait(10)
    job = get_job(jobs_app, job_id)
    assert (job.state, job.done, job.total, job.message) == ("running", 2, 4, "halfway")
    assert job.owner == "7"
    assert job.percent == 50 and job.started_at is not None and job.finished_at is None
    finish.set()
    assert wait_for_jobs(10)
    job = get_job(jobs_app, job_id)
    assert job.state == "done" and job.percent == 100 and job.finished_at is not None
    assert Path(job.result_path).read_text() == "result"
    # the state is a small JSON file, as another process would read it
    data = json.loads((Path(jobs_app.config["JOBS_DIR"]) / f"{job_id}.json").read_text())
    assert data["state"] == "done" and data["kind"] == "test"


def test_the_target_runs_in_an_app_context(jobs_app):
    from flask import current_app

    job_id = start_job(jobs_app, "test", lambda context: str(current_app.config["JOBS_DIR"]))
    assert wait_for_jobs(10)
    assert get_job(jobs_app, job_id).result_path == jobs_app.config["JOBS_DIR"]


def test_a_failure_is_recorded_with_its_error(jobs_app):
    def work(context):
        context.progress(1, 3)
        raise ValueError("the contact list is empty")

    job_id = start_job(jobs_app, "test", work)
    assert wait_for_jobs(10)
    job = get_job(jobs_app, job_id)
    assert job.state == "failed" and job.error == "the contact list is empty"
    assert job.done == 1 and job.result_path is None


def test_a_running_job_whose_heartbeat_stopped_is_read_as_failed(jobs_app):
    job_id = start_job(jobs_app, "test", lambda context: None)
    assert wait_for_jobs(10)
    path = Path(jobs_app.config["JOBS_DIR"]) / f"{job_id}.json"
    data = json.loads(path.read_text())
    old = (datetime.now(UTC) - timedelta(minutes=10)).isoformat()
    data.update(state="running", updated_at=old, finished_at=None)
    path.write_text(json.dumps(data))  # as a process that died mid-way leaves it
    job = get_job(jobs_app, job_id)
    assert job.state == "failed" and job.error == LOST
    assert json.loads(path.read_text())["state"] == "failed"  # and it stays so

    data.update(state="running", updated_at=datetime.now(UTC).isoformat())
    path.write_text(json.dumps(data))  # a fresh heartbeat: still running
    assert get_job(jobs_app, job_id).state == "running"


@pytest.mark.parametrize("job_id", ["", "nope", "../../etc/passwd", "a" * 100])
def test_unknown_or_malformed_ids(jobs_app, job_id: str):
    assert get_job(jobs_app, job_id) is None
