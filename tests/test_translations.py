"""The interface's catalogs: every string the code and templates use, translated in five languages.

The strings are extracted afresh from the sources (as `make messages` does), so a string added
to a template without a translation fails here, as does an untranslated or fuzzy entry, or a
translation that drops or invents a placeholder.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from toolkit.i18n import SUPPORTED_LOCALES

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "toolkit" / "translations"
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None,
    "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2),
}  # fmt: skip
PLACEHOLDER = re.compile(r"%\(\w+\)[sdif]|%[sdif]")
LANGUAGES = [code for code in SUPPORTED_LOCALES if code != "en"]


@pytest.fixture(scope="module")
def source_messages() -> set[str]:
    """Every msgid the code and templates use today."""
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found: set[str] = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def load(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=language)


def test_sources_have_strings_to_translate(source_messages: set[str]) -> None:
    # Guards the extraction itself: a broken babel.cfg would make every other test pass.
    assert len(source_messages) > 500
    assert "Skip to content" in source_messages


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str, source_messages: set[str]) -> None:
    catalog = load(language)
    problems = []
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy:
            problems.append(f"fuzzy: {key!r}")
        elif not all(strings):
            problems.append(f"untranslated: {key!r}")
    translated = {m.id[0] if isinstance(m.id, tuple) else m.id for m in catalog if m.id}
    problems += [f"missing from the catalog: {m!r}" for m in sorted(source_messages - translated)]
    assert not problems, (
        f"{language}: {len(problems)} problems (run `make messages`, then translate):\n"
        + "\n".join(problems[:40])
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language: str) -> None:
    problems = []
    for message in load(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        allowed = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            found = set(PLACEHOLDER.findall(string))
            if found - allowed:
                problems.append(f"{ids[0]!r}: invents {sorted(found - allowed)}")
            if len(ids) == 1 and found != allowed:
                problems.append(f"{ids[0]!r}: placeholders {sorted(found)} != {sorted(allowed)}")
    assert not problems, "\n".join(problems[:40])


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_match_the_language(language: str) -> None:
    catalog = load(language)
    expected = {"fr": 3, "es": 3, "ru": 3, "ar": 6, "zh": 1}[language]
    assert catalog.num_plurals == expected
    for message in catalog:
        if isinstance(message.id, tuple):
            assert len(message.string) == expected, message.id
