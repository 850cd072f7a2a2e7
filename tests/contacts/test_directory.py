"""The member-state directory: 194 states, six languages, the best contact point."""

from __future__ import annotations

from datetime import date

from toolkit.contacts.directory import (
    best_contact_point,
    get_member_state,
    government_recipient,
    list_member_states,
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
