"""GET /api/v1/countries: JSON, cacheable with ETags, documented by an OpenAPI file."""

from __future__ import annotations

from datetime import date

from toolkit.contacts.models import ContactPoint
from toolkit.extensions import db


def test_countries_list(client):
    response = client.get("/api/v1/countries")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    countries = response.get_json()["countries"]
    assert len(countries) == 194
    kenya = next(c for c in countries if c["iso2"] == "KE")
    assert kenya["names"]["zh"] == "肯尼亚" and kenya["names"]["ar"] == "كينيا"
    assert kenya["has_verified_contact_point"] is False
    assert "max-age=300" in response.headers["Cache-Control"]


def test_etag_gives_304_until_the_data_changes(app, client):
    first = client.get("/api/v1/countries/ke")
    etag = first.headers["ETag"]
    again = client.get("/api/v1/countries/KE", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    with app.app_context():
        db.session.add(ContactPoint(country="KE", role="ministry", organization="Ministry",
                                    email="ps@example.org", source="https://example.org",
                                    status="verified", verified_on=date(2012, 10, 1)))  # fmt: skip
        db.session.commit()
    changed = client.get("/api/v1/countries/KE", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    data = changed.get_json()
    assert data["has_verified_contact_point"] is True
    assert data["contact_points"][0]["verified_on"] == "2012-10-01"


def test_unknown_country_is_a_json_404(client):
    for path in ("/api/v1/countries/ZZ", "/api/v1/countries/../etc", "/api/v1/nothing"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "application/json"
        assert "error" in response.get_json()


def test_openapi_document_describes_the_paths(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    assert {"/countries", "/countries/{iso2}"} <= set(spec["paths"])
