"""Letters as DOCX (python-docx): editable copies with the same content and order as the PDFs.

A DOCX mirrors the HTML layouts under ``templates/documents/``: letterhead, date, addressee,
subject, body, closing, signature, and for sign-on letters and petitions the signatories.
The body HTML (already sanitized) becomes real Word paragraphs, list paragraphs and bold or
italic runs; its markup is never pasted as text. Like the HTML layouts, nothing here needs
Flask, so a worker process can build a document too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from io import BytesIO
from typing import TYPE_CHECKING

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

from toolkit.letters.compose import Letter

if TYPE_CHECKING:
    from docx.document import Document as DocxDocument
    from docx.styles.style import ParagraphStyle
    from docx.text.paragraph import Paragraph

    from toolkit.campaigns.final_letter import FinalLetter, PetitionDelivery

MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

BODY_FONT = "DejaVu Serif"
HEADING_FONT = "DejaVu Sans"
# Arabic, Devanagari and other complex scripts: DejaVu Serif has no Arabic, DejaVu Sans has.
COMPLEX_FONT = "DejaVu Sans"
# A letter in Arabic is set in a formal Naskh face, as its PDF is; Chinese text in a CJK face
# (Word on Windows has Microsoft YaHei; LibreOffice substitutes its own CJK font).
ARABIC_FONT = "Amiri"
CJK_FONT = "Microsoft YaHei"
ACCENT = RGBColor(0x1D, 0x4E, 0x89)
GREY = RGBColor(0x44, 0x44, 0x44)

# The language tags Word expects (w:lang), for the six UN languages the letters come in.
LANGUAGE_TAGS = {
    "en": "en-GB",
    "fr": "fr-FR",
    "es": "es-ES",
    "ru": "ru-RU",
    "ar": "ar-SA",
    "zh": "zh-CN",
}
RIGHT_TO_LEFT = frozenset({"ar", "fa", "he", "ur"})
PAGE_SIZES = {"A4": (Mm(210), Mm(297)), "Letter": (Mm(215.9), Mm(279.4))}

FINAL_LETTER_LABELS = {
    "signatories": "Signatories",
    "organizations": "Organizations",
    "individuals": "Individuals",
    "affiliation_note": "Affiliations are given for identification only.",
}
PETITION_LABELS = {
    "signatures": "Signatures",
    "total": "{total} people signed this petition.",
    "paper": "Online signers confirmed from their own email address; {paper} signed on paper.",
    "by_country": "Signatures by country",
    "names": "Signers who agreed to be named",
    "names_note": "Others signed without their names being shown; they are counted above.",
}


def language_tag(language: str) -> str:
    """The tag Word uses for a letter's language: "en" -> "en-GB"; unknown codes pass through."""
    return LANGUAGE_TAGS.get(language, language)


# -- the document and its styles -------------------------------------------------------------


# The schema's order of the children of w:pPr and w:rPr (Word refuses a file that breaks it).
_PPR_ORDER = (
    "w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
    "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
    "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE",
    "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind",
    "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection",
    "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr",
    "w:sectPr", "w:pPrChange",
)  # fmt: skip
_RPR_ORDER = (
    "w:rStyle", "w:rFonts", "w:b", "w:bCs", "w:i", "w:iCs", "w:caps", "w:smallCaps", "w:strike",
    "w:dstrike", "w:outline", "w:shadow", "w:emboss", "w:imprint", "w:noProof", "w:snapToGrid",
    "w:vanish", "w:webHidden", "w:color", "w:spacing", "w:w", "w:kern", "w:position", "w:sz",
    "w:szCs", "w:highlight", "w:u", "w:effect", "w:bdr", "w:shd", "w:fitText", "w:vertAlign",
    "w:rtl", "w:cs", "w:em", "w:lang", "w:eastAsianLayout", "w:specVanish", "w:oMath",
)  # fmt: skip


def _child(parent, tag: str, order: tuple[str, ...]):  # noqa: ANN001, ANN202 - lxml elements
    """The child ``tag`` of ``parent``, added in its schema position if it is missing."""
    found = parent.find(qn(tag))
    if found is None:
        found = OxmlElement(tag)
        parent.insert_element_before(found, *order[order.index(tag) + 1 :])
    return found


