"""Hostile values in any field or template reach no server and attach nothing to the PDF."""

from __future__ import annotations

import io
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.conftest import csrf_token
from tests.letters.helpers import SENDER, delegation_form
from toolkit.config import PROJECT_ROOT


class _Recorder(BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request it gets."""
    handler = type("Recorder", (_Recorder,), {"requests": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", handler.requests
    finally:
        httpd.shutdown()
        httpd.server_close()


def hostile_values(base: str) -> list[str]:
    return [
        '<img src="file:///etc/passwd">',
        f'<link rel="attachment" href="{base}/attach">',
        f'<link rel="stylesheet" href="{base}/style.css">',
        f'"><img src="{base}/img.png"><style>@import url({base}/imp.css);</style>',
        f"{base}/plain-url",
    ]


def assert_clean(pdf: bytes, requests: list[str]) -> None:
    reader = PdfReader(io.BytesIO(pdf))
    assert requests == []
    assert reader.attachments == {}
    assert "/EmbeddedFiles" not in reader.trailer["/Root"].get("/Names", {})
    assert "root:x:0:0" not in "".join(page.extract_text() for page in reader.pages)


def test_hostile_values_in_every_field(sqlite_app, server):
    base, requests = server
    client = sqlite_app.test_client()
    url = "/letters/delegation-request"
    for value in hostile_values(base):
        data = delegation_form()
        for name in (*SENDER, "representative_name", "representative_expertise", "own_words"):
            if name not in ("email", "country", "website", "phone"):
                data[name] = value[:200]
        data["website"] = base + "/site"
        response = client.post(url + "/pdf", data={**data, "csrf_token": csrf_token(client, url)})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        assert_clean(response.data, requests)


def test_hostile_template_reaches_nothing(sqlite_app, server, tmp_path: Path):
    base, requests = server
    folder = tmp_path / "letter_templates"
    shutil.copytree(PROJECT_ROOT / "letter_templates", folder)
    body = folder / "participation-letter" / "en.html"
    hostile = (
        f'<img src="file:///etc/passwd"><link rel="attachment" href="{base}/a">'
        f'<a rel="attachment" href="file:///etc/passwd">x</a><img src="{base}/i.png">'
        f'<object data="{base}/o"></object><style>@import url({base}/s.css);</style>'
    )
    body.write_text(body.read_text().replace("{% block body %}", "{% block body %}" + hostile, 1))
    sqlite_app.config["LETTER_TEMPLATES_DIR"] = str(folder)
    client = sqlite_app.test_client()
    url = "/letters/participation-letter"
    data = {**delegation_form(), "csrf_token": csrf_token(client, url)}
    response = client.post(url + "/pdf", data=data)
    assert response.status_code == 200
    assert_clean(response.data, requests)
