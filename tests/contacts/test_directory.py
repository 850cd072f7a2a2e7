"""The member-state directory: 194 states, six languages, the best contact point."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from toolkit.contacts.directory import (
    CONTACT_POINT_COLUMNS,
    DirectoryDataError,
    best_contact_point,
    get_member_state,
    government_recipient,
    list_member_states,
    load_contact_points,
)
from toolkit.contacts.models import ContactPoint, MemberState
from toolkit.extensions import db


def test_all_194_member_states_with_names_in_six_languages(app):
    with app.app_context():
        states = list_member_states(db.session)
        assert len(states) == 194
        kenya = get_member_state(db.session, "ke")
        assert kenya.name("en") == "Kenya"
        assert kenya.name("fr") == "Kenya"
        assert kenya.name("ar") == "كينيا"
        assert kenya.name("zh") == "肯尼亚"
        assert kenya.name("ru") == "Кения"
        assert kenya.m49_region == "Africa"
        assert get_member_state(db.session, "VA") is not None
        assert get_member_state(db.session, "ZZ") is None
        assert get_member_state(db.session, "../") is None


def test_best_contact_point_prefers_verified_then_role(app):
    with app.app_context():
        db.session.add_all(
            [
                ContactPoint(country="SN", role="itu-focal-point", organization="A",
                             source="s", status="unverified"),
                ContactPoint(country="SN", role="regulator", organization="B",
                             source="s", status="verified", verified_on=date(2012, 10, 1)),
                ContactPoint(country="SN", role="ministry", organization="C",
                             source="s", status="verified", verified_on=date(2012, 9, 1)),
            ]
        )  # fmt: skip
        db.session.commit()
        assert best_contact_point(db.session, "SN").organization == "C"
        recipient = government_recipient(db.session, db.session.get(MemberState, "SN"))
        assert recipient.has_contact_point and recipient.organization == "C"
        generic = government_recipient(db.session, db.session.get(MemberState, "KE"))
        assert not generic.has_contact_point
        assert generic.address_lines[0] == "The Minister responsible for telecommunications"


def _write(tmp_path: Path, rows: list[str]) -> Path:
    (tmp_path / "contact_points.csv").write_text(
        ",".join(CONTACT_POINT_COLUMNS) + "\n" + "".join(row + "\n" for row in rows)
    )
    return tmp_path


@pytest.mark.parametrize(
    "row, message",
    [
        ("ZZ,ministry,Org,,,,,,,src,,verified", "unknown country 'ZZ'"),
        ("KE,chief,Org,,,,,,,src,,verified", "unknown role 'chief'"),
        ("KE,ministry,Org,,,,,,,,,verified", "needs a source"),
        ("KE,ministry,Org,,,,,,,src,12/10/2012,verified", "YYYY-MM-DD"),
        ("KE,ministry,Org,,,,,,,src,,maybe,extra", "too many fields"),
    ],
)
def test_bad_contact_rows_are_refused_and_nothing_changes(app, tmp_path: Path, row, message):
    with app.app_context():
        db.session.add(ContactPoint(country="KE", role="ministry", organization="Kept", source="s"))
        db.session.commit()
        with pytest.raises(DirectoryDataError, match=message):
            load_contact_points(db.session, _write(tmp_path, [row]))
        db.session.rollback()
        assert [p.organization for p in db.session.query(ContactPoint)] == ["Kept"]


def test_wrong_header_is_refused(app, tmp_path: Path):
    (tmp_path / "contact_points.csv").write_text("country,name\nKE,x\n")
    with app.app_context(), pytest.raises(DirectoryDataError, match="the header must be"):
        load_contact_points(db.session, tmp_path)