def _set_fonts(element, font: str, complex_font: str = COMPLEX_FONT) -> None:  # noqa: ANN001
    """Name the fonts of a style or run (a w:rPr parent): one for Latin and Cyrillic text, one
    for complex scripts such as Arabic, one for Chinese; theme fonts are dropped."""
    fonts = _child(element.get_or_add_rPr(), "w:rFonts", _RPR_ORDER)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), font)
    fonts.set(qn("w:hAnsi"), font)
    fonts.set(qn("w:eastAsia"), CJK_FONT)
    fonts.set(qn("w:cs"), complex_font)


def _complex_script(
    owner,  # noqa: ANN001 - a style's or a run's element (anything with an rPr)
    *,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
) -> None:
    """Size, bold and italic for Arabic and other complex scripts, which Word reads apart."""
    if not (size or bold or italic):
        return
    r_pr = owner.get_or_add_rPr()
    if size:
        _child(r_pr, "w:szCs", _RPR_ORDER).set(qn("w:val"), str(round(size * 2)))
    if bold:
        _child(r_pr, "w:bCs", _RPR_ORDER)
    if italic:
        _child(r_pr, "w:iCs", _RPR_ORDER)


def _set_language(style: ParagraphStyle, language: str) -> None:
    """w:lang on a style, so spelling and hyphenation follow the letter's language."""
    lang = _child(style.element.get_or_add_rPr(), "w:lang", _RPR_ORDER)
    tag = language_tag(language)
    lang.set(qn("w:val"), tag)
    if language == "zh":
        lang.set(qn("w:eastAsia"), tag)
    if language in RIGHT_TO_LEFT:
        lang.set(qn("w:bidi"), tag)


def _set_right_to_left(style: ParagraphStyle) -> None:
    _child(style.element.get_or_add_pPr(), "w:bidi", _PPR_ORDER)


def _paragraph_style(
    document: DocxDocument,
    name: str,
    *,
    size: float | None = None,
    bold: bool = False,
    italic: bool = False,
    color: RGBColor | None = None,
    font: str | None = None,
    before: float = 0,
    after: float = 0,
    keep_with_next: bool = False,
) -> ParagraphStyle:
    """A named paragraph style, based on Normal, so that a word processor can restyle it."""
    style = document.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    if font:
        _set_fonts(style.element, font)
    if size:
        style.font.size = Pt(size)
    style.font.bold = bold or None
    style.font.italic = italic or None
    _complex_script(style.element, size=size, bold=bold, italic=italic)
    if color is not None:
        style.font.color.rgb = color
    style.paragraph_format.space_before = Pt(before)
    style.paragraph_format.space_after = Pt(after)
    if keep_with_next:
        style.paragraph_format.keep_with_next = True
    return style


def _bottom_border(style: ParagraphStyle) -> None:
    """A rule under the letterhead, as the PDF draws one."""
    borders = _child(style.element.get_or_add_pPr(), "w:pBdr", _PPR_ORDER)
    bottom = OxmlElement("w:bottom")
    for key, value in (
        ("w:val", "single"),
        ("w:sz", "12"),
        ("w:space", "6"),
        ("w:color", "1D4E89"),
    ):
        bottom.set(qn(key), value)
    borders.append(bottom)


def _page_number_footer(document: DocxDocument) -> None:
    """ "2 / 3" on continuation pages; the first page, like the PDF's, carries none."""
    section = document.sections[0]
    section.different_first_page_header_footer = True
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.style = document.styles["Footer"]
    for index, instruction in enumerate(("PAGE", "NUMPAGES")):
        if index:
            paragraph.add_run(" / ")
        field = OxmlElement("w:fldSimple")
        field.set(qn("w:instr"), instruction)
        run = OxmlElement("w:r")
        text = OxmlElement("w:t")
        text.text = "1"
        run.append(text)
        field.append(run)
        paragraph._p.append(field)
    document.styles["Footer"].font.size = Pt(8.5)
    _complex_script(document.styles["Footer"].element, size=8.5)


