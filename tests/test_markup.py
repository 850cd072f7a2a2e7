"""Organizers' Markdown becomes safe HTML: no raw HTML, no scripts, no event handlers."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markupsafe import Markup

from toolkit.markup import ALLOWED_TAGS, render_markdown


class _Elements(HTMLParser):
    """Every element and attribute in a fragment, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.found


def assert_safe(html: str) -> None:
    """Only allowed tags; no event handlers or styles; links only to http(s) and mailto."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith("on") and name not in ("style", "src"), (name, html)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:")), html


def test_markdown_renders_the_allowed_elements():
    html = render_markdown(
        "## Why\n\n- **one**\n- *two*\n\n1. first\n\n> quoted\n\n`code`\n\n"
        "[ISOC](https://www.internetsociety.org) and <https://example.org>\n\n---\n"
    )
    assert isinstance(html, Markup)
    for fragment in ("<h2>Why</h2>", "<li><strong>one</strong></li>", "<em>two</em>", "<ol>",
                     "<blockquote>", "<code>code</code>", "<hr>"):  # fmt: skip
        assert fragment in html, fragment
    assert '<a href="https://www.internetsociety.org" rel="nofollow noopener">ISOC</a>' in html
    assert_safe(html)


def test_empty_text_is_empty_markup():
    assert render_markdown("") == Markup("")


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="https://x.org" onclick="alert(1)">x</a>',
        "<iframe src=https://evil.example></iframe>",
        "<svg onload=alert(1)>",
        '<p style="color:red">styled</p>',
        "<details open ontoggle=alert(1)>",
    ],
)
def test_raw_html_is_shown_as_text(text):
    html = render_markdown(text)
    assert_safe(html)
    assert [tag for tag, _ in elements(html)] == ["p"]
    assert "&lt;" in html  # what was typed is kept, escaped, so readers see it as text


@pytest.mark.parametrize(
    "link",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java\tscript:alert(1))",
        "[x](&#106;avascript:alert(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](vbscript:msgbox(1))",
        "[x](file:///etc/passwd)",
        "![x](javascript:alert(1))",
        "![x](https://tracker.example/pixel.png)",
        '[x](https://example.org "title" onmouseover=alert(1))',
        "<javascript:alert(1)>",
        "[x]: javascript:alert(1)\n\n[x]",
    ],
)
def test_links_keep_only_safe_schemes(link):
    html = render_markdown(link)
    assert_safe(html)
    assert "<img" not in html


def test_mailto_and_http_links_are_kept():
    html = render_markdown("[write](mailto:a@example.org) [site](http://example.org)")
    assert 'href="mailto:a@example.org"' in html and 'href="http://example.org"' in html


def test_headings_outside_the_allowed_levels_lose_their_tag_but_keep_their_text():
    html = render_markdown("# Big\n\n##### small")
    assert "<h1>" not in html and "<h5>" not in html
    assert "Big" in html and "small" in html
