"""Batch letters from a template: choosing countries, rendering on several processes, the ZIP."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date
from io import BytesIO
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from tests.letters.helpers import SENDER
from toolkit.contacts.models import ContactPoint
from toolkit.documents.pdf import PdfError, RenderTimeout, render_many
from toolkit.extensions import db
from toolkit.letters.batch import (
    INDEX_COLUMNS,
    BatchError,
    select_countries,
    template_letters,
    write_zip,
)
from toolkit.letters.catalog import get_catalog
from toolkit.letters.compose import SenderDetails

ADDRESSEES = {"KE": "Eng. Wanjiru Kamau", "SN": "Mme Awa Ndiaye"}


def add_contacts(app) -> None:
    """Verified contact points for KE and SN, an unverified one for BR."""
    with app.app_context():
        for code, name in ADDRESSEES.items():
            db.session.add(ContactPoint(country=code, role="ministry", organization=f"Ministry {code}",
                                        addressee_name=name, address=f"1 Main Street\nCapital {code}",
                                        email=f"itu@gov-{code.lower()}.example",
                                        source="https://example.org/source", status="verified"))  # fmt: skip
        db.session.add(ContactPoint(country="BR", role="ministry", organization="Ministério BR",
                                    addressee_name="Sr. João Silva", email="itu@gov-br.example",
                                    source="https://example.org", status="unverified"))  # fmt: skip
        db.session.commit()


# --- choosing countries -------------------------------------------------------------------


def test_select_all_regions_and_codes(app):
    with app.app_context():
        assert len(select_countries(db.session, "all")) == 194
        africa = select_countries(db.session, "africa")
        assert len(africa) == 54 and {"KE", "SN", "EG"} <= {s.iso2 for s in africa}
        west = select_countries(db.session, "Western Africa")
        assert "SN" in {s.iso2 for s in west} and "KE" not in {s.iso2 for s in west}
        assert len(select_countries(db.session, "Northern Europe")) == 10
        chosen = select_countries(db.session, " sn, ke ,SN")
        assert [s.iso2 for s in chosen] == ["KE", "SN"]  # sorted by name, duplicates dropped
        assert [s.iso2 for s in select_countries(db.session, "br")] == ["BR"]
        assert [s.iso2 for s in select_countries(db.session, "signatories", ["SN", "KE", ""])] == [
            "KE", "SN"]  # fmt: skip


@pytest.mark.parametrize(
    "spec, signatories, message",
    [
        ("Atlantis", (), "Unknown region 'Atlantis'. Known regions: Africa, Americas"),
        ("KE, ZZ, QQ", (), "Unknown country code(s): ZZ, QQ."),
        ("", (), "Choose the countries"),
        (" , ", (), "No country is selected"),
        ("signatories", (), "No approved signatory"),
    ],
)
def test_bad_selections_are_refused_with_a_message(app, spec, signatories, message):
    with app.app_context(), pytest.raises(BatchError) as caught:
        select_countries(db.session, spec, signatories)
    assert message in str(caught.value)
    if "Unknown region" in message:
        assert "Western Africa" in str(caught.value)


# --- render_many -----------------------------------------------------------------------------


def test_render_many_reports_a_broken_and_a_slow_document_by_key():
    slow = "<table>" + "<tr><td>cell</td></tr>" * 200_000 + "</table>"
    documents = [("A", "<p>Alpha</p>"), ("slow", slow), ("broken", None), ("B", "<p>Beta</p>")]
    seen = []
    results = render_many(documents, workers=2, timeout=3,
                          progress=lambda done, total: seen.append((done, total)))  # fmt: skip
    assert list(results) == ["A", "slow", "broken", "B"]
    assert isinstance(results["slow"], RenderTimeout)
    assert isinstance(results["broken"], PdfError)
    assert not isinstance(results["broken"], RenderTimeout)
    for key, word in (("A", "Alpha"), ("B", "Beta")):
        assert word in PdfReader(BytesIO(results[key])).pages[0].extract_text()
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    # the workers survive for the next batch
    again = render_many([("C", "<p>Gamma</p>")], workers=1, timeout=10)
    assert isinstance(again["C"], bytes)


# --- the ZIP -------------------------------------------------------------------------------


def _letters(app, codes: str):
    with app.app_context():
        catalog = get_catalog(app.config["LETTER_TEMPLATES_DIR"])
        return template_letters(
            db.session, catalog, "delegation-request", SenderDetails(**SENDER),
            select_countries(db.session, codes), language="en", event="wcit-12",
            letter_date=date(2012, 11, 20), fields={"representative_name": "Grace Wanjiru"},
            own_words="Kenyans rely on mobile Internet.",
        )  # fmt: skip


def _index(archive: zipfile.ZipFile) -> list[dict[str, str]]:
    raw = archive.read("index.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows and tuple(rows[0]) == INDEX_COLUMNS
    return rows


def test_zip_has_a_pdf_and_a_docx_per_country_and_an_index(app, tmp_path: Path):
    add_contacts(app)
    letters = _letters(app, "KE,SN,BR")
    with app.app_context():
        pdfs = render_many([(letter.code, letter.html) for letter in letters], timeout=60)
    report = write_zip(letters, pdfs, tmp_path / "letters.zip")
    assert report.made == ("BR", "KE", "SN") and not report.failures
    with zipfile.ZipFile(tmp_path / "letters.zip") as archive:
        names = set(archive.namelist())
        assert names == {f"{c}-delegation-request.{ext}" for c in ("KE", "SN", "BR")
                         for ext in ("pdf", "docx")} | {"index.csv"}  # fmt: skip
        rows = {row["country_code"]: row for row in _index(archive)}
        for code, name in {**ADDRESSEES, "BR": "Sr. João Silva"}.items():
            pdf = archive.read(f"{code}-delegation-request.pdf")
            text = " ".join(p.extract_text() for p in PdfReader(BytesIO(pdf)).pages)
            assert name in text and "Kenya ICT Action Network" in text
            document = docx.Document(BytesIO(archive.read(f"{code}-delegation-request.docx")))
            assert name in "\n".join(p.text for p in document.paragraphs)
            assert rows[code]["status"] == "ok" and name in rows[code]["addressee"]
    assert rows["KE"]["email"] == "itu@gov-ke.example" and rows["KE"]["email_verified"] == "yes"
    assert rows["BR"]["email"] == "itu@gov-br.example" and rows["BR"]["email_verified"] == "no"
    assert rows["SN"]["country"] == "Senegal" and rows["SN"]["pdf"] == "SN-delegation-request.pdf"


def test_a_failed_country_is_listed_and_the_others_are_made(app):
    letters = _letters(app, "KE,SN")
    pdfs = {"KE": RenderTimeout("Making the PDF took longer than 1 seconds, so it was stopped."),
            "SN": render_many([("SN", letters[1].html)])["SN"]}  # fmt: skip
    buffer = BytesIO()
    report = write_zip(letters, pdfs, buffer)
    assert report.made == ("SN",) and report.failed_names == ["Kenya"]
    with zipfile.ZipFile(buffer) as archive:
        assert "KE-delegation-request.pdf" not in archive.namelist()
        assert "SN-delegation-request.docx" in archive.namelist()
        rows = {row["country_code"]: row for row in _index(archive)}
    assert rows["KE"]["status"] == "failed" and "took longer" in rows["KE"]["error"]
    assert rows["KE"]["email"] == "" and rows["KE"]["email_verified"] == "no"  # never guessed
    assert rows["SN"]["status"] == "ok" and rows["SN"]["error"] == ""


def test_a_letter_to_the_itu_cannot_be_batched(app):
    with app.app_context(), pytest.raises(BatchError, match="not to governments"):
        template_letters(db.session, get_catalog(app.config["LETTER_TEMPLATES_DIR"]),
                         "participation-letter", SenderDetails(**SENDER),
                         select_countries(db.session, "KE"), language="en", event="wcit-12",
                         letter_date=date(2012, 11, 20))  # fmt: skip


# --- the command line ----------------------------------------------------------------------


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(SENDER), encoding="utf-8")
    return path


def batch(runner, org_file: Path, output: Path, *args: str):
    return runner.invoke(args=["letters", "batch", "--template", "delegation-request",
                               "--org", str(org_file), "--output", str(output),
                               "--field", "representative_name=Grace Wanjiru", *args])  # fmt: skip


def test_cli_batch_end_to_end(app, runner, org_file: Path, tmp_path: Path):
    add_contacts(app)
    output = tmp_path / "letters.zip"
    result = batch(runner, org_file, output, "--countries", "KE,SN", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert f"wrote {output}: 2 letters, 0 failed" in result.output
    with zipfile.ZipFile(output) as archive:
        assert len(archive.namelist()) == 5
        text = PdfReader(BytesIO(archive.read("SN-delegation-request.pdf"))).pages[0].extract_text()
        assert "Mme Awa Ndiaye" in text


@pytest.mark.parametrize(
    "spec, message",
    [("Atlantis", "Unknown region 'Atlantis'"), ("KE,XX", "Unknown country code(s): XX."),
     (",", "No country is selected")],
)  # fmt: skip
def test_cli_batch_refuses_bad_countries_in_one_line(runner, org_file, tmp_path, spec, message):
    output = tmp_path / "letters.zip"
    result = batch(runner, org_file, output, "--countries", spec)
    assert result.exit_code != 0 and "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0]
    assert not output.exists()