def _new_document(*, title: str, language: str, author: str, when: date, page_size: str = "A4"):
    """An empty document with our page, fonts, language, styles and properties."""
    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_SIZES.get(page_size, PAGE_SIZES["A4"])
    section.top_margin, section.bottom_margin = Mm(18), Mm(24)
    section.left_margin, section.right_margin = Mm(24), Mm(22)
    section.header_distance, section.footer_distance = Mm(10), Mm(10)

    styles = document.styles
    normal = styles["Normal"]
    complex_font = ARABIC_FONT if language == "ar" else COMPLEX_FONT
    _set_fonts(normal.element, BODY_FONT, complex_font)
    normal.font.size = Pt(10.5)
    _complex_script(normal.element, size=10.5)
    normal.paragraph_format.space_after = Pt(8)
    normal.paragraph_format.line_spacing = 1.15
    _set_language(normal, language)
    if language in RIGHT_TO_LEFT:
        _set_right_to_left(normal)
    for name, size in (("Heading 1", 14), ("Heading 2", 12), ("Heading 3", 11), ("Heading 4", 9.5)):
        heading = styles[name]
        _set_fonts(heading.element, HEADING_FONT, complex_font)
        heading.font.size = Pt(size)
        _complex_script(heading.element, size=size, bold=True)
        heading.font.color.rgb = ACCENT if name != "Heading 1" else RGBColor(0x11, 0x11, 0x11)
        heading.font.italic = False
        heading.paragraph_format.space_before = Pt(14 if name != "Heading 4" else 8)
        heading.paragraph_format.space_after = Pt(4)
    for name in (f"List {kind}{level}" for kind in ("Bullet", "Number", "Continue")
                 for level in ("", " 2", " 3")):  # fmt: skip
        styles[name].paragraph_format.space_after = Pt(4)
    styles["Quote"].paragraph_format.left_indent = Mm(10)

    _paragraph_style(document, "Sender Name", size=15, bold=True, color=ACCENT, font=HEADING_FONT)
    _paragraph_style(document, "Sender Description", size=9.5, italic=True, after=3)
    _paragraph_style(document, "Sender Details", size=8.5, font=HEADING_FONT, color=GREY)
    _bottom_border(_paragraph_style(document, "Sender Contact", size=8.5, font=HEADING_FONT,
                                    color=GREY, after=20))  # fmt: skip
    date_style = _paragraph_style(document, "Letter Date", after=14)
    date_style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT  # the end side, in RTL too
    _paragraph_style(document, "Recipient Address", keep_with_next=True)
    _paragraph_style(document, "Subject", bold=True, after=12, keep_with_next=True)
    _paragraph_style(document, "Salutation", after=8)
    _paragraph_style(document, "Closing", before=10, after=0, keep_with_next=True)
    _paragraph_style(document, "Signer Name", bold=True, keep_with_next=True)
    _paragraph_style(document, "Signer Details", keep_with_next=True)
    _paragraph_style(document, "Ask", size=11, bold=True, before=4, after=10)
    _paragraph_style(document, "Signatory", size=9.5, after=1.5)
    _paragraph_style(document, "Signatories Note", size=9, color=GREY, after=6)

    properties = document.core_properties
    moment = datetime(when.year, when.month, when.day, tzinfo=UTC)
    properties.title = title
    properties.language = language_tag(language)
    properties.author = author
    properties.last_modified_by = author
    properties.subject = ""
    properties.comments = "advocacy-toolkit"
    properties.keywords = ""
    properties.revision = 1
    properties.created = moment
    properties.modified = moment
    properties.last_printed = moment
    _page_number_footer(document)
    return document


def _to_bytes(document: DocxDocument) -> bytes:
    buffer = BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _add(document: DocxDocument, text: str, style: str) -> Paragraph:
    paragraph = document.add_paragraph(style=style)
    if text:
        paragraph.add_run(text)
    return paragraph


def _add_lines(document: DocxDocument, lines: Iterable[str], style: str, after: float) -> None:
    """One paragraph a line (addressee blocks, signature blocks), spaced after the last."""
    paragraphs = [_add(document, line, style) for line in lines if line]
    if paragraphs:
        paragraphs[-1].paragraph_format.space_after = Pt(after)
        paragraphs[-1].paragraph_format.keep_with_next = False


# -- HTML body to Word paragraphs ------------------------------------------------------------


