"""Background jobs without Redis: progress others can read, failures recorded, lost jobs not
left running, one interface that refuses what a queue could not carry."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import worker_targets
from toolkit import jobs
from toolkit.jobs import (
    LOST,
    find_job,
    get_job,
    job_result_path,
    start_job,
    wait_for_jobs,
)


@pytest.fixture
def jobs_app(sqlite_app, tmp_path: Path):
    sqlite_app.config["JOBS_DIR"] = str(tmp_path / "jobs")
    return sqlite_app


def wait_until(condition, timeout: float = 10.0):  # noqa: ANN001, ANN201
    import time

    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)
    return value


def test_progress_is_readable_while_running_and_result_when_done(jobs_app, tmp_path):
    go = tmp_path / "go"
    job_id = start_job(jobs_app, "test", worker_targets.write_when_told, str(go), "result",
                       owner="7")  # fmt: skip
    job = wait_until(lambda: (j := get_job(jobs_app, job_id)) and j.done == 2 and j)
    assert (job.state, job.done, job.total, job.message) == ("running", 2, 4, "halfway")
    assert job.owner == "7" and job.attempts == 1
    assert job.percent == 50 and job.started_at is not None and job.finished_at is None
    go.touch()
    assert wait_for_jobs(10)
    job = get_job(jobs_app, job_id)
    assert job.state == "done" and job.percent == 100 and job.finished_at is not None
    assert job_result_path(jobs_app, job).read_text() == "result"
    # the state is a small JSON file, as another process would read it
    data = json.loads((Path(jobs_app.config["JOBS_DIR"]) / f"{job_id}.json").read_text())
    assert data["state"] == "done" and data["kind"] == "test" and data["attempts"] == 1


def test_the_target_runs_in_an_app_context(jobs_app):
    job_id = start_job(jobs_app, "test", worker_targets.config_value, "JOBS_DIR")
    assert wait_for_jobs(10)
    path = job_result_path(jobs_app, get_job(jobs_app, job_id))
    assert path.read_text() == jobs_app.config["JOBS_DIR"]


def test_a_failure_is_recorded_with_its_error(jobs_app):
    job_id = start_job(jobs_app, "test", worker_targets.fail, "the contact list is empty")
    assert wait_for_jobs(10)
    job = get_job(jobs_app, job_id)
    assert job.state == "failed" and job.error == "the contact list is empty"
    assert job.done == 1 and job.result_path is None
    assert job_result_path(jobs_app, job) is None


def test_a_running_job_whose_heartbeat_stopped_is_read_as_failed(jobs_app):
    job_id = start_job(jobs_app, "test", worker_targets.nothing)
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


def test_a_job_past_its_time_is_given_up_and_its_late_result_ignored(
    jobs_app, tmp_path, monkeypatch
):
    monkeypatch.setattr(jobs, "HEARTBEAT_SECONDS", 0.05)
    go = tmp_path / "go"
    job_id = start_job(jobs_app, "test", worker_targets.write_when_told, str(go), "late",
                       timeout=1)  # fmt: skip
    job = wait_until(lambda: (j := get_job(jobs_app, job_id)) and j.finished and j, 10)
    assert job.state == "failed" and "longer than 1 seconds" in job.error
    go.touch()  # the thread cannot be stopped; what it does after is not recorded
    assert wait_for_jobs(10)
    job = get_job(jobs_app, job_id)
    assert job.state == "failed" and job.result_path is None and job.message == "halfway"


def test_a_keyed_job_is_started_once_while_it_runs(jobs_app, tmp_path):
    go = tmp_path / "go"
    first = start_job(jobs_app, "test", worker_targets.write_when_told, str(go), "a", key="k")
    again = start_job(jobs_app, "test", worker_targets.write_when_told, str(go), "b", key="k")
    assert again == first and find_job(jobs_app, "k").id == first
    go.touch()
    assert wait_for_jobs(10)
    later = start_job(jobs_app, "test", worker_targets.write_when_told, str(go), "c", key="k")
    assert later != first and find_job(jobs_app, "k").id == later
    assert wait_for_jobs(10)
    assert job_result_path(jobs_app, get_job(jobs_app, later)).read_text() == "c"
    assert find_job(jobs_app, "another key") is None


def test_a_target_must_be_importable_by_name_and_its_arguments_json(jobs_app):
    def local(context):  # noqa: ANN001, ANN202
        return None

    for target in (local, lambda context: None):
        with pytest.raises(TypeError, match="module-level function"):
            start_job(jobs_app, "test", target)
    with pytest.raises(TypeError, match="JSON values"):
        start_job(jobs_app, "test", worker_targets.fail, object())
    assert wait_for_jobs(1)
    assert not list(Path(jobs_app.config["JOBS_DIR"]).glob("*.json"))  # nothing was started


@pytest.mark.parametrize("job_id", ["", "nope", "../../etc/passwd", "a" * 100])
def test_unknown_or_malformed_ids(jobs_app, job_id: str):
    assert get_job(jobs_app, job_id) is None
