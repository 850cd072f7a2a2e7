"""Load and validate the letter templates in letter_templates/ (data people edit)."""

from __future__ import annotations

import logging
import re
import threading
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from jinja2.sandbox import SandboxedEnvironment

from toolkit.contacts.models import ContactRole
from toolkit.i18n import SUPPORTED_LOCALES
from toolkit.letters.context import SAMPLE_EVENT, SAMPLE_SENDER, context_for, sample_recipient
from toolkit.letters.fill import FilledLetter, LetterFillError, fill, make_environment

log = logging.getLogger(__name__)

METADATA_FILE = "template.toml"
LETTER_LANGUAGES = SUPPORTED_LOCALES  # a letter may be written in any of the six
RECIPIENT_KINDS = ("government", "itu")
SIGNED_BY = ("sender", "signatories")
WIDGETS = ("text", "textarea")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Names the standard letter form already uses; a template's own fields must not shadow them.
RESERVED_FIELDS = frozenset(
    {
        "name",
        "description",
        "website",
        "address",
        "contact_name",
        "contact_role",
        "email",
        "phone",
        "country",
        "recipient_country",
        "event",
        "language",
        "date",
        "own_words",
        "csrf_token",
        "submit",
    }
)


@dataclass(frozen=True)
class FieldSpec:
    """One letter-specific field the form asks for."""

    name: str
    label: str
    help: str = ""
    required: bool = False
    max_length: int = 500
    widget: str = "text"


@dataclass(frozen=True)
class LetterTemplate:
    """A letter as data: its metadata and the languages it is written in."""

    slug: str
    title: str
    purpose: str
    recipient: str
    signed_by: str
    fields: tuple[FieldSpec, ...]
    languages: tuple[str, ...]
    directory: Path
    contact_roles: tuple[str, ...] = ()
    # language -> {"title", "purpose", "fields": {name: {"label", "help"}}}, from <language>.toml
    translations: Mapping[str, Mapping] = field(default_factory=dict)

    def body_file(self, language: str) -> str:
        """The template's body for one language, as the sandbox loader names it."""
        return f"{self.slug}/{language}.html"

    def localized(self, language: str) -> LetterTemplate:
        """The template described in a reader's language (English where that is missing)."""
        words = self.translations.get(language)
        if not words:
            return self
        field_words = words.get("fields", {})
        fields = tuple(
            replace(spec, label=field_words.get(spec.name, {}).get("label") or spec.label,
                    help=field_words.get(spec.name, {}).get("help") or spec.help)
            for spec in self.fields
        )  # fmt: skip
        return replace(self, title=words.get("title") or self.title,
                       purpose=words.get("purpose") or self.purpose, fields=fields)  # fmt: skip


@dataclass(frozen=True)
class TemplateProblem:
    """Why one template is hidden: where (file:line when known) and what."""

    slug: str
    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


@dataclass
class Catalog:
    """The valid templates, by slug, and the problems that hid the others."""

    directory: Path
    environment: SandboxedEnvironment
    templates: dict[str, LetterTemplate] = field(default_factory=dict)
    problems: list[TemplateProblem] = field(default_factory=list)

    def get(self, slug: str) -> LetterTemplate | None:
        """A valid template by slug."""
        return self.templates.get(slug)

    def in_language(self, language: str) -> Catalog:
        """The same catalog with every template described in a reader's language."""
        if not any(language in t.translations for t in self.templates.values()):
            return self
        return replace(self, templates={slug: t.localized(language)
                                        for slug, t in self.templates.items()})  # fmt: skip

    def fill(self, template: LetterTemplate, language: str, context: dict) -> FilledLetter:
        """Fill one template in one language."""
        return fill(self.environment, template.body_file(language), context)


def load_catalog(directory: Path) -> Catalog:
    """Read every template folder, keep the valid ones, and say why the others are hidden."""
    directory = Path(directory)
    catalog = Catalog(directory=directory, environment=make_environment(directory))
    if not directory.is_dir():
        catalog.problems.append(TemplateProblem("", str(directory), "folder not found"))
        return catalog
    for folder in sorted(p for p in directory.iterdir() if p.is_dir()):
        if folder.name.startswith((".", "_")):
            continue
        template, problems = _load_one(folder, catalog.environment)
        if problems:
            catalog.problems.extend(problems)
            for problem in problems:
                log.warning("letter template %s hidden: %s", folder.name, problem)
        elif template is not None:
            catalog.templates[template.slug] = template
    return catalog


