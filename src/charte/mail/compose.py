"""Building RFC 5322 messages from plain-text Jinja2 templates, one file per message and language."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import cache
from typing import Any

import jinja2

from charte.ledger import utcnow
from charte.ledger.chain import Clock

_ONE_LINE = re.compile(r"\s*[\r\n]+\s*")


class MailTemplateMissing(LookupError):
    """No template for this message in this language."""


@cache
def _environment(package: str) -> jinja2.Environment:
    # Plain text: nothing to escape, but undefined names must fail loudly rather than vanish from a letter.
    return jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - text/plain mail, never rendered as HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _block(template: jinja2.Template, name: str, context: Mapping[str, Any]) -> str:
    if name not in template.blocks:
        raise MailTemplateMissing(f"template {template.name} has no {{% block {name} %}}")
    return "".join(template.blocks[name](template.new_context(dict(context))))


def sender_domain(address: str) -> str:
    """The domain of a mail address (for Message-ID), ``localhost`` when it has none."""
    return address.rpartition("@")[2].strip(" >") or "localhost"


def compose(template: str, lang: str, context: Mapping[str, Any], *, to: str | Sequence[str], sender: str,
            package: str = "charte.mail", reply_to: str | None = None, clock: Clock = utcnow) -> EmailMessage:
    """A text/plain UTF-8 message from ``<package>/templates/<template>.<lang>.txt`` (blocks subject and body)."""
    try:
        source = _environment(package).get_template(f"{template}.{lang}.txt")
    except jinja2.TemplateNotFound:
        raise MailTemplateMissing(f"no mail template {template!r} in {lang!r} in {package}") from None
    # Header values never span lines: a value from a form must not be able to inject a header.
    subject = _ONE_LINE.sub(" ", _block(source, "subject", context)).strip()
    body = _block(source, "body", context).strip() + "\n"
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = subject
    now: datetime = clock()
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=sender_domain(sender))
    # RFC 3834: an automatic message, so auto-responders do not answer it.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    # After set_content, which drops every Content-* header set before it.
    message["Content-Language"] = lang
    return message