@dataclass(frozen=True)
class _Piece:
    """Inline content of one paragraph: text with its formatting, or a line break."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str = ""
    line_break: bool = False


BLOCK_STYLES = {"p": "Normal", "h2": "Heading 2", "h3": "Heading 3", "h4": "Heading 4",
                "pre": "macro"}  # fmt: skip
LINK_SCHEMES = ("http://", "https://", "mailto:")


class _HtmlToDocx(HTMLParser):
    """Writes the small HTML of a letter body into a python-docx document, block by block."""

    def __init__(self, document: DocxDocument, paragraph_style: str = "Normal") -> None:
        super().__init__(convert_charrefs=True)
        self.document = document
        self.paragraph_style = paragraph_style
        self.pieces: list[_Piece] = []
        self.style: str | None = None  # the style of the paragraph being collected
        self.numbering: int | None = None  # the w:num of a numbered list item
        self.bold = 0
        self.italic = 0
        self.code = 0
        self.pre = 0
        self.quote = 0
        self.href: list[str] = []
        self.lists: list[dict] = []  # {"ordered": bool, "num": int | None, "items": int}

    # Blocks.
    def _flush(self) -> None:
        """Write the collected pieces as one paragraph, with HTML's whitespace folding."""
        pieces = self.pieces if self.pre else list(_fold(self.pieces))
        style, numbering = self.style, self.numbering
        self.pieces, self.style, self.numbering = [], None, None
        if not any(piece.text.strip() or piece.line_break for piece in pieces):
            return
        paragraph = self.document.add_paragraph(style=style or self._default_style())
        if numbering is not None:
            _number(paragraph, numbering)
        for piece in pieces:
            _write_piece(self.document, paragraph, piece)

    def _default_style(self) -> str:
        if self.lists:
            return _list_style("List Continue", len(self.lists))
        return "Quote" if self.quote else self.paragraph_style

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in BLOCK_STYLES or tag == "blockquote":
            in_fresh_item = tag == "p" and self.lists and self.style and not self.pieces
            if not in_fresh_item:  # <li><p>…</p></li>: the paragraph is the list item
                self._flush()
                if tag == "blockquote":
                    self.quote += 1
                elif tag == "p":
                    self.style = self._default_style()
                else:
                    self.style = BLOCK_STYLES[tag]
                    self.pre += tag == "pre"
        elif tag in ("ul", "ol"):
            self._flush()
            self.lists.append({"ordered": tag == "ol", "num": None})
        elif tag == "li":
            self._flush()
            if not self.lists:  # a stray <li>: treat it as a bullet
                self.lists.append({"ordered": False, "num": None})
            current = self.lists[-1]
            base = "List Number" if current["ordered"] else "List Bullet"
            self.style = _list_style(base, len(self.lists))
            if current["ordered"]:
                if current["num"] is None:
                    current["num"] = _restart_numbering(self.document, self.style)
                self.numbering = current["num"]
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "code":
            self.code += 1
        elif tag == "a":
            href = dict(attrs).get("href") or ""
            self.href.append(href if href.startswith(LINK_SCHEMES) else "")
        elif tag == "br":
            self.pieces.append(_Piece("", line_break=True))
        elif tag == "hr":
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in BLOCK_STYLES or tag == "li":
            self._flush()
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "blockquote":
            self._flush()
            self.quote = max(0, self.quote - 1)
        elif tag in ("ul", "ol"):
            self._flush()
            if self.lists:
                self.lists.pop()
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)
        elif tag == "code":
            self.code = max(0, self.code - 1)
        elif tag == "a" and self.href:
            self.href.pop()

    def handle_data(self, data: str) -> None:
        if not self.pieces and self.style is None and not data.strip():
            return  # the whitespace between blocks
        self.pieces.append(
            _Piece(
                data,
                bold=self.bold > 0,
                italic=self.italic > 0,
                code=self.code > 0 or self.pre > 0,
                href=self.href[-1] if self.href else "",
            )
        )

    def close(self) -> None:
        super().close()
        self._flush()


def _fold(pieces: list[_Piece]) -> Iterator[_Piece]:
    """Collapse runs of whitespace across pieces, and trim the paragraph's ends and breaks."""
    folded: list[_Piece] = []
    space_pending = False
    for piece in pieces:
        if piece.line_break:
            folded.append(piece)
            space_pending = False
            continue
        text = piece.text
        words = text.split()
        leading = bool(text) and text[0].isspace()
        trailing = bool(text) and text[-1].isspace()
        if not words:
            space_pending = space_pending or leading
            continue
        after_text = bool(folded) and not folded[-1].line_break
        prefix = ""
        if after_text and space_pending:
            # A space stays with the text it followed: "ahead of " then a bold "WCIT-12".
            folded[-1] = replace(folded[-1], text=folded[-1].text + " ")
        elif after_text and leading:
            prefix = " "
        folded.append(replace(piece, text=prefix + " ".join(words)))
        space_pending = trailing
    while folded and folded[-1].line_break:
        folded.pop()
    yield from folded


