"""The public directory, corrections from the public, and organizers deciding them."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent
from toolkit.contacts.models import ContactCorrection, ContactPoint
from toolkit.extensions import db


def test_directory_lists_states_by_region_and_searches_every_language(client):
    page = client.get("/countries").get_data(as_text=True)
    assert "Africa" in page and "Kenya" in page and "Oceania" in page
    for query, expected in [("كينيا", "Kenya"), ("肯尼亚", "Kenya"), ("Кения", "Kenya"),
                            ("cote d", "Côte"), ("KEN", "Kenya"), ("sn", "Senegal")]:  # fmt: skip
        found = client.get("/countries", query_string={"q": query}).get_data(as_text=True)
        assert expected in found, query
    none = client.get("/countries", query_string={"q": "Atlantis"}).get_data(as_text=True)
    assert "No member state matches" in none


def test_country_page_offers_letters_and_says_when_nothing_is_known(client):
    page = client.get("/countries/ke").get_data(as_text=True)
    assert "We have no contact point for Kenya yet" in page
    assert "/letters/delegation-request?country=KE" in page
    assert client.get("/countries/ZZ").status_code == 404


def _suggest(client, **changes):
    data = {"contact_point": "", "what_is_wrong": "The ministry is missing.",
            "correct_detail": "Ministry of ICT, PO Box 1, Nairobi, ps@ict.example",
            "source": "https://ict.example/contacts", "email": "helper@example.org",
            "nickname": ""}  # fmt: skip
    data.update(changes)
    data["csrf_token"] = csrf_token(client, "/countries/KE")
    return client.post("/countries/KE/corrections", data=data)


def test_correction_with_a_non_http_source_is_refused(app, client):
    for source in ("javascript:alert(1)", "file:///etc/passwd", "data:text/html,x"):
        response = _suggest(client, source=source)
        assert response.status_code == 422
        assert "Enter a link starting with http:// or https://." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ContactCorrection)) is None


def test_honeypot_refuses_in_plain_words(app, client):
    response = _suggest(client, nickname="buy now")
    assert response.status_code == 400
    assert "automated submission" in response.get_data(as_text=True)


def test_approved_correction_updates_the_directory_with_source_and_date(app, client):
    assert _suggest(client).status_code == 302
    make_user(app, "org@example.org")
    login(client, "org@example.org")
    with app.app_context():
        correction = db.session.scalar(select(ContactCorrection))
    review = client.get(f"/admin/corrections/{correction.id}")
    assert "The ministry is missing." in review.get_data(as_text=True)
    token = csrf_token(client, f"/admin/corrections/{correction.id}")
    response = client.post(
        f"/admin/corrections/{correction.id}/approve",
        data={"csrf_token": token, "role": "ministry", "organization": "Ministry of ICT",
              "address": "PO Box 1\nNairobi", "email": "ps@ict.example"},
    )  # fmt: skip
    assert response.status_code == 302
    with app.app_context():
        point = db.session.scalar(select(ContactPoint))
        assert (point.organization, point.email, point.status) == (
            "Ministry of ICT",
            "ps@ict.example",
            "verified",
        )
        assert point.source == "https://ict.example/contacts" and point.verified_on is not None
        actions = list(db.session.scalars(select(AuditEvent.action)))
        assert "contacts.correction_approved" in actions
    page = client.get("/countries/KE").get_data(as_text=True)
    assert "Ministry of ICT" in page and "ps@ict.example" in page


def test_rejected_correction_is_kept_in_the_audit_log(app, client):
    _suggest(client)
    make_user(app, "org@example.org")
    login(client, "org@example.org")
    with app.app_context():
        correction_id = db.session.scalar(select(ContactCorrection.id))
    token = csrf_token(client, f"/admin/corrections/{correction_id}")
    empty = client.post(f"/admin/corrections/{correction_id}/reject",
                        data={"csrf_token": token, "reason": ""})  # fmt: skip
    assert empty.status_code == 422
    client.post(f"/admin/corrections/{correction_id}/reject",
                data={"csrf_token": token, "reason": "The source is a blog, not official."})  # fmt: skip
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "contacts.correction_rejected")
        )
        assert event.details["reason"] == "The source is a blog, not official."
        assert event.details["what_is_wrong"] == "The ministry is missing."
        assert db.session.scalar(select(ContactPoint)) is None


def test_organizer_import_preview_then_apply(app, client):
    from tests.contacts.test_spreadsheet import GOOD, csv_bytes

    make_user(app, "org@example.org")
    login(client, "org@example.org")
    token = csrf_token(client, "/admin/contacts/import")
    import io

    preview = client.post(
        "/admin/contacts/import",
        data={"csrf_token": token, "file": (io.BytesIO(csv_bytes(GOOD)), "contacts.csv")},
        content_type="multipart/form-data",
    )
    page = preview.get_data(as_text=True)
    assert "3 added, 0 changed, 0 unchanged" in page
    with app.app_context():
        assert db.session.scalar(select(ContactPoint)) is None
    content = page.split('name="content" value="')[1].split('"')[0]
    applied = client.post("/admin/contacts/import",
                          data={"csrf_token": token, "content": content, "confirm": "1"})  # fmt: skip
    assert applied.status_code == 302
    with app.app_context():
        assert len(list(db.session.scalars(select(ContactPoint)))) == 3
    export = client.get("/admin/contacts/export")
    assert export.mimetype == "text/csv"
    assert "Ministry of Information" in export.get_data(as_text=True)
