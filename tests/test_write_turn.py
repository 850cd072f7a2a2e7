"""SQLite's write turn (toolkit.db.write_turn): writers in other threads and other processes
queue for it and go the moment it is free; on PostgreSQL it does nothing."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from toolkit.db import write_turn
from toolkit.extensions import db

HOLD = 0.6  # seconds another process keeps the turn

HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_another_process_holding_the_turn_makes_a_writer_wait_then_go(sqlite_app):
    with sqlite_app.app_context():
        url = db.session.get_bind().url
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLDER, f"{url.database}-writer.lock", str(HOLD)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            with write_turn(db.session):
                waited = time.monotonic() - started
        finally:
            holder.wait(timeout=10)
            holder.stdout.close()
    assert HOLD * 0.5 < waited < HOLD + 5  # it waited for the other process, then went


def test_threads_take_turns_on_sqlite_and_are_not_held_back_on_postgresql(app):
    with app.app_context():
        sqlite = db.session.get_bind().url.get_backend_name() == "sqlite"
    inside, most, lock = 0, 0, threading.Lock()

    def writer() -> None:
        nonlocal inside, most
        with app.app_context(), write_turn(db.session):
            with lock:
                inside += 1
                most = max(most, inside)
            time.sleep(0.05)
            with lock:
                inside -= 1

    threads = [threading.Thread(target=writer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    # SQLite: one writer at a time. PostgreSQL queues writers itself, row by row: no turn.
    assert most == 1 if sqlite else most > 1
