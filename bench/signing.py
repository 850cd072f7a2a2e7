"""Benchmark: signatures accepted per second through the real endpoint, and the final letter.

Run by hand (`.venv/bin/python bench/signing.py [--workers 3] [--repeat 3]
[--mail worker|background]`; BENCH_THREADS: threads per gunicorn worker, 1; BENCH_NO_WORKER=1
leaves the confirmation mails queued, to see intake alone); it stops by itself and talks to
127.0.0.1 only.

1. Intake: the toolkit's /campaigns/<slug>/sign under gunicorn on SQLite (or, with
   --database postgresql, on a scratch PostgreSQL database), with 16 and 64
   concurrent clients (each posting --per-client signatures, timed after 5 untimed ones),
   beside a bare Flask endpoint that only inserts a row into the same database
   (bench/bare_app.py). Goal: a ratio of at least 0.5, zero errors, and the database
   holding exactly one row per distinct email sent (none lost, none duplicated).
2. The final letter: PDF time and peak memory for 1,000 and 10,000 signatories
   (goal: 10,000 in under 15 s and 400 MB).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import resource
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def gunicorn(app: str, port: int, env: dict, workers: int) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "--workers", str(workers), "--threads", str(THREADS),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
    wait_for(port)
    return process


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=30)


class Client:
    """One simulated signer's browser: a keep-alive connection, a session cookie, a token."""

    def __init__(self, port: int, form_path: str | None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookie = ""
        self.token = ""
        if form_path:
            self.connection.request("GET", form_path)
            response = self.connection.getresponse()
            page = response.read().decode()
            cookies = response.msg.get_all("Set-Cookie") or []
            self.cookie = next((c.split(";")[0] for c in cookies if c.startswith("session=")), "")
            found = CSRF_RE.search(page)  # the public signing form carries none
            self.token = found.group(1) if found else ""

    def post(self, path: str, fields: dict) -> int:
        body = urllib.parse.urlencode(
            {**fields, **({"csrf_token": self.token} if self.token else {})}
        )
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Sec-Fetch-Site": "same-origin",
        }
        if self.cookie:
            headers["Cookie"] = self.cookie
        for attempt in (1, 2):
            try:
                self.connection.request("POST", path, body, headers)
                response = self.connection.getresponse()
                response.read()
                return response.status
            except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
                # The server closed an idle keep-alive connection: reconnect and send again
                # (signing the same email twice is harmless: it never makes a second row).
                self.connection.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


WARM_UP = 5  # signatures per client before the clock starts (stored and checked like the rest)


def run_load(port: int, path: str, form_path: str | None, clients: int, per_client: int,
             prefix: str) -> tuple[float, int, set[str]]:  # fmt: skip
    """Each client posts `per_client` signatures, timed after WARM_UP untimed ones (both
    servers alike: every worker has loaded what it loads lazily); returns (seconds of the
    timed part, errors, emails sent)."""
    browsers = [Client(port, form_path) for _ in range(clients)]
    errors, sent, lock = 0, set(), threading.Lock()
    barrier = threading.Barrier(clients + 1)

    def work(index: int) -> None:
        nonlocal errors
        for n in range(-WARM_UP, per_client):
            if n == 0:
                barrier.wait()  # every client is warm: the clock starts
            email = f"{prefix}-{index}-{n}@example.org"
            status = browsers[index].post(path, {"kind": "individual", "name": f"Signer {index} {n}",
                                                 "email": email, "country": "KE"})  # fmt: skip
            with lock:
                sent.add(email)
                if status != 302:
                    errors += 1

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, errors, sent


