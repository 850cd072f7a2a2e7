"""`toolkit letters render`: the same code as the web, one-line errors, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from tests.letters.helpers import SENDER


@pytest.fixture
def org_file(tmp_path: Path) -> Path:
    path = tmp_path / "org.json"
    path.write_text(json.dumps(SENDER), encoding="utf-8")
    return path


def render(runner, *args: str):
    return runner.invoke(args=["letters", "render", *args])


def test_render_pdf(runner, org_file: Path, tmp_path: Path):
    output = tmp_path / "letter.pdf"
    result = render(
        runner,
        "--template", "delegation-request", "--country", "KE", "--org", str(org_file),
        "--field", "representative_name=Grace Wanjiru", "--date", "2012-11-20",
        "--output", str(output),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "delegation-request-KE-2012-11-20.pdf" in result.output
    text = "".join(page.extract_text() for page in PdfReader(output).pages)
    assert "Kenya ICT Action Network" in text and "Republic of Kenya" in text


@pytest.mark.parametrize("fmt, marker", [("html", "<!doctype html>"), ("txt", "Dear Minister")])
def test_render_html_and_text(runner, org_file: Path, tmp_path: Path, fmt: str, marker: str):
    output = tmp_path / f"letter.{fmt}"
    result = render(
        runner,
        "--template", "consultation-request", "--country", "sn", "--org", str(org_file),
        "--format", fmt, "--output", str(output),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    content = output.read_text(encoding="utf-8")
    assert marker in content and "Senegal" in content


def _error(result) -> str:
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_unknown_template(runner, org_file: Path, tmp_path: Path):
    result = render(runner, "--template", "nope", "--country", "KE", "--org", str(org_file),
                    "--output", str(tmp_path / "x.pdf"))  # fmt: skip
    assert "unknown template 'nope'" in _error(result)


def test_unknown_country(runner, org_file: Path, tmp_path: Path):
    result = render(runner, "--template", "delegation-request", "--country", "ZZ",
                    "--org", str(org_file), "--field", "representative_name=A",
                    "--output", str(tmp_path / "x.pdf"))  # fmt: skip
    assert "recipient_country" in _error(result)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (json.dumps({**SENDER, "colour": "red"}), "unknown key(s) colour"),
        (json.dumps({**SENDER, "email": "nobody"}), "email: An email address must have an @-sign."),
    ],
)
def test_bad_org_file(runner, tmp_path: Path, content: str, message: str):
    org = tmp_path / "org.json"
    org.write_text(content)
    result = render(runner, "--template", "participation-letter", "--org", str(org),
                    "--output", str(tmp_path / "x.pdf"))  # fmt: skip
    assert message in _error(result)


def test_missing_org_file(runner, tmp_path: Path):
    missing = str(tmp_path / "missing.json")
    result = render(runner, "--template", "participation-letter",
                    "--org", missing, "--output", str(tmp_path / "x.pdf"))  # fmt: skip
    assert "file not found" in _error(result)


def test_unwritable_output(runner, org_file: Path, tmp_path: Path):
    output = str(tmp_path / "no" / "such" / "dir.txt")
    result = render(runner, "--template", "participation-letter", "--org", str(org_file),
                    "--format", "txt", "--output", output)  # fmt: skip
    assert "cannot write" in _error(result)