def _write_piece(document: DocxDocument, paragraph: Paragraph, piece: _Piece) -> None:
    if piece.line_break:
        paragraph.add_run().add_break(WD_BREAK.LINE)
        return
    if piece.href:
        _hyperlink(document, paragraph, piece)
        return
    run = paragraph.add_run(piece.text)
    run.bold = piece.bold or None
    run.italic = piece.italic or None
    _complex_script(run._r, bold=piece.bold, italic=piece.italic)
    if piece.code:
        run.font.name = "DejaVu Sans Mono"


def _hyperlink(document: DocxDocument, paragraph: Paragraph, piece: _Piece) -> None:
    """A real, clickable link (python-docx has no call for adding one)."""
    relationship = document.part.relate_to(piece.href, RELATIONSHIP_TYPE.HYPERLINK, True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), relationship)
    paragraph._p.append(link)
    run = OxmlElement("w:r")
    link.append(run)
    from docx.text.run import Run  # noqa: PLC0415 - only links need the wrapper

    wrapped = Run(run, paragraph)
    wrapped.text = piece.text
    wrapped.bold = piece.bold or None
    wrapped.italic = piece.italic or None
    _complex_script(run, bold=piece.bold, italic=piece.italic)
    wrapped.font.underline = True
    wrapped.font.color.rgb = ACCENT


def _list_style(base: str, depth: int) -> str:
    """List Bullet, List Bullet 2, List Bullet 3: Word's built-in styles for nested lists."""
    depth = min(max(depth, 1), 3)
    return base if depth == 1 else f"{base} {depth}"


def _restart_numbering(document: DocxDocument, style_name: str) -> int:
    """A new w:num for one numbered list, so that every <ol> starts again at 1."""
    style = document.styles[style_name]
    num_id = style.element.pPr.numPr.numId.val
    numbering = document.part.numbering_part.element
    abstract_id = numbering.num_having_numId(num_id).abstractNumId.val
    num = numbering.add_num(abstract_id)
    num.add_lvlOverride(ilvl=0).add_startOverride(1)
    return num.numId


def _number(paragraph: Paragraph, num_id: int) -> None:
    num_pr = paragraph._p.get_or_add_pPr().get_or_add_numPr()
    num_pr.get_or_add_ilvl().val = 0
    num_pr.get_or_add_numId().val = num_id


def add_html(document: DocxDocument, html: str, paragraph_style: str = "Normal") -> None:
    """Append sanitized HTML (paragraphs, lists, headings, bold, italic, links) to a document."""
    parser = _HtmlToDocx(document, paragraph_style)
    parser.feed(str(html))
    parser.close()


# -- signatories -----------------------------------------------------------------------------


def _add_signatory(document: DocxDocument, name: str, detail: str = "") -> None:
    paragraph = document.add_paragraph(style="Signatory")
    paragraph.add_run(name)
    if detail:
        run = paragraph.add_run(f" ({detail})")
        run.font.size = Pt(8.5)
        _complex_script(run._r, size=8.5)
        run.font.color.rgb = GREY


def _label(labels: dict[str, str] | None, defaults: dict[str, str], key: str, **values) -> str:
    """A heading from ``labels`` (already translated and filled) or the English default."""
    if labels and key in labels:
        return labels[key]
    return defaults[key].format(**values)


# -- the documents ---------------------------------------------------------------------------


def letter_docx(letter: Letter, *, labels: dict[str, str] | None = None) -> bytes:
    """A composed letter as DOCX, in the order of templates/documents/_letter.html."""
    sender = letter.sender
    document = _new_document(
        title=letter.filled.subject,
        language=letter.language,
        author=sender.name,
        when=letter.letter_date,
        page_size=letter.page_size,
    )
    _add(document, sender.name, "Sender Name")
    if sender.description:
        _add(document, sender.description, "Sender Description")
    address = list(sender.address)
    if sender.country_name and sender.country_name not in sender.address:
        address.append(sender.country_name)
    for line in address:
        _add(document, line, "Sender Details")
    contact = " · ".join(part for part in (sender.email, sender.phone, sender.website) if part)
    _add(document, contact, "Sender Contact")

    _add(document, letter.date_text, "Letter Date")
    _add_lines(document, letter.recipient.address_lines, "Recipient Address", after=16)
    _add(document, letter.filled.subject, "Subject")
    _add(document, letter.filled.salutation, "Salutation")
    add_html(document, letter.filled.body)
    _add(document, letter.filled.closing, "Closing")

    signature = [
        (sender.contact_name, "Signer Name"),
        (sender.contact_role, "Signer Details"),
        (sender.name, "Signer Details"),
    ]
    lines = [_add(document, text, style) for text, style in signature if text]
    if lines:
        lines[0].paragraph_format.space_before = Pt(40)  # room to sign by hand
        lines[-1].paragraph_format.space_after = Pt(8)

    if letter.signatories:
        document.add_paragraph(
            _label(labels, {"signatories": "Signatories"}, "signatories"), style="Heading 2"
        )
        for signatory in letter.signatories:
            if isinstance(signatory, str):
                _add_signatory(document, signatory)
            else:
                _add_signatory(document, signatory.name, getattr(signatory, "detail", ""))
    return _to_bytes(document)


