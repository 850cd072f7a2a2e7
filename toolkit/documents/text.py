"""A letter as plain text: for e-mail bodies, copying, and mailto: links."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

from toolkit.letters.compose import Letter


class _BlockText(HTMLParser):
    """Turns the small HTML a letter body may hold into paragraphs and bullet items."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._current: list[str] = []
        self._prefix = ""
        self._ordered: list[int | None] = []

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(self._prefix + text)
        self._current, self._prefix = [], ""

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("p", "blockquote"):
            self._flush()
        elif tag in ("ul", "ol"):
            self._flush()
            self._ordered.append(0 if tag == "ol" else None)
        elif tag == "li":
            self._flush()
            counter = self._ordered[-1] if self._ordered else None
            if counter is None:
                self._prefix = "- "
            else:
                self._ordered[-1] = counter + 1
                self._prefix = f"{counter + 1}. "
        elif tag == "br":
            self._current.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("p", "li", "blockquote"):
            self._flush()
        elif tag in ("ul", "ol"):
            self._flush()
            if self._ordered:
                self._ordered.pop()

    def handle_data(self, data: str) -> None:
        self._current.append(data)

    def close(self) -> None:
        super().close()
        self._flush()


def body_paragraphs(body_html: str) -> list[str]:
    """The body of a letter as a list of paragraphs and "- " list items."""
    parser = _BlockText()
    parser.feed(body_html)
    parser.close()
    return [unescape(block) for block in parser.blocks]


def letter_text(letter: Letter) -> str:
    """The whole letter as plain text, in the same order as the PDF."""
    sender = letter.sender
    contact = " · ".join(part for part in (sender.email, sender.phone, sender.website) if part)
    sections = [
        "\n".join(line for line in (sender.name, *sender.address, contact) if line),
        letter.date_text,
        "\n".join(letter.recipient.address_lines),
        letter.filled.subject,
        letter.filled.salutation,
        *body_paragraphs(letter.filled.body),
        letter.filled.closing,
        "\n".join(line for line in (sender.contact_name, sender.contact_role, sender.name) if line),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
