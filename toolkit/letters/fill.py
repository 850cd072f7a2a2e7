"""Fill letter templates in a sandbox: they are data people edit, never trusted code."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import nh3
from jinja2 import FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

BLOCKS = ("subject", "salutation", "body", "closing")
# What a letter body may contain; anything else a template writes is dropped.
BODY_TAGS = {"p", "ul", "ol", "li", "strong", "em", "br", "blockquote"}


class LetterFillError(Exception):
    """A template failed to render; ``location`` is "file:line" when it is known."""

    def __init__(self, message: str, location: str = "") -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.message = message
        self.location = location


@dataclass(frozen=True)
class FilledLetter:
    """The four parts a template writes; the layout adds letterhead, addresses and signature."""

    subject: str
    salutation: str
    body: Markup
    closing: str


def make_environment(directory: Path) -> SandboxedEnvironment:
    """A sandbox with autoescape and strict undefined, and no app globals at all."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(directory)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
    )


def fill(env: SandboxedEnvironment, name: str, context: Mapping[str, object]) -> FilledLetter:
    """Render each block of one template file; raise LetterFillError with file and line."""
    try:
        template = env.get_template(name)
        missing = [block for block in BLOCKS if block not in template.blocks]
        if missing:
            raise LetterFillError(f"missing block(s): {', '.join(missing)}", name)
        parts = {}
        for block in BLOCKS:
            rendered = "".join(template.blocks[block](template.new_context(dict(context))))
            parts[block] = rendered.strip()
    except LetterFillError:
        raise
    except TemplateError as exc:
        raise LetterFillError(exc.message or str(exc), _location(exc, name)) from exc
    except Exception as exc:  # noqa: BLE001 - a template may fail in any way; report, not crash
        raise LetterFillError(f"{type(exc).__name__}: {exc}", _location(exc, name)) from exc
    return FilledLetter(
        subject=_plain(parts["subject"]),
        salutation=_plain(parts["salutation"]),
        body=Markup(nh3.clean(parts["body"], tags=BODY_TAGS, attributes={})),
        closing=_plain(parts["closing"]),
    )


def _plain(html: str) -> str:
    """A one-line part as plain text: no tags, entities decoded, spaces folded."""
    return " ".join(Markup(html).striptags().split())


def _location(exc: BaseException, name: str) -> str:
    """file:line of the template frame where the error happened, as Jinja rewrites tracebacks."""
    lineno = getattr(exc, "lineno", None)
    filename = getattr(exc, "filename", None) or getattr(exc, "name", None)
    if lineno:
        return f"{filename or name}:{lineno}"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename.endswith(name):
            return f"{frame.filename}:{frame.lineno}"
    return name