def _load_one(
    folder: Path, env: SandboxedEnvironment
) -> tuple[LetterTemplate | None, list[TemplateProblem]]:
    slug = folder.name
    meta_path = folder / METADATA_FILE

    def problem(message: str, location: Path | str = meta_path) -> list[TemplateProblem]:
        return [TemplateProblem(slug, str(location), message)]

    if not SLUG_RE.match(slug):
        return None, problem("the folder name must be kebab-case (a-z, 0-9, -)", folder)
    try:
        meta = tomllib.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, problem("template.toml is missing", folder)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        return None, problem(str(exc))

    errors = []
    for key in ("title", "purpose"):
        if not isinstance(meta.get(key), str) or not meta[key].strip():
            errors.append(f"'{key}' must be a non-empty text")
    if meta.get("recipient") not in RECIPIENT_KINDS:
        errors.append(f"'recipient' must be one of {', '.join(RECIPIENT_KINDS)}")
    if meta.get("signed_by", "sender") not in SIGNED_BY:
        errors.append(f"'signed_by' must be one of {', '.join(SIGNED_BY)}")
    contact_roles = meta.get("contact_roles", [])
    known_roles = [role.value for role in ContactRole]
    if not isinstance(contact_roles, list) or any(r not in known_roles for r in contact_roles):
        errors.append(f"'contact_roles' must be a list of: {', '.join(known_roles)}")
    fields, field_errors = _read_fields(meta.get("fields", []))
    errors += field_errors
    languages = tuple(lang for lang in LETTER_LANGUAGES if (folder / f"{lang}.html").is_file())
    if not languages:
        errors.append(
            f"no body: add one of {', '.join(f'{lang}.html' for lang in LETTER_LANGUAGES)}"
        )
    translations, translation_errors = _read_translations(folder, fields)
    if errors:
        return None, [TemplateProblem(slug, str(meta_path), error) for error in errors]
    if translation_errors:
        return None, [TemplateProblem(slug, where, error) for where, error in translation_errors]

    template = LetterTemplate(
        slug=slug,
        title=meta["title"].strip(),
        purpose=meta["purpose"].strip(),
        recipient=meta["recipient"],
        signed_by=meta.get("signed_by", "sender"),
        fields=fields,
        languages=languages,
        directory=folder,
        contact_roles=tuple(contact_roles),
        translations=translations,
    )
    problems = []
    for language in languages:
        try:
            fill(env, template.body_file(language), sample_context(template, language))
        except LetterFillError as exc:
            location = exc.location or str(folder / f"{language}.html")
            if not location.startswith("/"):
                location = str(folder.parent / location)
            problems.append(TemplateProblem(slug, location, exc.message))
    return (None if problems else template), problems


def _read_translations(
    folder: Path, fields: tuple[FieldSpec, ...]
) -> tuple[dict[str, dict], list[tuple[str, str]]]:
    """The template's title, purpose and field labels in other languages (<language>.toml)."""
    found: dict[str, dict] = {}
    errors: list[tuple[str, str]] = []
    names = {spec.name for spec in fields}
    for language in LETTER_LANGUAGES:
        path = folder / f"{language}.toml"
        if language == "en" or not path.is_file():
            continue
        try:
            words = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            errors.append((str(path), str(exc)))
            continue
        unknown = set(words.get("fields", {})) - names
        if unknown:
            errors.append((str(path), f"no such field: {', '.join(sorted(unknown))}"))
        for key in ("title", "purpose"):
            if not isinstance(words.get(key, ""), str):
                errors.append((str(path), f"'{key}' must be text"))
        found[language] = words
    return found, errors


def _read_fields(raw: object) -> tuple[tuple[FieldSpec, ...], list[str]]:
    if not isinstance(raw, list):
        return (), ["'fields' must be a list of [[fields]] tables"]
    specs, errors, seen = [], [], set()
    for number, item in enumerate(raw, start=1):
        where = f"field {number}"
        if not isinstance(item, dict):
            errors.append(f"{where}: must be a table")
            continue
        name = item.get("name")
        if not isinstance(name, str) or not FIELD_NAME_RE.match(name):
            errors.append(f"{where}: 'name' must be a lower-case identifier")
            continue
        if name in RESERVED_FIELDS or name in seen:
            errors.append(f"{where}: the name '{name}' is already used")
            continue
        seen.add(name)
        max_length = item.get("max_length", 500)
        if not isinstance(max_length, int) or not 1 <= max_length <= 10_000:
            errors.append(f"{where} ({name}): 'max_length' must be a whole number, 1 to 10000")
            continue
        if item.get("widget", "text") not in WIDGETS:
            errors.append(f"{where} ({name}): 'widget' must be text or textarea")
            continue
        if not isinstance(item.get("label"), str) or not item["label"].strip():
            errors.append(f"{where} ({name}): 'label' is required")
            continue
        specs.append(
            FieldSpec(
                name=name,
                label=item["label"].strip(),
                help=str(item.get("help", "")).strip(),
                required=bool(item.get("required", False)),
                max_length=max_length,
                widget=item.get("widget", "text"),
            )
        )
    return tuple(specs), errors


def sample_context(template: LetterTemplate, language: str = "en") -> dict:
    """A full context with sample values, to prove a template renders before anyone sees it."""
    values = {spec.name: f"Sample {spec.label.lower()}" for spec in template.fields}
    return context_for(
        sender=SAMPLE_SENDER,
        recipient=sample_recipient(template.recipient, language),
        event=SAMPLE_EVENT,
        letter_date=date(2012, 11, 20),
        language=language,
        fields=values,
        own_words="A first paragraph in our own words.\n\nA second one.",
        signatory_count=0,
    )


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple, Catalog]] = {}


def _fingerprint(directory: Path) -> tuple:
    try:
        return tuple(
            sorted((str(p), p.stat().st_mtime_ns) for p in directory.rglob("*") if p.is_file())
        )
    except FileNotFoundError:
        return ()


def get_catalog(directory: Path) -> Catalog:
    """The catalog for a folder, reloaded when any file in it changes."""
    directory = Path(directory).resolve()
    fingerprint = _fingerprint(directory)
    with _cache_lock:
        cached = _cache.get(directory)
        if cached and cached[0] == fingerprint:
            return cached[1]
        catalog = load_catalog(directory)
        _cache[directory] = (fingerprint, catalog)
        return catalog
