"""Benchmark: batch letters rendered on one process and on two (`render_many`).

Run by hand: `.venv/bin/python bench/batch.py [--countries 24] [--rounds 2]`. The same
realistic template letters (delegation-request, with a sender and a paragraph of their own)
to the same countries, after a warm-up of both worker counts; prints the times and the
speed-up. Goal on a 2-core machine: two workers at least 1.7 times faster than one.
Run it when the machine is otherwise idle (`uptime` load below 1.5).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from toolkit import create_app  # noqa: E402
from toolkit.documents.pdf import render_many, shutdown_batch_workers  # noqa: E402
from toolkit.extensions import db  # noqa: E402
from toolkit.letters.batch import select_countries, template_letters  # noqa: E402
from toolkit.letters.catalog import get_catalog  # noqa: E402
from toolkit.letters.compose import SenderDetails  # noqa: E402

GOAL = 1.7
SENDER = SenderDetails(
    name="West African Digital Rights Coalition",
    description="Twelve organizations working for an open, affordable Internet in West Africa.",
    website="https://example.org",
    address="Immeuble Fahd, 4e étage\nBoulevard Djily Mbaye\nDakar",
    contact_name="Awa Ndiaye",
    contact_role="Coordinator",
    email="awa@example.org",
    phone="+221 33 123 45 67",
    country="SN",
)
OWN_WORDS = (
    "Across our region, people reach the Internet through their phones, for work, school and "
    "family. Decisions taken at the conference on roaming, numbering and the security of "
    "networks will shape what they pay and what they may say online. We ask that a member of "
    "civil society join the national delegation, so that these people have a voice."
)


def timed(documents: list[tuple[str, str]], workers: int) -> float:
    started = time.perf_counter()
    results = render_many(documents, workers=workers, timeout=120)
    elapsed = time.perf_counter() - started
    failed = [key for key, value in results.items() if not isinstance(value, bytes)]
    if failed:
        raise SystemExit(f"rendering failed for {', '.join(failed)}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--countries", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=2, help="timed rounds of each (median)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    url = f"sqlite:///{work}/bench.sqlite3"
    env = {**os.environ, "TOOLKIT_DATABASE_URL": url, "TOOLKIT_SECRET_KEY": "bench"}
    for command in (("db", "upgrade"), ("data", "load")):
        subprocess.run([str(ROOT / ".venv/bin/toolkit"), *command], env=env, check=True,
                       capture_output=True)  # fmt: skip

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        states = select_countries(db.session, "all")[: args.countries]
        letters = template_letters(
            db.session, get_catalog(app.config["LETTER_TEMPLATES_DIR"]), "delegation-request",
            SENDER, states, language="en", event="wcit-12", letter_date=date(2012, 11, 20),
            fields={"representative_name": "Awa Ndiaye",
                    "representative_expertise": "Ten years of policy work on telecoms."},
            own_words=OWN_WORDS,
        )  # fmt: skip
    documents = [(letter.code, letter.html) for letter in letters]

    # Warm-up: start both workers and let each render a few letters before timing.
    render_many(documents[:4], workers=2, timeout=120)
    one, two = [], []
    for _ in range(args.rounds):  # interleaved, so drift affects both alike
        one.append(timed(documents, workers=1))
        two.append(timed(documents, workers=2))
    shutdown_batch_workers()

    one_s, two_s = statistics.median(one), statistics.median(two)
    speedup = one_s / two_s
    cores = os.cpu_count()
    load = os.getloadavg()[0]
    print(f"batch: {len(documents)} delegation-request letters, {args.rounds} rounds (median), "
          f"{cores} cores, load {load:.2f} at the end")  # fmt: skip
    for workers, seconds in ((1, one_s), (2, two_s)):
        per_letter = 1000 * seconds / len(documents)
        print(f"  render_many(workers={workers}): {seconds:6.2f} s  ({per_letter:.0f} ms/letter)")
    verdict = "met" if speedup >= GOAL else "NOT met"
    print(f"  speed-up: {speedup:.2f}  (goal >= {GOAL}: {verdict})")


if __name__ == "__main__":
    main()
