"""Benchmark: exporting a campaign's signatures to CSV, beside the sqlite3 tool's own CSV export.

Run by hand (`.venv/bin/python bench/export.py [--rows 1000000] [--compare-python]`); it stops by
itself and uses no network. It builds a SQLite database in a temporary folder with the real
migrations, one campaign with --rows signatures and one with a tenth as many (names in several
scripts, some starting with "=" or "-" so the formula prefix is exercised, some paper signatures
without email), then times, each in a fresh helper process so the figures are that command's
alone:

1. `toolkit signatures export --campaign SLUG --format csv --output FILE` (the full list), start-up
   included; the export reads large lists in ranges shared with helper processes, one per CPU;
2. `sqlite3 -csv -header DB "SELECT <the same columns> ..." > FILE`;
3. with --compare-python, the Python writer the export used before (export_rows through
   csv_chunks), checking that both files are the same, byte for byte.

Peak memory is the largest process's (ru_maxrss) and, sampled every 50 ms, the whole process
tree's (the toolkit and its helper processes). Goal: the toolkit within 2x the sqlite3 tool's
time, and its peak memory flat (the same for a tenth of the rows as for all of them).
"""

from __future__ import annotations

import argparse
import csv
import filecmp
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
# The export as the toolkit wrote it before (and still writes XLSX and JSON): row by row in Python.
PYTHON_WRITER = """
import sys
from toolkit import create_app
from toolkit.campaigns.exports import ExportRequest, columns, export_rows
from toolkit.campaigns.service import get_campaign
from toolkit.exports.writers import csv_chunks
from toolkit.extensions import db

with create_app().app_context(), open(sys.argv[2], "wb") as file:
    campaign = get_campaign(db.session, sys.argv[1])
    header = columns(ExportRequest(), campaign)
    for chunk in csv_chunks(header, export_rows(db.session, campaign, ExportRequest())):
        file.write(chunk.encode())
"""


def tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in kB (Linux /proc); 0 once gone."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            total = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(tree_rss(int(child)) for child in children.read().split())
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def measure(command: list[str], stdout: str | None) -> None:
    """Helper mode: run one command, print its wall time, CPU time and peak memory as JSON."""
    output = open(stdout, "wb") if stdout else subprocess.DEVNULL  # noqa: SIM115
    started = time.perf_counter()
    errors = tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(command, stdout=output, stderr=errors, cwd=ROOT)
    peak_tree = 0
    while process.poll() is None:
        peak_tree = max(peak_tree, tree_rss(process.pid))
        time.sleep(0.05)
    seconds = time.perf_counter() - started
    errors.seek(0)
    error = errors.read()
    if stdout:
        output.close()
    if process.returncode:
        sys.exit(f"{command[0]} failed ({process.returncode}): {error.decode()[-2000:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({"seconds": seconds, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024,
                      "tree_mb": max(peak_tree, usage.ru_maxrss) / 1024}))  # fmt: skip


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


def in_turns(runs: int, commands: dict[str, tuple[list[str], Path | None]], env: dict) -> dict:
    """The best run of each command, the commands taken in turns so a busy spell hits them alike."""
    results: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, stdout) in commands.items():
            results[name].append(timed(command, env, stdout))
    return {name: min(found, key=lambda f: f["seconds"]) for name, found in results.items()}


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
    parser.add_argument("--compare-python", action="store_true",
                        help="also time the Python writer, and check both files are the same")  # fmt: skip
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
        print(f"CSV export of the full list, best of {args.repeat} runs (taken in turns); sqlite3 "
              f"{version.split()[0]}; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}")  # fmt: skip
        startup = best(args.repeat, [str(BIN / "toolkit"), "signatures", "export", "--help"], env)
        print(f"  (the toolkit command's start-up alone, `export --help`: {startup['seconds']:.2f} s, "
              f"{startup['cpu']:.2f} s CPU, {startup['peak_mb']:.0f} MB)")  # fmt: skip
        peaks = {}
        for slug, campaign_id, count in campaigns:
            ours = work / f"{slug}-toolkit.csv"
            theirs = work / f"{slug}-sqlite3.csv"
            query = (f"SELECT {', '.join(COLUMNS)} FROM signatures "
                     f"WHERE campaign_id = {campaign_id} ORDER BY id")  # fmt: skip
            commands = {
                "toolkit": ([str(BIN / "toolkit"), "signatures", "export", "--campaign", slug,
                             "--format", "csv", "--output", str(ours)], None),
                "sqlite3": ([sqlite_cli, "-csv", "-header", str(database), query], theirs),
            }  # fmt: skip
            if args.compare_python:
                python_file = work / f"{slug}-python.csv"
                commands["python"] = ([str(BIN / "python"), "-c", PYTHON_WRITER, slug,
                                       str(python_file)], None)  # fmt: skip
            runs = in_turns(args.repeat, commands, env)
            toolkit, baseline = runs["toolkit"], runs["sqlite3"]
            check(ours, count)
            peaks[count] = toolkit
            print(f"  {count:>9,} rows: toolkit {toolkit['seconds']:6.2f} s ({toolkit['cpu']:6.2f} s CPU) "
                  f"{toolkit['peak_mb']:4.0f} MB ({toolkit['tree_mb']:.0f} MB with its helpers) | "
                  f"sqlite3 {baseline['seconds']:6.2f} s ({baseline['cpu']:6.2f} s CPU) "
                  f"{baseline['peak_mb']:4.0f} MB | ratio {toolkit['seconds'] / baseline['seconds']:.2f} "
                  f"(CPU {toolkit['cpu'] / baseline['cpu']:.2f}); goal <= 2.0")  # fmt: skip
            if args.compare_python:
                python = runs["python"]
                same = (
                    "the same bytes"
                    if filecmp.cmp(ours, python_file, shallow=False)
                    else "DIFFERENT"
                )
                print(f"  {'':>9}       Python writer {python['seconds']:6.2f} s ({python['cpu']:6.2f} s "
                      f"CPU) {python['peak_mb']:4.0f} MB, {python['seconds'] / toolkit['seconds']:.1f}x "
                      f"the toolkit's time; files: {same}")  # fmt: skip
                if same != "the same bytes":
                    sys.exit(f"{slug}: the toolkit's CSV differs from the Python writer's")
        (large_n, large), (small_n, small) = peaks.items()
        print(f"  toolkit peak memory: {small['peak_mb']:.0f} MB for {small_n:,} rows, "
              f"{large['peak_mb']:.0f} MB for {large_n:,} rows (x{large['peak_mb'] / small['peak_mb']:.2f}); "
              f"with its helpers {small['tree_mb']:.0f} MB and {large['tree_mb']:.0f} MB "
              f"(x{large['tree_mb'] / small['tree_mb']:.2f}); goal: flat")  # fmt: skip
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
