"""Publishing policy versions: once per content, dated changes only, always in the ledger."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from charte import ledger
from charte.manifest import load_manifest
from charte.manifest.models import PolicyVersion
from charte.manifest.publication import UndatedPolicyChange, latest_publication, publish_policy
from charte.store import session_factory, transaction

from .conftest import EXAMPLE_MANIFEST


def test_publish_once_then_idempotent(store: Engine) -> None:
    manifest = load_manifest(EXAMPLE_MANIFEST)
    factory = session_factory(store)
    with transaction(factory) as session:
        first = publish_policy(session, manifest, actor="cli")
    with transaction(factory) as session:
        again = publish_policy(session, manifest, actor="cli")
    assert first.created and not again.created
    assert first.publication.version_date == "2020-01-22"
    with factory() as session:
        events = list(ledger.events(session))
        assert [e.type for e in events] == ["policy.published"]
        assert ledger.verify(session).ok


def test_undated_change_is_refused_and_dated_change_published(store: Engine) -> None:
    manifest = load_manifest(EXAMPLE_MANIFEST)
    factory = session_factory(store)
    with transaction(factory) as session:
        publish_policy(session, manifest, actor="cli")
    controller = manifest.controller.model_copy(update={"name": "Equasens Group"})
    changed = manifest.model_copy(update={"controller": controller})
    with pytest.raises(UndatedPolicyChange, match="add a new entry"), transaction(factory) as session:
        publish_policy(session, changed, actor="cli")
    versions = [*manifest.policy.versions,
                PolicyVersion(date=date(2026, 11, 26), summary={"fr": "Nouveau nom", "en": "New name"})]
    dated = changed.model_copy(update={"policy": manifest.policy.model_copy(update={"versions": versions})})
    with transaction(factory) as session:
        result = publish_policy(session, dated, actor="dpo")
    assert result.created and result.publication.version_date == "2026-11-26"
    with factory() as session:
        latest = latest_publication(session)
        assert latest is not None and latest.published_by == "dpo"
        assert [e.type for e in ledger.events(session)] == ["policy.published"] * 2
