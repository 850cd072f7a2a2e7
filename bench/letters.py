"""Benchmark: one letter through the toolkit beside bare WeasyPrint, and the CLI's cold start.

Run by hand: `make bench` or `.venv/bin/python bench/letters.py [--runs 20]`. Prints figures;
goal: warm toolkit render at most 1.2 times bare WeasyPrint on the same HTML.
"""

from __future__ import annotations

import argparse
import json
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
from toolkit.documents.html import letter_html  # noqa: E402
from toolkit.documents.pdf import STATIC_ROOT, render_pdf, shutdown  # noqa: E402
from toolkit.extensions import db  # noqa: E402
from toolkit.letters.catalog import get_catalog  # noqa: E402
from toolkit.letters.compose import LetterRequest, SenderDetails, compose_letter  # noqa: E402

GOAL = 1.2
SENDER = {
    "name": "Kenya ICT Action Network",
    "description": "A coalition working for an open Internet in Kenya.",
    "website": "https://example.org",
    "address": "PO Box 12345\nNairobi",
    "contact_name": "Grace Wanjiru",
    "contact_role": "Coordinator",
    "email": "grace@example.org",
    "phone": "+254 20 123 4567",
    "country": "KE",
}


def toolkit(*args: str, env: dict) -> float:
    """Run the toolkit CLI; return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [str(ROOT / ".venv/bin/toolkit"), *args], env=env, check=True, capture_output=True
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-letters-"))
    env = {**os.environ, "TOOLKIT_DATABASE_URL": f"sqlite:///{work}/bench.sqlite3"}
    env["TOOLKIT_SECRET_KEY"] = "bench"
    toolkit("db", "upgrade", env=env)
    toolkit("data", "load", env=env)

    app = create_app({"DATABASE_URL": env["TOOLKIT_DATABASE_URL"], "SECRET_KEY": "bench"})
    app.app_context().push()
    if True:  # the context stays pushed for the timed runs
        catalog = get_catalog(app.config["LETTER_TEMPLATES_DIR"])
        request = LetterRequest(
            template="delegation-request",
            sender=SenderDetails(**SENDER),
            recipient_country="KE",
            event="wcit-12",
            letter_date=date(2012, 11, 20),
            fields={"representative_name": "Grace Wanjiru"},
            own_words="Most Kenyans reach the Internet through their phones.",
        )

        def through_toolkit() -> bytes:
            letter = compose_letter(db.session, catalog, request)
            return render_pdf(letter_html(letter))

        html = letter_html(compose_letter(db.session, catalog, request))

    import weasyprint

    def bare() -> bytes:
        return weasyprint.HTML(string=html, base_url=STATIC_ROOT.as_uri() + "/").write_pdf()

    for warm in (through_toolkit, bare, through_toolkit, bare):  # warm both paths up
        warm()
    timings: dict[str, list[float]] = {"toolkit": [], "bare": []}
    for _ in range(args.runs):  # interleaved, so drift affects both alike
        for name, function in (("toolkit", through_toolkit), ("bare", bare)):
            started = time.perf_counter()
            function()
            timings[name].append(time.perf_counter() - started)
    shutdown()

    toolkit_ms = statistics.median(timings["toolkit"]) * 1000
    bare_ms = statistics.median(timings["bare"]) * 1000
    ratio = toolkit_ms / bare_ms

    org = work / "org.json"
    org.write_text(json.dumps(SENDER))
    cold = [
        toolkit(
            "letters",
            "render",
            "--template",
            "delegation-request",
            "--country",
            "KE",
            "--org",
            str(org),
            "--field",
            "representative_name=Grace Wanjiru",
            "--output",
            str(work / "letter.pdf"),
            env=env,
        )  # fmt: skip
        for _ in range(3)
    ]

    print(f"letter: delegation-request to KE, {args.runs} warm runs each (median)")
    print(f"  toolkit (compose + layout + PDF in the worker): {toolkit_ms:8.1f} ms")
    print(f"  bare WeasyPrint on the same HTML:               {bare_ms:8.1f} ms")
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"  ratio toolkit / bare: {ratio:.2f}  (goal <= {GOAL}: {verdict})")
    print(f"cold `toolkit letters render` wall time: {statistics.median(cold):.2f} s (median of 3)")


if __name__ == "__main__":
    main()
