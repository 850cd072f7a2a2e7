"""PDF rendering: real WeasyPrint, a real HTTP server as the bait, PDFs read back with pypdf."""

import io
import logging
import multiprocessing
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader

from toolkit.documents import pdf
from toolkit.documents.pdf import (
    STATIC_ROOT,
    PdfError,
    RefusedURL,
    RenderTimeout,
    SafeURLFetcher,
    render_pdf,
)

# A 2×2 red PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGM8ISfHwMDAxMDAwMDAAAANBAEIfXHK"
    "ZgAAAABJRU5ErkJggg=="
)


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


class Bait:
    """An HTTP server on 127.0.0.1 that answers everything and records every path asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                paths.append(self.path)
                body = b"root:x:0:0:bait\n"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def bait():
    server = Bait()
    server.thread.start()
    yield server
    server.close()


def test_renders_text():
    data = render_pdf(
        "<h1>Letter to Côte d’Ivoire</h1><p>Signed: Ngũgĩ wa Thiong’o, Genève</p>", timeout=60
    )

    assert data.startswith(b"%PDF-")
    text = text_of(data)
    for words in ("Letter to", "Côte d’Ivoire", "Ngũgĩ", "Genève"):
        assert words in text


def test_hostile_document_fetches_nothing(bait):
    url = bait.url
    html = f"""<!doctype html>
<html><head>
<link rel="stylesheet" href="{url}/x.css">
<link rel="stylesheet" href="file:///etc/passwd">
<link rel="attachment" href="{url}/a.txt">
<link rel="attachment" href="file:///etc/passwd">
<style>
  @import url({url}/i.css);
  @font-face {{ font-family: Bait; src: url({url}/f.woff); }}
  body {{ background: url({url}/bg.png); font-family: Bait, sans-serif; }}
  h1::before {{ content: url({url}/before.png); }}
