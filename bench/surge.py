"""Benchmark: a viral surge on two app processes sharing PostgreSQL and Redis.

Run by hand: `.venv/bin/python bench/surge.py [--flows 1000] [--fault]`. It needs PostgreSQL
(a scratch database is created and dropped; --admin-url) and Redis (one database number is
flushed; --redis-url), talks to 127.0.0.1 only and stops by itself.

What it does, standing in for two machines behind a proxy:
- two gunicorn app processes on two ports, one `toolkit worker` (jobs and mail), a real SMTP
  server (aiosmtpd) receiving the confirmation mails;
- FLOWS concurrent sign-and-confirm flows (one thread each, released together), alternating
  between the two ports, each from its own client address (X-Forwarded-For, as a proxy sends
  it), 10% of them repeating an earlier flow's email: sign, wait for the mail, open the link,
  press Confirm;
- then one address signing 15 times, alternating ports: the per-address limit (10 a minute)
  must hold across both processes, through Redis.

Printed: signatures accepted per second, p50/p99 latency of signing and confirming, server
errors, and the final exact count (after `toolkit signatures recount`) against the set of
distinct confirmed emails: zero lost, zero duplicated.

With --fault: one app process is killed with SIGKILL when a third of the signatures are in
(its clients fail over to the other port, as a proxy would), and the worker is killed with
SIGKILL while it sends mail, then restarted. Every signature that got a success response
must be in the database, and every queued mail must be sent after the restart.
"""

from __future__ import annotations

import argparse
import email
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
sys.path.insert(0, str(ROOT / "bench"))

from signing import free_port, wait_for  # noqa: E402

