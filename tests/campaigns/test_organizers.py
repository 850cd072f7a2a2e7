"""Organizers: creating campaigns, moderation, fraud tools, exports, the final letter, access."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

from pypdf import PdfReader
from sqlalchemy import select

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from toolkit.accounts.models import AuditEvent
from toolkit.campaigns.final_letter import signatory_list
from toolkit.campaigns.models import Signature
from toolkit.campaigns.service import get_campaign
from toolkit.campaigns.signing import SignerDetails, sign
from toolkit.extensions import db


def add_signatures(
    app, rows: list[dict], status: str = "approved", slug: str = "let-us-in"
) -> None:
    """Signatures through the signing service, then set to a status."""
    with app.app_context():
        campaign = get_campaign(db.session, slug)
        for row in rows:
            details = SignerDetails(
                name=row["name"], email=row["email"], email_normalized=row["email"].lower(),
                kind=row.get("kind", "individual"), organization=row.get("organization", ""),
                role=row.get("role", ""), country=row.get("country", ""),
            )  # fmt: skip
            result = sign(db.session, campaign, details, ip=row.get("ip", "198.51.100.7"))
            result.signature.status = row.get("status", status)
        db.session.commit()


def test_cli_creates_and_opens_a_campaign(app, runner, tmp_path: Path):
    text = tmp_path / "letter.md"
    text.write_text("We ask for **open** documents.", encoding="utf-8")
    result = runner.invoke(args=["campaigns", "create", "--kind", "sign-on", "--slug", "open-docs",
                                 "--title", "Open documents", "--text-file", str(text), "--open"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "created sign-on 'open-docs' (open)" in result.output
    again = runner.invoke(args=["campaigns", "create", "--kind", "sign-on", "--slug", "open-docs",
                                "--title", "Again", "--text-file", str(text)])  # fmt: skip
    assert again.exit_code == 1 and "already taken" in again.output
    past = (date.today() - timedelta(days=1)).isoformat()
    late = runner.invoke(args=["campaigns", "create", "--kind", "petition", "--slug", "late",
                               "--title", "Late", "--text-file", str(text), "--deadline", past])  # fmt: skip
    assert late.exit_code == 1 and "--deadline: The deadline is in the past." in late.output
    zero = runner.invoke(args=["campaigns", "create", "--kind", "petition", "--slug", "zero",
                               "--title", "Zero", "--text-file", str(text), "--goal", "0"])  # fmt: skip
    assert zero.exit_code == 1 and "above zero" in zero.output
    bad_slug = runner.invoke(args=["campaigns", "create", "--kind", "petition", "--slug", "Not OK",
                                   "--title", "x", "--text-file", str(text)])  # fmt: skip
    assert bad_slug.exit_code == 1 and "lower-case letters" in bad_slug.output


def test_organizer_creates_a_campaign_from_a_template_in_the_web(app, client):
    make_user(app, "org@example.org")
    login(client, "org@example.org")
    token = csrf_token(client, "/admin/campaigns/new")
    response = client.post("/admin/campaigns/new", data={
        "csrf_token": token, "kind": "sign-on", "title": "Let us in", "slug": "let-us-in-2",
        "template": "participation-letter", "text": "", "addressee": "itu", "language": "en",
        "allow_organizations": "y", "allow_individuals": "y", "rule_organization": "optional",
        "rule_role": "optional", "rule_city": "hidden", "rule_country": "required",
        "list_publicly": "y", "require_confirmation": "y", "require_moderation": "y",
        "retention_days": "365"})  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    with app.app_context():
        campaign = get_campaign(db.session, "let-us-in-2")
        assert campaign.state == "draft" and "Secretary-General" in campaign.text
    page = client.get("/campaigns/let-us-in-2")
    assert page.status_code == 200  # its organizer sees the draft


def test_other_organizers_get_403_and_the_anonymous_the_login(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_campaign(app, organizer_id=owner)
    paths = ["/admin/campaigns/let-us-in", "/admin/campaigns/let-us-in/signatures",
             "/admin/campaigns/let-us-in/export?format=csv", "/admin/campaigns/let-us-in/fraud",
             "/admin/campaigns/let-us-in/letter.pdf"]  # fmt: skip
    for path in paths:
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    login(client, "other@example.org")
    for path in paths:
        assert client.get(path).status_code == 403, path


def test_csv_export_makes_formulas_inert(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [{"name": '=HYPERLINK("http://x","y")', "email": "h@example.org"}])
    login(client, "owner@example.org")
    response = client.get("/admin/campaigns/let-us-in/export?format=csv&shape=presentable")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff") and "\r\n" in text
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert rows[1][0] == '\'=HYPERLINK("http://x","y")'
    with app.app_context():
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "signatures.export"))


def test_presentable_list_has_no_emails_and_no_pending_or_rejected(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [
        {"name": "Listed", "email": "a@example.org", "status": "approved"},
        {"name": "Waiting", "email": "b@example.org", "status": "pending"},
        {"name": "Refused", "email": "c@example.org", "status": "rejected"},
        {"name": "Gone", "email": "d@example.org", "status": "withdrawn"},
    ])  # fmt: skip
    login(client, "owner@example.org")
    data = json.loads(
        client.get("/admin/campaigns/let-us-in/export?format=json&shape=presentable").data
    )
    assert [row["name"] for row in data] == ["Listed"]
    assert all("email" not in row for row in data)
    full = json.loads(
        client.get("/admin/campaigns/let-us-in/export?format=json&status=pending").data
    )
    assert [row["email"] for row in full] == ["b@example.org"]
    assert client.get("/admin/campaigns/let-us-in/export?format=exe").status_code == 400


def test_signatures_export_cli(app, runner, tmp_path: Path):
    make_campaign(app)
    add_signatures(app, [{"name": "Ольга", "email": "o@example.org"}])
    output = tmp_path / "out.xlsx"
    result = runner.invoke(args=["signatures", "export", "--campaign", "let-us-in", "--format",
                                 "xlsx", "--output", str(output)])  # fmt: skip
    assert result.exit_code == 0, result.output
    from openpyxl import load_workbook

    workbook = load_workbook(output, read_only=True)
    names = [row[3] for row in workbook.active.iter_rows(min_row=2, values_only=True)]
    workbook.close()
    assert "Ольга" in names
    missing = runner.invoke(args=["signatures", "export", "--campaign", "nope"])
    assert missing.exit_code == 1 and "no campaign 'nope'" in missing.output


def test_moderation_edit_and_reject_are_audited(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [{"name": "Amnia", "email": "a@example.org"}], status="confirmed")
    login(client, "owner@example.org")
    with app.app_context():
        signature_id = db.session.scalar(select(Signature.id))
    url = f"/admin/campaigns/let-us-in/signatures/{signature_id}"
    client.post(
        url, data={"csrf_token": csrf_token(client, url), "name": "Amina", "organization": ""}
    )
    token = csrf_token(client, "/admin/campaigns/let-us-in/signatures")
    empty = client.post("/admin/campaigns/let-us-in/signatures/decide",
                        data={"csrf_token": token, "ids": [str(signature_id)], "action": "reject"})  # fmt: skip
    assert "Give a reason" in client.get(empty.headers["Location"]).get_data(as_text=True)
    client.post("/admin/campaigns/let-us-in/signatures/decide",
                data={"csrf_token": token, "ids": [str(signature_id)], "action": "reject",
                      "reason": "Duplicate of an organization"})  # fmt: skip
    with app.app_context():
        signature = db.session.get(Signature, signature_id)
        assert (signature.name, signature.status) == ("Amina", "rejected")
        events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
        assert events["signatures.edit"].details["before"]["name"] == "Amnia"
        assert events["signatures.reject"].details["reason"] == "Duplicate of an organization"


def test_fraud_tools_show_patterns_and_preview_before_invalidating(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [{"name": f"Bot {i}", "email": f"bot{i}@spam.example", "ip": "203.0.113.9"}
                         for i in range(6)] +
                        [{"name": "Real", "email": "real@example.org", "ip": "198.51.100.1"}],
                   status="confirmed")  # fmt: skip
    login(client, "owner@example.org")
    page = client.get("/admin/campaigns/let-us-in/fraud").get_data(as_text=True)
    assert "203.0.113.9" in page and "spam.example" in page
    token = csrf_token(client, "/admin/campaigns/let-us-in/fraud")
    preview = client.post("/admin/campaigns/let-us-in/fraud",
                          data={"csrf_token": token, "domain": "spam.example"})  # fmt: skip
    assert "This would invalidate 6 signatures." in preview.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Signature).where(Signature.status == "rejected")) is None
    client.post("/admin/campaigns/let-us-in/fraud",
                data={"csrf_token": token, "domain": "spam.example", "confirm": "1"})  # fmt: skip
    with app.app_context():
        statuses = {s.name: s.status for s in db.session.scalars(select(Signature))}
        assert statuses["Real"] == "confirmed"
        assert {v for k, v in statuses.items() if k.startswith("Bot")} == {"rejected"}


def test_final_letter_groups_organizations_by_country_then_individuals(app):
    make_campaign(app)
    add_signatures(app, [
        {"name": "x", "email": "1@e.org", "kind": "organization", "organization": "Zebra Net", "country": "KE"},
        {"name": "x", "email": "2@e.org", "kind": "organization", "organization": "Ärzte Digital", "country": "DE"},
        {"name": "x", "email": "3@e.org", "kind": "organization", "organization": "Access Kenya", "country": "KE"},
        {"name": "Émile Zola", "email": "4@e.org", "organization": "Univ. Paris", "country": "FR"},
        {"name": "Anna Berg", "email": "5@e.org"},
        {"name": "Pending Person", "email": "6@e.org", "status": "pending"},
    ])  # fmt: skip
    with app.app_context():
        listing = signatory_list(db.session, get_campaign(db.session, "let-us-in"))
    assert [g.country for g in listing.groups] == ["Germany", "Kenya"]
    assert [s.name for s in listing.groups[1].organizations] == ["Access Kenya", "Zebra Net"]
    assert [s.name for s in listing.individuals] == ["Anna Berg", "Émile Zola"]
    assert listing.individuals[1].detail == "Univ. Paris, France"
    assert listing.total == 5


def test_final_letter_pdf_prints_names_in_every_script(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    names = [
        "Ольга Петрова",
        "Ngũgĩ wa Thiong'o",
        "Zoë Ångström",
        "عبد الله الشريف",
        "王小明",
        "अनीता देसाई",
    ]
    add_signatures(app, [{"name": n, "email": f"{i}@e.org"} for i, n in enumerate(names)])
    login(client, "owner@example.org")
    response = client.get("/admin/campaigns/let-us-in/letter.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(response.data)).pages)
    for name in names:
        assert name in text
    assert "6 signatories" in text


def test_a_long_final_letter_is_built_in_the_background_and_kept(app, client, monkeypatch,
                                                                  tmp_path):  # fmt: skip
    from toolkit.campaigns import documents
    from toolkit.jobs import wait_for_jobs

    monkeypatch.setattr(documents, "SYNC_LIMIT", 1)
    app.config["JOBS_DIR"] = str(tmp_path / "jobs")
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [{"name": f"Signer {i}", "email": f"{i}@e.org"} for i in range(3)])
    login(client, "owner@example.org")
    waiting = client.get("/admin/campaigns/let-us-in/letter.pdf")
    page = waiting.get_data(as_text=True)
    assert waiting.status_code == 202
    assert "3 signatories" in page and "<progress" in page and 'http-equiv="refresh"' in page
    # Asking again while it is built starts no second build.
    assert client.get("/admin/campaigns/let-us-in/letter.pdf").status_code in (200, 202)
    assert len(list((tmp_path / "jobs").glob("*.json"))) == 1
    assert wait_for_jobs(60)
    ready = client.get("/admin/campaigns/let-us-in/letter.pdf")
    assert ready.status_code == 200 and ready.mimetype == "application/pdf"
    kept = list(Path(app.config["DOCUMENTS_DIR"]).glob("let-us-in-*.pdf"))
    assert len(kept) == 1
    # A new approved signature changes the list, so the kept file is not served for it.
    add_signatures(app, [{"name": "Late Signer", "email": "late@e.org"}])
    assert client.get("/admin/campaigns/let-us-in/letter.pdf").status_code == 202
    assert wait_for_jobs(60)


def test_export_filters_by_kind_and_country(app, client):
    owner = make_user(app, "owner@example.org")
    make_campaign(app, organizer_id=owner)
    add_signatures(app, [
        {"name": "Org KE", "email": "1@e.org", "kind": "organization", "organization": "A", "country": "KE"},
        {"name": "Org SN", "email": "2@e.org", "kind": "organization", "organization": "B", "country": "SN"},
        {"name": "Person KE", "email": "3@e.org", "country": "KE"},
    ])  # fmt: skip
    login(client, "owner@example.org")
    page = client.get("/admin/campaigns/let-us-in").get_data(as_text=True)
    assert 'name="kind"' in page and 'name="country"' in page
    rows = json.loads(client.get("/admin/campaigns/let-us-in/export",
                                 query_string={"format": "json", "kind": "organization",
                                               "country": "ke"}).data)  # fmt: skip
    assert [row["name"] for row in rows] == ["Org KE"]


def test_campaign_list_shows_organizers_their_own_and_admins_all(app, client):
    owner = make_user(app, "owner@example.org")
    make_user(app, "other@example.org")
    make_user(app, "admin@example.org", "admin")
    make_campaign(app, organizer_id=owner)
    login(client, "other@example.org")
    assert "Let civil society in" not in client.get("/admin/campaigns/").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    login(client, "admin@example.org")
    assert "Let civil society in" in client.get("/admin/campaigns/").get_data(as_text=True)