</style>
</head><body>
<h1>Hostile letter</h1>
<img src="{url}/img.png"> <img src="file:///etc/passwd">
<a rel="attachment" href="{url}/b.txt">x</a>
<a rel="attachment" href="file:///etc/passwd">y</a>
<object data="{url}/o"></object> <embed src="{url}/e"> <iframe src="{url}/f"></iframe>
<svg width="10" height="10"><image href="{url}/svg.png" width="10" height="10"/></svg>
<video poster="{url}/poster.png"></video> <input type="image" src="{url}/input.png">
</body></html>"""

    data = render_pdf(html, timeout=60)

    assert bait.paths == []
    reader = PdfReader(io.BytesIO(data))
    assert reader.attachments == {}
    names = reader.trailer["/Root"].get("/Names")
    assert names is None or "/EmbeddedFiles" not in names.get_object()
    text = text_of(data)
    assert "Hostile letter" in text
    assert "root:" not in text
    # The bait does answer, so its silence above means something.
    with urllib.request.urlopen(f"{url}/control") as response:
        response.read()
    assert bait.paths == ["/control"]


def test_refusals_are_logged_at_info(caplog):
    caplog.set_level(logging.INFO)

    render_pdf('<p>Hi</p><img src="http://127.0.0.1:9/logo.png">', timeout=60)

    refusals = [r for r in caplog.records if "http://127.0.0.1:9/logo.png" in r.getMessage()]
    assert [r.levelno for r in refusals] == [logging.INFO]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_failed_color_profile_fetches_nothing(bait):
    html = f"<style>@color-profile --x {{ src: url({bait.url}/p.icc) }}</style><p>Hi</p>"

    try:
        render_pdf(html, timeout=60)
    except PdfError:
        pass  # WeasyPrint 70 lets a failed @color-profile fetch stop the whole render.
    assert bait.paths == []


def test_worker_failure_is_pdf_error(caplog):
    html = "<style>@color-profile --x { src: url(http://127.0.0.1:9/p.icc) }</style><p>Hi</p>"

    with pytest.raises(PdfError) as info:
        render_pdf(html, timeout=60)

    assert type(info.value) is PdfError
    assert "127.0.0.1" not in str(info.value)
    assert "PDF rendering failed" in caplog.text


def test_static_file_is_served():
    css = STATIC_ROOT / "css" / "letter.css"

    response = SafeURLFetcher().fetch(css.as_uri())

    assert response.read() == css.read_bytes()
    assert response.content_type == "text/css"


def test_static_file_reaches_the_pdf():
    # Relative URLs resolve against static/; an attachment shows exactly what was served.
    data = render_pdf('<link rel="attachment" href="css/letter.css"><p>Hi</p>', timeout=60)

    attachments = PdfReader(io.BytesIO(data)).attachments
    assert attachments["letter.css"] == [(STATIC_ROOT / "css" / "letter.css").read_bytes()]


@pytest.mark.parametrize(
    "url",
    [
        f"{STATIC_ROOT.as_uri()}/../__init__.py",
        f"{STATIC_ROOT.as_uri()}/css/%2e%2e/%2e%2e/__init__.py",
        f"file://localhost{STATIC_ROOT}/../__init__.py",
        f"file://example.org{STATIC_ROOT}/css/letter.css",
        STATIC_ROOT.as_uri(),
        f"{STATIC_ROOT.as_uri()}/missing.css",
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.png",
        "https://example.org/x.png",
        "ftp://example.org/x.png",
        "gopher://example.org/x",
        "javascript:alert(1)",
        "x-unknown:thing",
    ],
)
def test_refused(url):
    with pytest.raises(RefusedURL):
        SafeURLFetcher().fetch(url)


def test_refused_without_contact(bait):
    for url in (f"{bait.url}/direct", f"file://127.0.0.1:{bait.url.rsplit(':', 1)[1]}/etc/passwd"):
        with pytest.raises(RefusedURL):
            SafeURLFetcher().fetch(url)

    assert bait.paths == []


def test_symlinks_are_resolved(tmp_path, monkeypatch):
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "real.css").write_text("p { color: red }")
    (static / "css" / "alias.css").symlink_to(static / "css" / "real.css")
    (tmp_path / "secret.txt").write_text("secret")
    (static / "css" / "secret.css").symlink_to(tmp_path / "secret.txt")
    (static / "outside").symlink_to(tmp_path)
    monkeypatch.setattr(pdf, "STATIC_ROOT", static)
    fetcher = SafeURLFetcher()

    assert fetcher.fetch((static / "css" / "alias.css").as_uri()).read() == b"p { color: red }"
    for path in (static / "css" / "secret.css", static / "outside" / "secret.txt"):
        with pytest.raises(RefusedURL):
            fetcher.fetch(path.as_uri())


def test_data_url_image():
    response = SafeURLFetcher().fetch(f"data:image/png;base64,{PNG}")
    assert response.read()[:8] == b"\x89PNG\r\n\x1a\n"
    assert response.content_type == "image/png"

    data = render_pdf(f'<p>Flag</p><img src="data:image/png;base64,{PNG}">', timeout=60)

    assert len(PdfReader(io.BytesIO(data)).pages[0].images) == 1


def test_time_cap_kills_the_worker_and_recovers():
    render_pdf("<p>warm up</p>", timeout=60)
    workers = {process.pid for process in multiprocessing.active_children()}
    # Uncapped, this table takes some 20 s to lay out.
    rows = "".join(f"<tr><td>{i}</td><td>row</td></tr>" for i in range(10_000))

    start = time.monotonic()
    with pytest.raises(RenderTimeout, match="0.5 seconds"):
        render_pdf(f"<table>{rows}</table>", timeout=0.5)

    assert time.monotonic() - start < 5
    assert workers
    assert not workers & {process.pid for process in multiprocessing.active_children()}
    assert "again" in text_of(render_pdf("<p>again</p>", timeout=60))