def _addressee_and_title(document: DocxDocument, addressee: str, title: str) -> None:
    _add_lines(document, addressee.splitlines(), "Recipient Address", after=16)
    document.add_paragraph(title, style="Heading 1")


def final_letter_docx(letter: FinalLetter, *, labels: dict[str, str] | None = None) -> bytes:
    """A sign-on letter with its signatories, as templates/documents/signon.html lays it out.

    ``labels`` are the translated headings final_letter_html takes; English by default.
    """
    document = _new_document(
        title=letter.title, language=letter.language, author="", when=letter.letter_date
    )
    _add(document, letter.date_text, "Letter Date")
    _addressee_and_title(document, letter.addressee, letter.title)
    add_html(document, letter.text_html)

    listing = letter.signatories
    document.add_paragraph(_label(labels, FINAL_LETTER_LABELS, "signatories"), "Heading 2")
    if labels and "total" in labels:
        total = labels["total"]
    else:
        total = "1 signatory" if listing.total == 1 else f"{listing.total:,} signatories"
    _add(document, total, "Signatories Note")
    if listing.groups:
        document.add_paragraph(_label(labels, FINAL_LETTER_LABELS, "organizations"), "Heading 3")
        for group in listing.groups:
            document.add_paragraph(group.country, style="Heading 4")
            for organization in group.organizations:
                _add_signatory(document, organization.name, organization.detail)
    if listing.individuals:
        document.add_paragraph(_label(labels, FINAL_LETTER_LABELS, "individuals"), "Heading 3")
        _add(document, _label(labels, FINAL_LETTER_LABELS, "affiliation_note"), "Signatories Note")
        for person in listing.individuals:
            _add_signatory(document, person.name, person.detail)
    return _to_bytes(document)


def petition_docx(delivery: PetitionDelivery, labels: dict[str, str] | None = None) -> bytes:
    """A petition to hand over, as templates/documents/petition.html lays it out."""
    document = _new_document(
        title=delivery.title, language=delivery.language, author="", when=date.today()
    )
    _add(document, delivery.date_text, "Letter Date")
    _addressee_and_title(document, delivery.addressee, delivery.title)
    if delivery.introduction_html:
        add_html(document, delivery.introduction_html, paragraph_style="Ask")
    add_html(document, delivery.text_html)

    signers = delivery.signers
    document.add_paragraph(_label(labels, PETITION_LABELS, "signatures"), style="Heading 2")
    total = _label(labels, PETITION_LABELS, "total", total=f"{signers.total:,}")
    if signers.paper:
        total += " " + _label(labels, PETITION_LABELS, "paper", paper=f"{signers.paper:,}")
    _add(document, total, "Signatories Note")
    if signers.by_country:
        document.add_paragraph(_label(labels, PETITION_LABELS, "by_country"), style="Heading 3")
        table = document.add_table(rows=0, cols=2)
        table.style = document.styles["Table Grid"]
        for row in signers.by_country:
            cells = table.add_row().cells
            cells[0].text = row.country
            cells[1].text = f"{row.count:,}"
            cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
            for cell in cells:
                cell.paragraphs[0].style = document.styles["Signatory"]
    if signers.names:
        document.add_paragraph(_label(labels, PETITION_LABELS, "names"), style="Heading 3")
        _add(document, _label(labels, PETITION_LABELS, "names_note"), "Signatories Note")
        for person in signers.names:
            _add_signatory(document, person.name, person.detail)
    return _to_bytes(document)
