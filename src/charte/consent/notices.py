"""What people were shown when they decided: banners and forms, identified by the hash of their content."""

from __future__ import annotations

import hashlib
import json
import weakref
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

from sqlalchemy.orm import Session

from charte.ledger.chain import Clock, canonical_json, utcnow
from charte.manifest import Manifest
from charte.manifest.models import Cookies
from charte.store.consent import ConsentNotice


@dataclass(frozen=True)
class Notice:
    """The content of a banner or form as shown; ``version`` is its SHA-256, the form version events cite."""

    kind: str
    content: dict[str, Any] = field(hash=False)

    @cached_property
    def text(self) -> str:
        """The canonical JSON that is stored and hashed."""
        return canonical_json({"kind": self.kind, "content": self.content})

    @cached_property
    def version(self) -> str:
        """SHA-256 of :attr:`text`."""
        return hashlib.sha256(self.text.encode()).hexdigest()


#: Revisions already computed, by the identity of the cookie section (manifests are frozen models): the permission
#: check needs the revision on every call. Each entry holds a weak reference to its section and goes with it.
_REVISIONS: dict[int, tuple[weakref.ref[Cookies], str]] = {}


def _forget_revision(key: int, reference: weakref.ref[Cookies]) -> None:
    held = _REVISIONS.get(key)
    if held is not None and held[0] is reference:
        del _REVISIONS[key]


def cookie_revision(manifest: Manifest) -> str:
    """A short hash of the manifest's cookie section: when it changes, the banner asks again.

    Cookie-category consent recorded under another revision no longer counts (see :mod:`charte.consent.permissions`).
    Computed once per cookie section object.
    """
    section = manifest.cookies
    key = id(section)
    held = _REVISIONS.get(key)
    if held is not None and held[0]() is section:
        return held[1]
    revision = hashlib.sha256(canonical_json(section.model_dump(mode="json")).encode()).hexdigest()[:12]
    reference = weakref.ref(section, partial(_forget_revision, key))
    _REVISIONS[key] = (reference, revision)
    return revision


def policy_version(manifest: Manifest) -> str:
    """The policy version a decision is made under: the date of its last modification."""
    return manifest.policy.last_modified.isoformat()


def ensure_notice(session: Session, notice: Notice, *, clock: Clock = utcnow) -> ConsentNotice:
    """The stored notice for ``notice``, stored now if this content was never recorded before."""
    stored = session.get(ConsentNotice, notice.version)
    if stored is None:
        stored = ConsentNotice(version=notice.version, kind=notice.kind, content=notice.text,
                               first_recorded_at=clock())
        session.add(stored)
        session.flush()
    return stored


def notice_content(stored: ConsentNotice) -> dict[str, Any]:
    """The content of a stored notice, as shown."""
    data: dict[str, Any] = json.loads(stored.content)
    return data