CSRF_RE = re.compile(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"')
CONFIRM_RE = re.compile(r"https?://[^\s\"<>]+/campaigns/[^/\s]+/confirm/[^\s\"<>]+")
UK_RECORD_PER_SECOND = 2000 / 60  # UK Parliament petitions, March 2019: about 2,000 a minute


# --- the parts ---------------------------------------------------------------------------


class Mailbox:
    """A real SMTP server; keeps each recipient's confirmation link."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.links: dict[str, str] = {}
        self.received = Counter()
        self.condition = threading.Condition()
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        message = email.message_from_bytes(envelope.content)
        text = ""
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text += part.get_payload(decode=True).decode("utf-8", "replace")
        found = CONFIRM_RE.search(text)
        with self.condition:
            for recipient in envelope.rcpt_tos:
                self.received[recipient.lower()] += 1
                if found and recipient.lower() not in self.links:
                    self.links[recipient.lower()] = found.group(0)
            self.condition.notify_all()
        return "250 OK"

    def wait_for_link(self, address: str, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        with self.condition:
            while address not in self.links:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self.condition.wait(remaining)
            return self.links[address]

    def stop(self) -> None:
        self.controller.stop()


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True,
                            stdout=handle, stderr=subprocess.STDOUT)  # fmt: skip


def kill(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        return
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def app_process(port: int, env: dict, args: argparse.Namespace, log: Path) -> subprocess.Popen:
    command = [str(BIN / "gunicorn"), "--workers", str(args.workers), "--threads",
               str(args.threads), "--bind", f"127.0.0.1:{port}", "--backlog", "4096",
               "--log-level", "warning", "wsgi:app"]  # fmt: skip
    process = start(command, env, log)
    wait_for(port)
    return process


def worker_process(env: dict, log: Path) -> subprocess.Popen:
    return start([str(BIN / "toolkit"), "worker"], env, log)


# --- one browser ---------------------------------------------------------------------------


class Browser:
    """One signer: a client address, a cookie jar of one cookie, failover between ports."""

    def __init__(self, ports: list[int], first: int, address: str, alive: list[bool]) -> None:
        self.ports, self.first, self.address, self.alive = ports, first, address, alive
        self.cookie = ""
        self.failovers = 0

    def request(self, method: str, path: str, fields: dict | None = None) -> tuple[int, str, float]:
        """(status, body, seconds); a refused connection goes to the other process."""
        body = urllib.parse.urlencode(fields) if fields is not None else None
        headers = {"X-Forwarded-For": self.address, "Sec-Fetch-Site": "same-origin"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        order = [self.first, *[i for i in range(len(self.ports)) if i != self.first]]
        last_error: Exception | None = None
        for attempt, index in enumerate(order * 2):
            if not self.alive[index] and attempt < len(order):
                continue
            connection = http.client.HTTPConnection("127.0.0.1", self.ports[index], timeout=120)
            started = time.perf_counter()
            try:
                connection.request(method, path, body, headers)
                response = connection.getresponse()
                text = response.read().decode("utf-8", "replace")
            except (ConnectionError, http.client.HTTPException, OSError) as exc:
                last_error = exc
                self.failovers += 1
                continue
            finally:
                connection.close()
            for value in response.msg.get_all("Set-Cookie") or []:
                if value.startswith("session="):
                    self.cookie = value.split(";")[0]
            return response.status, text, time.perf_counter() - started
        raise ConnectionError(f"no app process answered: {last_error}")


# --- the surge -----------------------------------------------------------------------------


class Tally:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sign_latency: list[float] = []
        self.confirm_latency: list[float] = []
        self.statuses: Counter = Counter()
        self.accepted: set[str] = set()  # emails whose signing got a success response
        self.confirmed: set[str] = set()  # emails whose Confirm got a success response
        self.problems: list[str] = []
        self.failovers = 0
        self.first_sign = self.last_sign = 0.0

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[f"{kind} {status}"] += 1
            (self.sign_latency if kind == "sign" else self.confirm_latency).append(seconds)


def flow(index: int, address: str, owner: bool, browser: Browser, slug: str, mailbox: Mailbox,
         tally: Tally, barrier: threading.Barrier, on_signed) -> None:  # noqa: ANN001  # fmt: skip
    barrier.wait()
    try:
        fields = {"kind": "individual", "name": f"Signer {index}", "email": address,
                  "country": ("KE", "BR", "IN", "SN", "FR", "EG")[index % 6],
                  "list_publicly": "y"}  # fmt: skip
        status, _, seconds = browser.request("POST", f"/campaigns/{slug}/sign", fields)
        tally.add("sign", status, seconds)
        with tally.lock:
            tally.last_sign = time.perf_counter()
        if status != 302:
            tally.problems.append(f"flow {index}: signing answered {status}")
            return
        with tally.lock:
            tally.accepted.add(address)
        on_signed()
        if (
            not owner
        ):  # a repeat of an earlier flow's email: it gets a mail to manage, not a second signature
            return
        link = mailbox.wait_for_link(address, timeout=300)
        if link is None:
            tally.problems.append(f"flow {index}: no confirmation mail within 300 s")
            return
        path = urllib.parse.urlsplit(link).path
        status, page, _ = browser.request("GET", path)
        token = CSRF_RE.search(page)
        if status != 200 or token is None:
            tally.problems.append(f"flow {index}: confirmation page answered {status}")
            return
        status, _, seconds = browser.request("POST", path, {"csrf_token": token.group(1)})
        tally.add("confirm", status, seconds)
        if status in (302, 303):
            with tally.lock:
                tally.confirmed.add(address)
        else:
            tally.problems.append(f"flow {index}: Confirm answered {status}")
    except Exception as exc:  # noqa: BLE001 - a flow's failure is a figure, not a crash
        tally.problems.append(f"flow {index}: {type(exc).__name__}: {exc}")
    finally:
        with tally.lock:
            tally.failovers += browser.failovers


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def warm_up(ports: list[int], slug: str, args: argparse.Namespace) -> None:
    """Readers open the page first: every gunicorn worker has started and loaded the app
    before the surge (a worker's first request imports half the toolkit)."""

    def read(port: int) -> None:
        for _ in range(5):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", f"/campaigns/{slug}")
            connection.getresponse().read()
            connection.close()

    readers = [threading.Thread(target=read, args=(port,)) for port in ports
               for _ in range(args.workers * args.threads)]  # fmt: skip
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()


# --- the run -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:  # noqa: C901, PLR0915 - a script, read top to bottom
    import psycopg
    import redis
    from sqlalchemy import make_url

    work = Path(os.environ.get("BENCH_DIR") or f"/tmp/toolkit-surge-{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True, exist_ok=True)
    log = work / "processes.log"
    admin = make_url(args.admin_url)
    name = f"toolkit_surge_{uuid.uuid4().hex[:8]}"
    admin_dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    database_url = admin.set(database=name).render_as_string(hide_password=False)
    redis.Redis.from_url(args.redis_url).flushdb()
    mailbox = Mailbox()
    ports = [free_port(), free_port()]
    env = {**os.environ,
           "TOOLKIT_DATABASE_URL": database_url, "TOOLKIT_REDIS_URL": args.redis_url,
           "TOOLKIT_SECRET_KEY": "surge-" + uuid.uuid4().hex,
           "TOOLKIT_BASE_URL": f"http://127.0.0.1:{ports[0]}",
           "TOOLKIT_MAIL_SERVER": "127.0.0.1", "TOOLKIT_MAIL_PORT": str(mailbox.port),
           "TOOLKIT_PROXY_COUNT": "1", "TOOLKIT_MAIL_LEASE_SECONDS": "15",
           "TOOLKIT_JOBS_DIR": str(work / "jobs"), "TOOLKIT_OUTBOX_DIR": str(work / "outbox"),
           "TOOLKIT_DOCUMENTS_DIR": str(work / "documents")}  # fmt: skip
    toolkit = str(BIN / "toolkit")
    slug = "surge"
    processes: dict[str, subprocess.Popen] = {}
    try:
        for command in (["db", "upgrade"], ["data", "load"]):
            subprocess.run([toolkit, *command], env=env, check=True, capture_output=True)
        text = work / "petition.md"
        text.write_text("We ask our governments to publish every proposal before the conference.")
        subprocess.run([toolkit, "campaigns", "create", "--kind", "petition", "--slug", slug,
                        "--title", "Open the treaty talks", "--text-file", str(text),
                        "--goal", str(args.flows), "--open"],
                       env=env, check=True, capture_output=True)  # fmt: skip
        processes["app 1"] = app_process(ports[0], env, args, log)
        processes["app 2"] = app_process(ports[1], env, args, log)
        processes["worker"] = worker_process(env, log)
        alive = [True, True]
        warm_up(ports, slug, args)
        print(f"surge: {args.flows} sign-and-confirm flows, {int(args.repeat * 100)}% repeated "
              f"emails; 2 app processes (gunicorn {args.workers} workers x {args.threads} "
              f"threads each) on PostgreSQL and Redis, 1 toolkit worker"
              + ("; FAULT RUN" if args.fault else ""))  # fmt: skip

        tally = Tally()
        every = round(1 / args.repeat) if args.repeat else 0  # 0.1: every 10th flow repeats
        emails = [f"signer{i - every + 1 if every and i % every == every - 1 else i}@example.org"
                  for i in range(args.flows)]  # fmt: skip
        owners = {address: emails.index(address) for address in set(emails)}
        barrier = threading.Barrier(args.flows + 1)
        signed_count = [0]
        killed = {"app": False, "worker": False}
        fault_lock = threading.Lock()

        def on_signed() -> None:
            if not args.fault:
                return
            with fault_lock:
                signed_count[0] += 1
                if not killed["app"] and signed_count[0] >= args.flows // 3:
                    killed["app"] = True
                    alive[1] = False  # the proxy notices: new requests go to app 1
                    os.killpg(processes["app 2"].pid, signal.SIGKILL)
                    print(f"  fault: app 2 killed with SIGKILL after {signed_count[0]} signatures")

        threads = []
        for i in range(args.flows):
            address = f"10.{i // 65536}.{(i // 256) % 256}.{i % 256 + 1}"
            browser = Browser(ports, i % 2, address, alive)
            thread = threading.Thread(
                target=flow, args=(i, emails[i], owners[emails[i]] == i, browser, slug, mailbox,
                                   tally, barrier, on_signed), daemon=True)  # fmt: skip
            thread.start()
            threads.append(thread)

        def worker_fault() -> None:
            """Kill the worker while it is sending, then start it again."""
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and sum(mailbox.received.values()) < args.flows // 4:
                time.sleep(0.05)
            os.killpg(processes["worker"].pid, signal.SIGKILL)
            processes["worker"].wait()
            print(f"  fault: worker killed with SIGKILL after {sum(mailbox.received.values())} "
                  "mails; restarted 3 s later")  # fmt: skip
            time.sleep(3)
            processes["worker"] = worker_process(env, log)

        fault_thread = threading.Thread(target=worker_fault, daemon=True) if args.fault else None
        barrier.wait()
        started = time.perf_counter()
        if fault_thread:
            fault_thread.start()
        for thread in threads:
            thread.join(timeout=900)
        if fault_thread:
            fault_thread.join()
        elapsed = time.perf_counter() - started

        # The figures.
        sign_ok = tally.statuses["sign 302"]
        sign_seconds = max(tally.last_sign - started, 1e-9)
        rate = sign_ok / sign_seconds
        server_errors = sum(
            n for key, n in tally.statuses.items() if key.split()[1].startswith("5")
        )
        print(f"  signatures accepted: {sign_ok} in {sign_seconds:.1f} s = {rate:.0f}/s "
              f"({rate / UK_RECORD_PER_SECOND:.1f}x the UK record of ~2,000 a minute); "
              f"all flows done in {elapsed:.1f} s")  # fmt: skip
        print(f"  latency: sign p50 {1000 * percentile(tally.sign_latency, 0.5):.0f} ms, "
              f"p99 {1000 * percentile(tally.sign_latency, 0.99):.0f} ms; confirm p50 "
              f"{1000 * percentile(tally.confirm_latency, 0.5):.0f} ms, "
              f"p99 {1000 * percentile(tally.confirm_latency, 0.99):.0f} ms")  # fmt: skip
        print(f"  responses: {dict(sorted(tally.statuses.items()))}; server errors {server_errors};"
              f" requests moved to the other process {tally.failovers}")  # fmt: skip

        # Every queued mail sent (after the worker's restart, in the fault run).
        deadline = time.monotonic() + 300
        with psycopg.connect(admin.set(database=name, drivername="postgresql")
                             .render_as_string(hide_password=False)) as connection:  # fmt: skip
            while True:
                unsent = connection.execute(
                    "SELECT count(*) FROM outbox_messages WHERE status != 'sent'").fetchone()[0]  # fmt: skip
                connection.commit()
                if not unsent or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
            queued_total = connection.execute("SELECT count(*) FROM outbox_messages").fetchone()[0]
            subprocess.run([toolkit, "signatures", "recount", "--campaign", slug], env=env,
                           check=True, capture_output=True)  # fmt: skip
            stored = {row[0] for row in connection.execute(
                "SELECT s.email_normalized FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
                " WHERE c.slug = %s", (slug,))}  # fmt: skip
            counted = {row[0] for row in connection.execute(
                "SELECT s.email_normalized FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
                " WHERE c.slug = %s AND s.status IN ('confirmed', 'approved')", (slug,))}  # fmt: skip
            rows = connection.execute(
                "SELECT count(*) FROM signatures s JOIN campaigns c ON c.id = s.campaign_id"
                " WHERE c.slug = %s", (slug,)).fetchone()[0]  # fmt: skip
        status, body, _ = Browser(ports, 0, "10.255.0.1", [True, False]).request(
            "GET", f"/api/v1/campaigns/{slug}"
        )
        shown = int(re.search(r'"signatures":(\d+)', body).group(1)) if status == 200 else -1
        lost = tally.accepted - stored
        print(f"  mail: {queued_total} queued, {unsent} not sent; {len(mailbox.links)} signers got "
              f"their link")  # fmt: skip
        print(f"  count: the API shows {shown}; the database counts {len(counted)} "
              f"(rows {rows}); distinct confirmed emails {len(tally.confirmed)}; distinct emails "
              f"accepted {len(tally.accepted)}")  # fmt: skip
        exact = shown == len(counted) == len(tally.confirmed) and counted == tally.confirmed
        print(f"  lost {len(lost)} (accepted but not stored), duplicated {rows - len(stored)}; "
              f"count {'EXACT' if exact else 'WRONG'}")  # fmt: skip
        for problem in tally.problems[:10]:
            print(f"    problem: {problem}")
        if len(tally.problems) > 10:
            print(f"    ... and {len(tally.problems) - 10} more")

        # The per-address limit holds across both processes (through Redis).
        limit_ports = [True, alive[1]]
        statuses = []
        for n in range(15):
            browser = Browser(ports, n % 2 if limit_ports[1] else 0, "10.254.0.1", limit_ports)
            status, _, _ = browser.request("POST", f"/campaigns/{slug}/sign", {
                "kind": "individual", "name": f"Limit {n}", "email": f"limit{n}@example.org",
                "country": "KE"})  # fmt: skip
            statuses.append(status)
        both = "both processes" if limit_ports[1] else "the surviving process"
        print(f"  one address signing 15 times across {both}: {statuses.count(302)} accepted, "
              f"{statuses.count(429)} refused with 429 (limit: 10 a minute)")  # fmt: skip
        owners_total = len(set(emails))
        ok = (exact and not lost and not tally.problems and len(tally.confirmed) == owners_total and rows == len(stored) and not unsent and not server_errors
              and statuses.count(302) == 10 and statuses.count(429) == 5)  # fmt: skip
        print("  result: " + ("every signature accounted for" if ok else "FAILED, see above"))
        return 0 if ok else 1
    finally:
        for process in processes.values():
            kill(process)
        mailbox.stop()
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.Redis.from_url(args.redis_url).flushdb()
        print(f"  (process logs: {log})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)  # fmt: skip
    parser.add_argument("--flows", type=int, default=1000)
    parser.add_argument("--repeat", type=float, default=0.1, help="share of repeated emails")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per app process")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--fault", action="store_true", help="kill an app process and the worker")
    parser.add_argument(
        "--admin-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    sys.exit(run(parser.parse_args()))


if __name__ == "__main__":
    main()
