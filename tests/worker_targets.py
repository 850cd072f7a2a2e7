"""Job targets for the tests: module-level functions, as RQ imports a target by name.

They run in the test process (jobs without Redis) or in a `toolkit worker` subprocess, so
they talk to the test through files only.
"""

from __future__ import annotations

import time
from pathlib import Path

from flask import current_app


def _wait_for(path: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear")
        time.sleep(0.05)


def write_when_told(context, go: str, text: str) -> str:  # noqa: ANN001 - a JobContext
    """Report halfway, wait until the file ``go`` exists, then write ``text`` as the result."""
    context.progress(2, 4, "halfway")
    _wait_for(Path(go))
    path = context.result_file("out.txt")
    path.write_text(text, encoding="utf-8")
    context.progress(4, 4, "written")
    return str(path)


def config_value(context, name: str) -> str:  # noqa: ANN001
    """The app's configuration value ``name``, as the result: proof of an app context."""
    path = context.result_file("config.txt")
    path.write_text(str(current_app.config[name]), encoding="utf-8")
    return str(path)


def fail(context, message: str) -> None:  # noqa: ANN001
    """Get a third of the way, then fail with ``message``."""
    context.progress(1, 3)
    raise ValueError(message)


def slow_and_counted(context, log: str, seconds: float) -> None:  # noqa: ANN001
    """Work ``seconds``, then append one line to ``log``: one line per run that completed.

    "started" lines are written too (a different file), so a test knows when to kill.
    """
    context.progress(0, 1, "working")
    with open(f"{log}.started", "a", encoding="utf-8") as stream:
        stream.write(f"{context.job_id} attempt {context.attempt}\n")
    time.sleep(seconds)
    with open(log, "a", encoding="utf-8") as stream:
        stream.write(f"{context.job_id} completed\n")
    context.progress(1, 1, "finished")


def nothing(context) -> None:  # noqa: ANN001, ARG001
    """Do nothing (a job for the bookkeeping around it)."""
