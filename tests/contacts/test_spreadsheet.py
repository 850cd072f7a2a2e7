"""Contact points from a coalition's spreadsheet: every row checked, a preview, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from toolkit.contacts.directory import CONTACT_POINT_COLUMNS
from toolkit.contacts.models import ContactPoint
from toolkit.contacts.spreadsheet import apply_import, export_contacts_csv, plan_import
from toolkit.extensions import db

HEADER = ",".join(CONTACT_POINT_COLUMNS)
GOOD = [
    'KE,ministry,Ministry of Information,,Cabinet Secretary,"PO Box 1\nNairobi",info@ministry.example'
    ",+254 20 000,https://ministry.example,https://ministry.example/contacts,2012-10-01,verified",
    "SN,regulator,Autorité de Régulation,,Directeur général,,,,,Journal officiel 2012-45,,unverified",
    "EG,itu-focal-point,وزارة الاتصالات,,,,,,,https://example.org/eg,2012-09-30,verified",
]


def csv_bytes(rows: list[str], *, header: str = HEADER, bom: bool = False, sep: str = ",") -> bytes:
    text = "\n".join([header.replace(",", sep), *[r.replace(",", sep) for r in rows]]) + "\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(ContactPoint))


def test_preview_then_apply_then_round_trip(app):
    with app.app_context():
        plan = plan_import(db.session, csv_bytes(GOOD))
        assert plan.ok, plan.errors
        assert plan.summary() == "3 added, 0 changed, 0 unchanged"
        assert count(app) == 0  # a preview changes nothing
        apply_import(db.session, plan)
        db.session.commit()
        exported = export_contacts_csv(db.session)
        again = plan_import(db.session, exported.encode())
        assert again.summary() == "0 added, 0 changed, 3 unchanged"
        ke = db.session.scalar(select(ContactPoint).where(ContactPoint.country == "KE"))
        assert ke.address_lines == ["PO Box 1", "Nairobi"]
    assert count(app) == 3


def test_changes_are_listed_by_field(app):
    with app.app_context():
        apply_import(db.session, plan_import(db.session, csv_bytes(GOOD)))
        db.session.commit()
        changed = GOOD[0].replace("info@ministry.example", "ps@ministry.example")
        plan = plan_import(db.session, csv_bytes([changed]))
        assert plan.summary() == "0 added, 1 changed, 0 unchanged"
        assert plan.changed[0][2] == ["email"]


@pytest.mark.parametrize("variant", ["bom", "semicolon"])
def test_excel_variants_are_accepted(app, variant):
    rows = [GOOD[1], GOOD[2]]  # no commas inside fields, so a plain swap to ; is faithful
    data = csv_bytes(rows, bom=True) if variant == "bom" else csv_bytes(rows, sep=";")
    with app.app_context():
        plan = plan_import(db.session, data)
        assert plan.ok, plan.errors
        assert len(plan.added) == 2


@pytest.mark.parametrize(
    "data, expected",
    [
        (csv_bytes(GOOD, header=HEADER.replace("email", "mail")), "Wrong header"),
        ("country,role\nKE,ministry\n".encode("latin-1"), "Wrong header"),
        (HEADER.encode() + "\nKE,ministry,Minist\xe8re,,,,,,,src,,\n".encode("latin-1"), "not UTF-8"),
        (csv_bytes([GOOD[1] + ",extra"]), "row 2: 13 fields where the header has 12"),
        (csv_bytes([GOOD[1], GOOD[1]]), "row 3, column organization: the same contact point as row 2"),
        (csv_bytes([GOOD[1].replace("SN,", "ZZ,", 1)]), "row 2, column country: unknown country code 'ZZ'"),
        (csv_bytes([GOOD[0].replace("info@ministry.example", "info@")]), "row 2, column email:"),
        (csv_bytes([GOOD[0].replace("https://ministry.example,", "javascript:alert(1),", 1)]),
         "row 2, column website: must be a web address"),
        (csv_bytes([GOOD[0].replace("2012-10-01", "01/10/2012")]), "row 2, column verified_on:"),
        (csv_bytes([GOOD[1].replace("regulator", "embassy")]), "row 2, column role: unknown role"),
        (csv_bytes([GOOD[1].replace("Journal officiel 2012-45", "file:///etc/passwd")]),
         "row 2, column source: a link must start with http"),
        (b"", "The file is empty."),
    ],
)  # fmt: skip
def test_bad_files_are_refused_with_row_numbers_and_change_nothing(app, data, expected):
    with app.app_context():
        apply_import(db.session, plan_import(db.session, csv_bytes([GOOD[2]])))
        db.session.commit()
        plan = plan_import(db.session, data)
        assert not plan.ok
        assert any(expected in str(error) for error in plan.errors), plan.errors
        with pytest.raises(ValueError):
            apply_import(db.session, plan)
    assert count(app) == 1


def test_one_bad_row_among_good_ones_changes_nothing(app):
    rows = [*GOOD, GOOD[1].replace("SN,", "XX,", 1).replace("Autorité", "Other")]
    with app.app_context():
        plan = plan_import(db.session, csv_bytes(rows))
        assert [str(e) for e in plan.errors] == [
            "row 5, column country: unknown country code 'XX' (use ISO 3166 alpha-2, e.g. KE)"
        ]
    assert count(app) == 0


def test_cli_import_dry_run_then_import_then_export(app, runner, tmp_path: Path):
    source = tmp_path / "coalition.csv"
    source.write_bytes(csv_bytes(GOOD))
    dry = runner.invoke(args=["contacts", "import", str(source), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would be: 3 added, 0 changed, 0 unchanged" in dry.output
    assert count(app) == 0
    real = runner.invoke(args=["contacts", "import", str(source)])
    assert "3 added" in real.output and count(app) == 3
    out = tmp_path / "export.csv"
    assert runner.invoke(args=["contacts", "export", "--output", str(out)]).exit_code == 0
    again = runner.invoke(args=["contacts", "import", str(out), "--dry-run"])
    assert "0 added, 0 changed, 3 unchanged" in again.output


def test_cli_import_of_a_bad_file_lists_errors_and_exits_non_zero(app, runner, tmp_path: Path):
    source = tmp_path / "bad.csv"
    source.write_bytes(csv_bytes([GOOD[1].replace("SN,", "ZZ,", 1)]))
    result = runner.invoke(args=["contacts", "import", str(source)])
    assert result.exit_code == 1
    assert "row 2, column country: unknown country code 'ZZ'" in result.output
    assert "nothing was changed" in result.output
    assert count(app) == 0
