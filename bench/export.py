"""Benchmark: exporting a campaign's signatures to CSV, beside the sqlite3 tool's own CSV export.

Run by hand (`.venv/bin/python bench/export.py [--rows 1000000]`); it stops by itself and uses
no network. It builds a SQLite database in a temporary folder with the real migrations, one
campaign with --rows signatures and one with a tenth as many (names in several scripts, some
starting with "=" so the formula prefix is exercised, some paper signatures without email), then
times, each in a fresh helper process so the peak memory is that command's alone:

1. `toolkit signatures export --campaign SLUG --format csv --output FILE` (the full list);
2. `sqlite3 -csv -header DB "SELECT <the same columns> ..." > FILE`.

Goal: the toolkit within 2x the sqlite3 tool's time, and its peak memory flat (the same for a
tenth of the rows as for all of them).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
COLUMNS = (
    "id", "status", "kind", "name", "email", "organization", "role", "city", "country",
    "list_publicly", "receive_updates", "language", "source", "created_at", "confirmed_at",
    "approved_at", "rejected_at", "withdrawn_at", "rejection_reason",
)  # fmt: skip
NAMES = ["Amina Diallo", "Ольга Петрова", "Zoë Ångström", "Ngũgĩ wa Thiong'o", "شبكة الحقوق",
         "数字权利网络", "नेटवर्क अधिकार", "=HYPERLINK(\"http://x\",\"y\")", "-Anon", "Jean, \"JJ\""]  # fmt: skip
COUNTRIES = ["KE", "SN", "EG", "CN", "RU", "BR", "IN", "FR", "DE", "MX"]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
STATUSES = ["approved"] * 8 + ["pending", "confirmed"]


def measure(command: list[str], stdout: str | None) -> None:
    """Helper mode: run one command, print its wall time and peak memory as JSON."""
    output = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    result = subprocess.run(command, stdout=output, stderr=subprocess.PIPE, cwd=ROOT)
    seconds = time.perf_counter() - started
    if stdout:
        output.close()
    if result.returncode:
        sys.exit(f"{command[0]} failed ({result.returncode}): {result.stderr.decode()[-2000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024}))


def timed(command: list[str], env: dict, stdout: Path | None = None) -> dict:
    """Wall seconds, CPU seconds and peak MB of one command, run in a fresh helper process."""
    helper = [sys.executable, __file__, "--measure"]
    if stdout:
        helper += ["--stdout", str(stdout)]
    result = subprocess.run([*helper, "--", *command], env=env, check=True, capture_output=True,
                            text=True)  # fmt: skip
    return json.loads(result.stdout)


def best(runs: int, command: list[str], env: dict, stdout: Path | None = None) -> dict:
    """The fastest of a few runs (a busy machine only ever adds time), with its peak memory."""
    return min((timed(command, env, stdout) for _ in range(runs)), key=lambda f: f["seconds"])


def rows_for(campaign_id: int, count: int, seed: int):
    """Signature rows for the sqlite3 module, made as they are inserted."""
    rng = random.Random(seed)
    stamp = "2026-11-{day:02d} {hour:02d}:{minute:02d}:{second:02d}.{micro:06d}"
    for i in range(count):
        created = stamp.format(day=1 + i % 28, hour=i % 24, minute=i % 60, second=(i * 7) % 60,
                               micro=rng.randrange(1_000_000))  # fmt: skip
        status = STATUSES[i % len(STATUSES)]
        paper = i % 97 == 0
        email = None if paper else f"signer{i}@example{i % 50}.org"
        organization = f"Network {i % 1000}" if i % 10 < 7 else ""
        yield (campaign_id, "organization" if organization else "individual",
               f"{NAMES[i % len(NAMES)]} {i}", email, email, f"example{i % 50}.org",
               organization, "Director" if organization else "", f"City {i % 300}",
               COUNTRIES[i % 10], i % 3 != 0, i % 2 == 0, "{}", "en",
               "paper" if paper else "web", status, "198.51.100.7", created,
               created if status != "pending" else None,
               created if status == "approved" else None, "")  # fmt: skip


def build(work: Path, rows: int) -> tuple[Path, dict, list[tuple[str, int, int]]]:
    """A migrated SQLite database with two campaigns: (path, env, [(slug, id, rows)])."""
    database = work / "export.sqlite3"
    env = {**os.environ, "TOOLKIT_DATABASE_URL": f"sqlite:///{database}",
           "TOOLKIT_SECRET_KEY": "bench"}  # fmt: skip
    subprocess.run([str(BIN / "toolkit"), "db", "upgrade"], env=env, check=True,
                   capture_output=True)  # fmt: skip
    text = work / "letter.md"
    text.write_text("We ask for open documents.")
    sizes = [("bench-large", rows), ("bench-small", max(rows // 10, 1))]
    for slug, _ in sizes:
        subprocess.run([str(BIN / "toolkit"), "campaigns", "create", "--kind", "sign-on", "--slug",
                        slug, "--title", "Bench", "--text-file", str(text), "--open"],
                       env=env, check=True, capture_output=True)  # fmt: skip
    campaigns = []
    with sqlite3.connect(database) as db:
        db.execute("PRAGMA synchronous = OFF")
        for seed, (slug, count) in enumerate(sizes):
            (campaign_id,) = db.execute(
                "SELECT id FROM campaigns WHERE slug = ?", (slug,)
            ).fetchone()
            db.executemany(
                "INSERT INTO signatures (campaign_id, kind, name, email, email_normalized, "
                "email_domain, organization, role, city, country, list_publicly, receive_updates, "
                "extra, language, source, status, ip, created_at, confirmed_at, approved_at, "
                "rejection_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?, ?)",
                rows_for(campaign_id, count, seed),
            )
            campaigns.append((slug, campaign_id, count))
    with sqlite3.connect(database) as db:
        db.execute("ANALYZE")
    return database, env, campaigns


def check(path: Path, count: int) -> None:
    """The toolkit's CSV reads back with every row, and no cell can start a formula."""
    with open(path, encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        next(reader)
        rows = 0
        for row in reader:
            rows += 1
            if any(cell.startswith(DANGEROUS) for cell in row):
                sys.exit(f"{path.name}: a cell starts a formula: {row}")
    if rows != count:
        sys.exit(f"{path.name}: {rows} rows for {count} signatures")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of each command; the best counts"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--stdout", help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.command, args.stdout)
        return

    sqlite_cli = shutil.which("sqlite3")
    if sqlite_cli is None:
        print("The sqlite3 command-line tool is not installed, so there is no baseline to compare "
              "with.\nInstall it (Debian: `apt-get install -y sqlite3`) and run again.")  # fmt: skip
        sys.exit(2)
    version = subprocess.run([sqlite_cli, "-version"], capture_output=True, text=True).stdout
    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    try:
        started = time.perf_counter()
        database, env, campaigns = build(work, args.rows)
        print(f"built {database.name}: {', '.join(f'{n:,} signatures in {s}' for s, _, n in campaigns)}"
              f" in {time.perf_counter() - started:.1f} s")  # fmt: skip
        print(f"CSV export of the full list, best of {args.repeat} runs; sqlite3 {version.split()[0]}; "
              f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")  # fmt: skip
        startup = best(args.repeat, [str(BIN / "toolkit"), "signatures", "export", "--help"], env)
        print(f"  (the toolkit command's start-up alone, `export --help`: {startup['seconds']:.2f} s, "
              f"{startup['cpu']:.2f} s CPU, {startup['peak_mb']:.0f} MB)")  # fmt: skip
        peaks = {}
        for slug, campaign_id, count in campaigns:
            ours = work / f"{slug}-toolkit.csv"
            theirs = work / f"{slug}-sqlite3.csv"
            toolkit = best(args.repeat, [str(BIN / "toolkit"), "signatures", "export", "--campaign",
                                         slug, "--format", "csv", "--output", str(ours)], env)  # fmt: skip
            query = (f"SELECT {', '.join(COLUMNS)} FROM signatures "
                     f"WHERE campaign_id = {campaign_id} ORDER BY id")  # fmt: skip
            baseline = best(args.repeat, [sqlite_cli, "-csv", "-header", str(database), query], env,
                            stdout=theirs)  # fmt: skip
            check(ours, count)
            peaks[count] = toolkit["peak_mb"]
            print(f"  {count:>9,} rows: toolkit {toolkit['seconds']:6.2f} s ({toolkit['cpu']:6.2f} s CPU) "
                  f"{toolkit['peak_mb']:4.0f} MB | sqlite3 {baseline['seconds']:6.2f} s "
                  f"({baseline['cpu']:6.2f} s CPU) {baseline['peak_mb']:4.0f} MB | ratio "
                  f"{toolkit['seconds'] / baseline['seconds']:.2f} (CPU {toolkit['cpu'] / baseline['cpu']:.2f}); "
                  f"goal <= 2.0")  # fmt: skip
        (large_n, large_mb), (small_n, small_mb) = peaks.items()
        print(f"  toolkit peak memory: {small_mb:.0f} MB for {small_n:,} rows, {large_mb:.0f} MB "
              f"for {large_n:,} rows (x{large_mb / small_mb:.2f}; goal: flat)")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
