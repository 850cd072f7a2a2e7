"""Letter templates as data: the shipped ones are valid; broken ones are hidden and explained."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from toolkit.config import PROJECT_ROOT
from toolkit.letters.catalog import get_catalog, load_catalog

SHIPPED = PROJECT_ROOT / "letter_templates"


def test_shipped_templates_are_valid():
    catalog = load_catalog(SHIPPED)
    assert catalog.problems == []
    assert {"delegation-request", "consultation-request", "participation-letter"} <= set(
        catalog.templates
    )
    for template in catalog.templates.values():
        assert "en" in template.languages
        assert template.title and template.purpose
    assert catalog.get("participation-letter").recipient == "itu"
    assert catalog.get("delegation-request").recipient == "government"


@pytest.fixture
def broken_dir(tmp_path: Path) -> Path:
    """A copy of the shipped templates to break."""
    target = tmp_path / "letter_templates"
    shutil.copytree(SHIPPED, target)
    return target


def test_toml_error_is_reported_with_line_and_template_hidden(broken_dir: Path):
    meta = broken_dir / "delegation-request" / "template.toml"
    meta.write_text(meta.read_text() + "\nthis is = = not toml\n")
    catalog = load_catalog(broken_dir)
    assert "delegation-request" not in catalog.templates
    assert "consultation-request" in catalog.templates
    (problem,) = catalog.problems
    assert problem.location.endswith("delegation-request/template.toml")
    assert "line" in problem.message


def test_jinja_syntax_error_names_file_and_line(broken_dir: Path):
    body = broken_dir / "consultation-request" / "en.html"
    lines = body.read_text().splitlines()
    lines.insert(2, "{% if %}")
    body.write_text("\n".join(lines))
    catalog = load_catalog(broken_dir)
    assert "consultation-request" not in catalog.templates
    (problem,) = catalog.problems
    assert problem.location.endswith("consultation-request/en.html:3")


def test_undefined_variable_names_file_and_line(broken_dir: Path):
    body = broken_dir / "consultation-request" / "en.html"
    text = body.read_text().replace(
        "block closing %}", "block closing %}{{ sender.no_such_thing }}", 1
    )
    body.write_text(text)
    catalog = load_catalog(broken_dir)
    (problem,) = catalog.problems
    assert "no_such_thing" in problem.message
    assert ":" in problem.location.rsplit("/", 1)[-1]  # file:line


@pytest.mark.parametrize(
    "change, expected",
    [
        ('recipient = "nobody"', "'recipient' must be one of"),
        ('title = ""', "'title' must be a non-empty text"),
    ],
)
def test_bad_metadata_values(broken_dir: Path, change: str, expected: str):
    meta = broken_dir / "delegation-request" / "template.toml"
    key = change.split(" ")[0]
    lines = [line for line in meta.read_text().splitlines() if not line.startswith(f"{key} ")]
    meta.write_text(change + "\n" + "\n".join(lines) + "\n")
    catalog = load_catalog(broken_dir)
    assert any(expected in problem.message for problem in catalog.problems)
    assert "delegation-request" not in catalog.templates


def test_template_without_body_is_hidden(broken_dir: Path):
    for body in (broken_dir / "participation-letter").glob("*.html"):
        body.unlink()
    catalog = load_catalog(broken_dir)
    assert "participation-letter" not in catalog.templates
    assert "no body" in catalog.problems[0].message


def test_catalog_reloads_when_a_file_changes(broken_dir: Path):
    assert "delegation-request" in get_catalog(broken_dir).templates
    meta = broken_dir / "delegation-request" / "template.toml"
    meta.write_text("broken = [")
    assert "delegation-request" not in get_catalog(broken_dir).templates


def test_templates_check_command(runner, app, broken_dir: Path):
    result = runner.invoke(args=["templates", "check"])
    assert result.exit_code == 0, result.output
    assert "ok      delegation-request (en" in result.output

    (broken_dir / "delegation-request" / "template.toml").write_text("title = 3\n")
    app.config["LETTER_TEMPLATES_DIR"] = str(broken_dir)
    result = runner.invoke(args=["templates", "check"])
    assert result.exit_code == 1
    assert "delegation-request/template.toml" in result.output
    assert "Traceback" not in result.output
