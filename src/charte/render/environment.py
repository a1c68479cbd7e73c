"""The Jinja2 environments: HTML escapes every value, Markdown neutralises the markup in every value."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Literal
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from charte.render.locales import STRINGS, Lang

Format = Literal["html", "md"]

# Characters that would open Markdown syntax (or raw HTML) if a manifest value contained them.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")
_NOT_ID = re.compile(r"[^A-Za-z0-9_-]+")
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "tel:")


def _already_escaped(text: str) -> Markup:
    # The single place where text becomes trusted markup: every caller passes text it has escaped itself.
    return Markup(text)  # noqa: S704


def md_escape(value: object) -> str:
    """Plain text made inert in Markdown: syntax characters backslash-escaped, kept on one line."""
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return _MD_SPECIAL.sub(r"\\\1", _LINE_BREAKS.sub(" ", str(value)))


def safe_href(url: str) -> str:
    """``url`` if it is a web, mail, phone or same-site link; otherwise ``#`` (no ``javascript:`` links)."""
    candidate = url.strip()
    if candidate.lower().startswith(_SAFE_SCHEMES) or candidate.startswith(("/", "#")):
        return candidate
    return "#"


def anchor(key: str) -> Markup:
    """A manifest key as an element id fragment: letters, digits, ``_`` and ``-`` only."""
    return _already_escaped(_NOT_ID.sub("-", key))


def link(fmt: Format, url: str, label: object) -> Markup:
    """A hyperlink in the output format, its label escaped."""
    if fmt == "html":
        return Markup('<a href="{}">{}</a>').format(safe_href(url), label)
    # Percent-encoding spaces, brackets and angle brackets keeps the target inside Markdown's "(...)".
    target = quote(safe_href(url), safe=":/?#@!$&'*+,;=%~-._")
    return _already_escaped(f"[{md_escape(label)}]({target})")


def translator(fmt: Format, lang: Lang) -> Callable[..., Markup]:
    """``t(key, **values)``: a fixed sentence with its values escaped for the format (values may be links)."""

    def t(key: str, **values: object) -> Markup:
        template = STRINGS[key][lang]
        if fmt == "html":
            # Markup.format escapes every value that is not already markup, such as a link.
            return escape(template).format(**values)
        return _already_escaped(md_escape(template).format(**{k: md_escape(v) for k, v in values.items()}))

    return t


def _html_finalize(value: object) -> object:
    # An absent optional field renders as nothing, never as the word "None".
    return "" if value is None else value


@cache
def environment(fmt: Format) -> Environment:
    """The template environment for one output format (cached: templates compile once)."""
    loader = PackageLoader("charte.render", "templates")
    if fmt == "html":
        env = Environment(
            loader=loader, undefined=StrictUndefined, autoescape=True, finalize=_html_finalize,
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
    else:
        # Markdown has no autoescape: md_escape as finalize plays that role for every {{ value }}.
        env = Environment(
            loader=loader, undefined=StrictUndefined, autoescape=False, finalize=md_escape,  # noqa: S701
            trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
        )
    env.filters["anchor"] = anchor
    return env
