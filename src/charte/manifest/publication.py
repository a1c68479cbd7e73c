"""Publishing a policy version: the manifest's digest recorded in the store and the ledger."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.ledger import append, canonical_json, utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.store.models import PolicyPublication


class UndatedPolicyChange(Exception):
    """The manifest changed since the last publication but carries no new dated version."""


@dataclass(frozen=True)
class Published:
    """The outcome of :func:`publish_policy`."""

    publication: PolicyPublication
    created: bool


def manifest_digest(manifest: Manifest) -> str:
    """SHA-256 of the manifest's canonical JSON: layout and comments of the YAML do not count."""
    return hashlib.sha256(canonical_json(manifest.model_dump(mode="json")).encode()).hexdigest()


def latest_publication(session: Session) -> PolicyPublication | None:
    """The newest published version, if any."""
    return session.scalars(select(PolicyPublication).order_by(PolicyPublication.id.desc()).limit(1)).first()


def publications(session: Session) -> list[PolicyPublication]:
    """Every published version, newest first."""
    return list(session.scalars(select(PolicyPublication).order_by(PolicyPublication.id.desc())))


def publish_policy(session: Session, manifest: Manifest, *, actor: str, clock: Clock = utcnow) -> Published:
    """Record the manifest as the published policy, once per content; a change needs a new dated version."""
    digest = manifest_digest(manifest)
    previous = latest_publication(session)
    if previous is not None and previous.manifest_sha256 == digest:
        return Published(previous, created=False)
    newest = max(manifest.policy.versions, key=lambda v: v.date)
    if previous is not None and previous.version_date >= newest.date.isoformat():
        raise UndatedPolicyChange(
            f"the manifest changed since the version of {previous.version_date} was published; add a new entry "
            "under policy.versions (date and summary of the change) before publishing"
        )
    summary = dict(newest.summary)
    event = append(session, "policy.published",
                   {"version_date": newest.date.isoformat(), "manifest_sha256": digest, "summary": summary},
                   actor=actor, clock=clock)
    publication = PolicyPublication(version_date=newest.date.isoformat(), manifest_sha256=digest,
                                    published_at=clock(), published_by=actor, ledger_seq=event.seq,
                                    summary=summary)
    session.add(publication)
    session.flush()
    return Published(publication, created=True)