def mail_worker(env: dict) -> subprocess.Popen:
    """`toolkit mail worker` at a lower priority, as the README runs it beside gunicorn.

    In a session of its own, a process's nice value only orders it against its own session
    (Linux's autogroups): the session itself is given the lower priority, as systemd's
    CPUWeight does for the README's service.
    """
    command = [str(BIN / "toolkit"), "mail", "worker", "--interval", "0.5"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                               stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        Path(f"/proc/{process.pid}/autogroup").write_text("10")
    except OSError:  # not Linux, or no autogroups: the plain nice value is what there is
        os.setpriority(os.PRIO_PROCESS, process.pid, 10)
    return process


class Database:
    """The benchmark's database: a SQLite file, or a scratch PostgreSQL database."""

    def __init__(self, kind: str, work: Path, admin_url: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.path = work / "toolkit.sqlite3"
            self.url = f"sqlite:///{self.path}"
            return
        import psycopg

        self.name = f"toolkit_bench_{os.getpid()}_{int(time.time())}"
        self.admin = admin_url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(self.admin, autocommit=True) as db:
            db.execute(f'CREATE DATABASE "{self.name}"')
        self.url = admin_url.rsplit("/", 1)[0] + "/" + self.name

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.kind == "sqlite":
            with sqlite3.connect(self.path, timeout=30) as db:
                return db.execute(sql, params).fetchall()
        import psycopg

        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as db:
            return db.execute(sql.replace("?", "%s"), params).fetchall()

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.admin, autocommit=True) as db:
                db.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def unsent(database: Database) -> int:
    return database.query("SELECT count(*) FROM outbox_messages WHERE status != 'sent'")[0][0]


def intake(args: argparse.Namespace, work: Path) -> None:
    database = Database(args.database, work, args.admin_url)
    try:
        _intake(args, work, database)
    finally:
        database.drop()


def _intake(args: argparse.Namespace, work: Path, database: Database) -> None:
    env = {**os.environ, "TOOLKIT_DATABASE_URL": database.url,
           "TOOLKIT_SECRET_KEY": "bench", "TOOLKIT_RATELIMIT_ENABLED": "false",
           "TOOLKIT_OUTBOX_DIR": str(work / "outbox"),
           "BENCH_DATABASE": str(getattr(database, "path", "")),
           "BENCH_DATABASE_URL": database.url if args.database == "postgresql" else "",
           "TOOLKIT_MAIL_DELIVERY": args.mail}  # fmt: skip
    for command in (["db", "upgrade"], ["data", "load"]):
        subprocess.run([str(BIN / "toolkit"), *command], env=env, check=True, capture_output=True)
    text = work / "letter.md"
    text.write_text("We ask for open documents.")
    slugs = {"sign-on": "bench", "petition": "bench-petition"}
    for kind, slug in slugs.items():
        subprocess.run([str(BIN / "toolkit"), "campaigns", "create", "--kind", kind, "--slug", slug,
                        "--title", "Bench", "--text-file", str(text), "--goal", "100000", "--open"],
                       env=env, check=True, capture_output=True)  # fmt: skip

    print(f"intake on {'SQLite' if args.database == 'sqlite' else 'PostgreSQL'}, gunicorn {args.workers} workers x {THREADS} threads, "
          f"{args.per_client} signatures per client, mail delivery: {args.mail}")  # fmt: skip
    for kind, clients in [
        (kind, clients) for kind in args.kinds.split(",") for clients in (16, 64)
    ]:
        ratios = [
            _intake_round(
                args,
                env,
                database,
                kind,
                slugs[kind],
                clients,
                f"{kind[0]}{clients}r{round_number}",
            )  # fmt: skip
            for round_number in range(args.repeat)
        ]
        if args.repeat > 1:
            print(f"  {kind:>8}, {clients:>2} clients: median ratio of {args.repeat} rounds "
                  f"{statistics.median(ratios):.2f} (lowest {min(ratios):.2f}, highest "
                  f"{max(ratios):.2f})")  # fmt: skip


def _intake_round(args: argparse.Namespace, env: dict, database: Database, kind: str, slug: str,
                  clients: int, prefix: str) -> float:  # fmt: skip
    """The toolkit, then the bare endpoint, under the same load; prints and returns the ratio."""
    port = free_port()
    server = gunicorn("wsgi:app", port, env, args.workers)
    worker = (
        mail_worker(env)
        if args.mail == "worker" and not os.environ.get("BENCH_NO_WORKER")
        else None
    )
    try:
        seconds, errors, sent = run_load(port, f"/campaigns/{slug}/sign", f"/campaigns/{slug}",
                                         clients, args.per_client, prefix)  # fmt: skip
        drained = time.perf_counter()
        while worker and unsent(database) and time.perf_counter() - drained < 600:
            time.sleep(0.2)
        drain_seconds, left = time.perf_counter() - drained, unsent(database)
    finally:
        stop(server)
        if worker:
            stop(worker)
    stored = {row[0] for row in database.query(
        "SELECT email_normalized FROM signatures WHERE email_normalized LIKE ?",
        (f"{prefix}-%",))}  # fmt: skip
    toolkit_rate = clients * args.per_client / seconds

    port = free_port()
    server = gunicorn("bench.bare_app:app", port, env, args.workers)
    try:
        bare_seconds, bare_errors, _ = run_load(port, "/insert", None, clients, args.per_client,
                                                f"b{prefix}")  # fmt: skip
    finally:
        stop(server)
    bare_rate = clients * args.per_client / bare_seconds
    lost = len(sent - stored)
    extra = len(stored - sent)
    print(f"  {kind:>8}, {clients:>2} clients: toolkit {toolkit_rate:7.1f}/s  bare {bare_rate:7.1f}/s  "
          f"ratio {toolkit_rate / bare_rate:.2f} (goal >= 0.5)  errors {errors}+{bare_errors}  "
          f"lost {lost}  duplicated {extra}")  # fmt: skip
    if worker:
        print(f"      confirmation mails all sent {drain_seconds:.1f} s after the last signature"
              f" ({left} left unsent)")  # fmt: skip
    return toolkit_rate / bare_rate


def final_letter(args: argparse.Namespace, work: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from toolkit import create_app
    from toolkit.campaigns.documents import build_html
    from toolkit.campaigns.models import Signature
    from toolkit.campaigns.service import NewCampaign, create_campaign, open_campaign
    from toolkit.documents.pdf import render_pdf, shutdown
    from toolkit.extensions import db

    database = work / "letter.sqlite3"
    env = {**os.environ, "TOOLKIT_DATABASE_URL": f"sqlite:///{database}", "TOOLKIT_SECRET_KEY": "b"}
    for command in (["db", "upgrade"], ["data", "load"]):
        subprocess.run([str(BIN / "toolkit"), *command], env=env, check=True, capture_output=True)
    app = create_app({"DATABASE_URL": env["TOOLKIT_DATABASE_URL"], "SECRET_KEY": "b"})
    countries = ["KE", "SN", "EG", "CN", "RU", "BR", "IN", "FR", "DE", "MX"]
    print("final letter (names in several scripts, 70% organizations)")
    with app.app_context():
        for size in (1000, 10000):
            campaign = create_campaign(db.session, NewCampaign(
                kind="sign-on", slug=f"letter-{size}", title="Let civil society in",
                text="We ask for open documents.\n\n" * 5), None)  # fmt: skip
            open_campaign(campaign)
            names = ["Amina Diallo", "Ольга Петрова", "Zoë Ångström", "Ngũgĩ wa Thiong'o"]
            db.session.add_all([
                Signature(campaign_id=campaign.id, kind="organization" if i % 10 < 7 else "individual",
                          name=f"{names[i % 4]} {i}", organization=f"Network {i}",
                          email=f"{i}@e.org", email_normalized=f"{i}@e.org",
                          country=countries[i % 10], status="approved")
                for i in range(size)
            ])  # fmt: skip
            db.session.commit()
            shutdown()  # a fresh worker, so its peak memory is this document's
            started = time.perf_counter()
            html, total, _ = build_html(campaign, "en")
            data = render_pdf(html, timeout=600)
            seconds = time.perf_counter() - started
            shutdown()
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
            print(f"  {total:>6} signatories: {seconds:6.1f} s, {len(data) / 1e6:5.1f} MB PDF, "
                  f"peak worker memory {peak_mb:6.0f} MB  (goal for 10,000: < 15 s, < 400 MB)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of each measurement (toolkit, then bare, in turns); with "
                             "more than one, the median ratio is printed too")  # fmt: skip
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--mail", choices=("worker", "background"), default="worker",
                        help="worker: a `toolkit mail worker` beside gunicorn (the README's "
                             "deployment); background: threads in the web processes")  # fmt: skip
    parser.add_argument("--kinds", default="sign-on,petition",
                        help="which campaigns to sign: sign-on, petition, or both")  # fmt: skip
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite",
                        help="postgresql: a scratch database made through --admin-url")  # fmt: skip
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--skip-intake", action="store_true")
    parser.add_argument("--skip-letter", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-signing-"))
    if not args.skip_intake:
        intake(args, work)
    if not args.skip_letter:
        final_letter(args, work)


if __name__ == "__main__":
    main()
