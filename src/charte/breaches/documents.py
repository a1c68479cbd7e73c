"""The documents of a breach: the notification draft for the CNIL (Art. 33(3)) and the letter to people (Art. 34(2))."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from functools import cache, partial
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from charte.breaches import texts
from charte.breaches.clock import is_late
from charte.breaches.register import Breach
from charte.manifest.models import Manifest, tr
from charte.render.facts import category_name
from charte.render.formatting import gdpr_article, join_words, language

Phase = Literal["initial", "complementary"]
LetterFormat = Literal["html", "text"]

_BLANK_LINES = re.compile(r"\n\s*\n")


class SubjectCommunicationNotRequired(Exception):
    """Art. 34: no letter to people unless the risk is high and no exception of Art. 34(3) applies."""


class LetterIncomplete(ValueError):
    """The letter would lack an item Art. 34(2) requires (likely consequences, measures)."""


def _paragraphs(text: str) -> Markup:
    # Free text typed in a form: blank lines separate paragraphs, single newlines are kept as line breaks.
    blocks = [b.strip() for b in _BLANK_LINES.split(text.replace("\r\n", "\n")) if b.strip()]
    return Markup("").join(Markup("<p>{}</p>\n").format(Markup("<br>\n").join(escape(line) for line in b.split("\n")))
                           for b in blocks)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("charte.breaches", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.filters["paragraphs"] = _paragraphs
    return env


def document_sha256(document: str) -> str:
    """SHA-256 of a rendered document, recorded as proof of what was sent."""
    return hashlib.sha256(document.encode()).hexdigest()


def next_phase(breach: Breach) -> Phase:
    """The phase the next submission to the authority belongs to."""
    return "complementary" if breach.initial_notification else "initial"


def _common(breach: Breach, manifest: Manifest, lang: str) -> dict[str, Any]:
    lg = language(lang)
    facts = breach.facts
    return {
        "b": breach,
        "f": facts,
        "m": manifest,
        "lang": lg,
        "controller": manifest.controller,
        "dpo": manifest.dpo,
        "authority": manifest.supervisory_authority,
        "label": partial(texts.label, lang=lg),
        "when": partial(texts.format_instant, lang=lg),
        "article": partial(gdpr_article, lang=lg),
        "join": partial(join_words, lang=lg),
        "tr": partial(tr, lang=lg),
        "text": partial(facts.text, lang=lg),
        "category": partial(category_name, manifest, lang=lg),
        "is_special": manifest.is_special,
        "subject_kind": lambda key: tr(manifest.data_subjects[key].name, lg) if key in manifest.data_subjects else key,
        "system_name": lambda key: manifest.systems[key].name if key in manifest.systems else key,
        "number": partial(_number, lang=lg),
        "natures": [texts.label(f"nature.{n}", lg) for n in facts.nature],
    }


def _number(value: int | None, lang: str) -> str:
    if value is None:
        return texts.label("unknown", lang)
    # French groups thousands with a narrow no-break space, English with a comma.
    return f"{value:,}".replace(",", "\u202f" if lang == "fr" else ",")


def render_cnil_draft(breach: Breach, manifest: Manifest, *, at: datetime, phase: Phase | None = None,
                      delay_reasons: str | None = None, authority_reference: str | None = None) -> str:
    """The notification to the CNIL as a complete French HTML draft, for a submission at ``at``."""
    # Every Art. 33(3) item is present, marked "à compléter" when not yet known (Art. 33(4) allows phases);
    # a late initial notification carries the reasons for the delay (Art. 33(1)).
    chosen = phase or next_phase(breach)
    initial = breach.initial_notification
    late = is_late(breach.facts.aware_at, at) if chosen == "initial" else bool(initial and initial.late)
    reasons = delay_reasons if chosen == "initial" else (initial.delay_reasons if initial else None)
    context = _common(breach, manifest, "fr")
    context.update(phase=chosen, at=at, late=late, delay_reasons=(reasons or "").strip(),
                   authority_reference=authority_reference, initial=initial,
                   decision=texts.art34_decision(breach.facts.risk, breach.facts.art34_exception, "fr"))
    return _environment().get_template("cnil_notification.fr.html.j2").render(context)


def check_subject_communication(breach: Breach) -> None:
    """Raise unless a letter to people is due and has every Art. 34(2) item."""
    facts = breach.facts
    if facts.risk != "high":
        raise SubjectCommunicationNotRequired(
            f"{breach.reference}: the risk is not high, so Art. 34 does not require telling people")
    if facts.art34_exception is not None:
        raise SubjectCommunicationNotRequired(
            f"{breach.reference}: the exception of Art. 34(3)({facts.art34_exception}) applies")
    missing = []
    if not facts.consequences.strip():
        missing.append("likely consequences")
    if not (facts.measures_taken.strip() or facts.measures_planned.strip()):
        missing.append("measures taken or proposed")
    if missing:
        raise LetterIncomplete(f"{breach.reference}: the letter needs {' and '.join(missing)} (Art. 34(2))")


def letter_subject(manifest: Manifest, lang: str) -> str:
    """The subject line of the communication to people."""
    return {"fr": "Information importante sur la sécurité de vos données personnelles — {controller}",
            "en": "Important information about the security of your personal data — {controller}"}[
        language(lang)].format(controller=manifest.controller.name)


def render_subject_letter(breach: Breach, manifest: Manifest, lang: str, fmt: LetterFormat = "html") -> str:
    """The plain-language letter to the people concerned (Art. 34(2)); refused unless Art. 34 requires it."""
    check_subject_communication(breach)
    lg = language(lang)
    context = _common(breach, manifest, lg)
    context["subject_line"] = letter_subject(manifest, lg)
    body = _environment().get_template(f"subject_letter.{lg}.txt.j2").render(context)
    if fmt == "text":
        return body
    if fmt != "html":
        raise ValueError(f"unknown letter format {fmt!r}; one of: html, text")
    return _environment().get_template("subject_letter.html.j2").render(lang=lg, title=context["subject_line"],
                                                                         blocks=letter_blocks(body))


def letter_blocks(body: str) -> list[tuple[str, list[str]]]:
    """The plain-text letter as (tag, lines) blocks: title, headings over dashes, lists and paragraphs."""
    blocks: list[tuple[str, list[str]]] = []
    for index, chunk in enumerate(_BLANK_LINES.split(body.strip())):
        lines = [line.rstrip() for line in chunk.strip().split("\n")]
        if index == 0:
            blocks.append(("h1", lines))
            continue
        if len(lines) == 2 and lines[1] and not lines[1].strip("-"):
            blocks.append(("h2", lines[:1]))
            continue
        current: tuple[str, list[str]] | None = None
        for line in lines:
            kind, content = ("ul", line[2:]) if line.startswith("- ") else ("p", line)
            if current is None or current[0] != kind:
                current = (kind, [])
                blocks.append(current)
            current[1].append(content)
    return blocks
