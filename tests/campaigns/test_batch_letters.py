"""A sign-on letter as one letter per government: service, command line and organizer pages."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from io import BytesIO
from pathlib import Path

import docx
import pytest
from pypdf import PdfReader

from tests.campaigns.helpers import make_campaign
from tests.conftest import csrf_token, login, make_user
from toolkit.campaigns import letters as campaign_letters_module
from toolkit.campaigns.letters import campaign_letters
from toolkit.campaigns.models import Campaign, Signature
from toolkit.contacts.models import ContactPoint
from toolkit.db import utcnow
from toolkit.documents.pdf import render_many
from toolkit.extensions import db
from toolkit.jobs import wait_for_jobs
from toolkit.letters.batch import BatchError, select_countries, write_zip

ADDRESSEES = {"KE": "Eng. Wanjiru Kamau", "SN": "Mme Awa Ndiaye"}


def setup_campaign(app, tmp_path: Path) -> int:
    """A closed sign-on letter with three approved signatories and two contact points."""
    app.config["JOBS_DIR"] = str(tmp_path / "jobs")
    organizer = make_user(app, "org@example.org")
    make_user(app, "other@example.org")
    campaign_id = make_campaign(app, "open-the-itu", organizer_id=organizer)
    with app.app_context():
        db.session.add_all(
            Signature(campaign_id=campaign_id, kind="organization", name=f"Person {i}",
                      organization=f"Network {i}", email=f"s{i}@example.org",
                      email_normalized=f"s{i}@example.org", country=code, status="approved",
                      confirmed_at=utcnow(), approved_at=utcnow())
            for i, code in enumerate(["KE", "SN", "BR"])
        )  # fmt: skip
        for code, name in ADDRESSEES.items():
            db.session.add(ContactPoint(country=code, role="ministry", organization=f"Ministry {code}",
                                        addressee_name=name, address=f"1 Main Street\nCapital {code}",
                                        email=f"itu@gov-{code.lower()}.example",
                                        source="https://example.org/source", status="verified"))  # fmt: skip
        db.session.get(Campaign, campaign_id).state = "closed"
        db.session.commit()
    return campaign_id


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages)


def test_each_country_gets_the_letter_with_its_own_addressee(app, tmp_path, monkeypatch):
    campaign_id = setup_campaign(app, tmp_path)
    calls = []
    real = campaign_letters_module.signatory_list
    monkeypatch.setattr(campaign_letters_module, "signatory_list",
                        lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))  # fmt: skip
    with app.app_context():
        campaign = db.session.get(Campaign, campaign_id)
        states = select_countries(db.session, "signatories", ["KE", "SN", "BR"])
        letters = campaign_letters(db.session, campaign, states, "en")
        pdfs = render_many([(letter.code, letter.html) for letter in letters], timeout=60)
    assert len(calls) == 1  # the signatory list is built once for the whole batch
    buffer = BytesIO()
    report = write_zip(letters, pdfs, buffer)
    assert report.made == ("BR", "KE", "SN")
    with zipfile.ZipFile(buffer) as archive:
        for code, name in ADDRESSEES.items():
            text = pdf_text(archive.read(f"{code}-open-the-itu.pdf"))
            assert name in text and f"Capital {code}" in text and "Network 2" in text
            assert not any(other in text for c, other in ADDRESSEES.items() if c != code)
            document = docx.Document(BytesIO(archive.read(f"{code}-open-the-itu.docx")))
            assert name in "\n".join(p.text for p in document.paragraphs)
        brazil = pdf_text(archive.read("BR-open-the-itu.pdf"))
        assert "Federative Republic of Brazil" in brazil  # no contact point: the generic address
        rows = {r["country_code"]: r for r in csv.DictReader(
            io.StringIO(archive.read("index.csv").decode("utf-8-sig")))}  # fmt: skip
    assert rows["BR"]["email"] == "" and rows["KE"]["email_verified"] == "yes"


def test_a_petition_is_refused(app):
    campaign_id = make_campaign(app, "petition", kind="petition")
    with app.app_context(), pytest.raises(BatchError, match="sign-on letters"):
        campaign = db.session.get(Campaign, campaign_id)
        campaign_letters(db.session, campaign, select_countries(db.session, "KE"), "en")


def test_cli_campaign_letters(app, runner, tmp_path):
    setup_campaign(app, tmp_path)
    output = tmp_path / "letters.zip"
    result = runner.invoke(args=["campaigns", "letters", "--campaign", "open-the-itu",
                                 "--countries", "signatories", "--output", str(output)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "3 approved signatories included" in result.output
    assert f"wrote {output}: 3 letters, 0 failed" in result.output
    with zipfile.ZipFile(output) as archive:
        assert len(archive.namelist()) == 7
        assert "Mme Awa Ndiaye" in pdf_text(archive.read("SN-open-the-itu.pdf"))

    bad = runner.invoke(args=["campaigns", "letters", "--campaign", "open-the-itu",
                              "--countries", "Atlantis", "--output", str(output)])  # fmt: skip
    assert bad.exit_code != 0 and "Unknown region 'Atlantis'" in bad.output
    missing = runner.invoke(args=["campaigns", "letters", "--campaign", "nope",
                                  "--countries", "all", "--output", str(output)])  # fmt: skip
    assert missing.exit_code != 0 and "no campaign 'nope'" in missing.output


JOB_RE = re.compile(r"/admin/campaigns/open-the-itu/letters/([A-Za-z0-9_-]+)$")


def test_organizer_builds_the_letters_in_the_background(app, client, tmp_path):
    setup_campaign(app, tmp_path)
    login(client, "org@example.org")
    show = Path(app.root_path, "templates/campaigns/admin/show.html").read_text()
    assert "url_for('campaigns.admin.letters', slug=campaign.slug)" in show
    page = client.get("/admin/campaigns/open-the-itu/letters").get_data(as_text=True)
    assert "3 approved signatories" in page and "Western Africa" in page

    token = csrf_token(client, "/admin/campaigns/open-the-itu/letters")
    refused = client.post("/admin/campaigns/open-the-itu/letters",
                          data={"countries": "codes", "codes": "KE, ZZ", "language": "en",
                                "csrf_token": token})  # fmt: skip
    assert refused.status_code == 422
    assert "Unknown country code(s): ZZ." in refused.get_data(as_text=True)

    response = client.post("/admin/campaigns/open-the-itu/letters",
                           data={"countries": "codes", "codes": "KE, SN", "language": "en",
                                 "csrf_token": token})  # fmt: skip
    assert response.status_code == 302
    job_url = response.headers["Location"]
    job_id = JOB_RE.search(job_url).group(1)
    assert wait_for_jobs(120)
    page = client.get(job_url).get_data(as_text=True)
    assert "2 letters are ready." in page and 'http-equiv="refresh"' not in page
    with client.get(f"{job_url}/download") as download:
        assert download.status_code == 200 and download.mimetype == "application/zip"
        assert "no-store" in download.headers["Cache-Control"]
        data = download.data
    with zipfile.ZipFile(BytesIO(data)) as archive:
        assert sorted(archive.namelist()) == ["KE-open-the-itu.docx", "KE-open-the-itu.pdf",
                                              "SN-open-the-itu.docx", "SN-open-the-itu.pdf",
                                              "index.csv"]  # fmt: skip
        assert "Eng. Wanjiru Kamau" in pdf_text(archive.read("KE-open-the-itu.pdf"))

    from toolkit.accounts.models import AuditEvent

    with app.app_context():
        actions = {event.action for event in db.session.query(AuditEvent)}
    assert {"campaigns.letters", "campaigns.letters_download"} <= actions

    other = app.test_client()
    login(other, "other@example.org")
    assert other.get(job_url).status_code == 403
    assert other.get(f"{job_url}/download").status_code == 403
    anonymous = app.test_client().get(f"{job_url}/download")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    assert client.get(f"/admin/campaigns/open-the-itu/letters/{'x' * 22}").status_code == 404
    assert job_id


def test_organizer_batch_of_a_template(app, client, tmp_path):
    setup_campaign(app, tmp_path)
    login(client, "org@example.org")
    assert "delegation-request" in client.get("/letters/batch").get_data(as_text=True)
    url = "/letters/batch?template=delegation-request"
    data = {"countries": "codes", "codes": "SN", "event": "wcit-12", "language": "en",
            "date": "2012-11-20", "name": "Kenya ICT Action Network", "contact_name": "Grace",
            "email": "grace@example.org", "country": "KE", "representative_name": "Grace",
            "csrf_token": csrf_token(client, url)}  # fmt: skip
    response = client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    job_url = response.headers["Location"]
    assert wait_for_jobs(120)
    assert "1 letter is ready." in client.get(job_url).get_data(as_text=True)
    with client.get(f"{job_url}/download") as download:
        data = download.data
    with zipfile.ZipFile(BytesIO(data)) as archive:
        text = pdf_text(archive.read("SN-delegation-request.pdf"))
    assert "Mme Awa Ndiaye" in text and "Kenya ICT Action Network" in text

    other = app.test_client()
    login(other, "other@example.org")
    assert other.get(job_url).status_code == 404  # another organizer's batch is not theirs
    assert app.test_client().get("/letters/batch").status_code == 302
