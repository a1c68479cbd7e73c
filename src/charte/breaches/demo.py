"""Demo breaches for the reference customer: one notified in time, one whose 72-hour clock is running."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from charte.breaches.annotations import annotated_collections
from charte.breaches.counting import RowCounter, complete_counts
from charte.breaches.facts import BreachFacts
from charte.breaches.notification import record_notification
from charte.breaches.register import Breach, count_breaches, list_breaches, record_breach
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest

DEMO_ACTOR = "demo"


def _known(manifest: Manifest, *keys: str, kind: str = "data_categories") -> tuple[str, ...]:
    # The demo adapts to a manifest that declares fewer categories than the reference one.
    declared = getattr(manifest, kind)
    return tuple(k for k in keys if k in declared)


def seed_demo_breach(session: Session, manifest: Manifest, *, clock: Clock, count_rows: RowCounter | None = None,
                     manifest_dir: Path | None = None) -> list[Breach]:
    """Fill an empty register with two demo breaches (no-op when it has any); counts rows when a counter is given."""
    if count_breaches(session):
        return list_breaches(session)
    now = clock()
    stolen = record_breach(session, manifest, BreachFacts(
        title="Vol d'un ordinateur portable d'un commercial",
        aware_at=now - timedelta(days=20, hours=3),
        occurred_at=now - timedelta(days=20, hours=9),
        nature=("confidentiality", "availability"),
        description="Ordinateur portable volé dans un véhicule ; il contenait un export du fichier clients "
                    "de la région Grand Est.",
        other_systems="Ordinateur portable (export CSV du CRM)",
        data_categories=_known(manifest, "user.name", "user.contact.email", "user.contact.phone_number",
                               "user.contact.organization"),
        data_subjects=_known(manifest, "customers", kind="data_subjects"),
        subjects_count=1240, records_count=1240,
        consequences="Hameçonnage ciblé des pharmaciens si les données étaient lues.",
        measures_taken="Disque chiffré (BitLocker, clé TPM + code) ; effacement à distance demandé ; plainte déposée.",
        measures_planned="Interdire les exports du CRM sur les postes nomades.",
        risk="high",
        risk_reasoning="Coordonnées professionnelles de 1 240 clients, mais support intégralement chiffré.",
        art34_exception="a",
        art34_reasoning="Le disque est chiffré selon l'état de l'art ; la clé n'a pas été compromise.",
    ), actor=DEMO_ACTOR, clock=clock)
    record_notification(session, manifest, stolen.id, phase="initial", submitted_at=now - timedelta(days=19),
                        authority_reference="DEMO-2026-000123", actor=DEMO_ACTOR, clock=clock)
    collections = tuple(c for c in annotated_collections(manifest, manifest_dir) if c.holds_subjects)[:1]
    counted = count_rows is not None and bool(collections)
    running = BreachFacts(
        title="Courriel de relance envoyé avec les destinataires en copie visible",
        aware_at=now - timedelta(hours=30),
        occurred_at=now - timedelta(hours=31),
        nature=("confidentiality",),
        description="Une relance d'abonnement a été envoyée avec toutes les adresses en copie (Cc) au lieu de "
                    "la copie cachée.",
        data_categories=_known(manifest, "user.name", "user.contact.email"),
        data_subjects=_known(manifest, "subscribers", "customers", kind="data_subjects"),
        collections=collections,
        subjects_count=None if counted else 412, records_count=None if counted else 412,
        consequences="Les destinataires connaissent les adresses e-mail des autres abonnés ; risque de "
                     "sollicitations non désirées.",
        measures_taken="Demande de suppression adressée aux destinataires ; envoi groupé désactivé.",
        measures_planned="Passage des relances par l'outil d'envoi de la lettre d'information.",
        risk="risk",
        risk_reasoning="Adresses e-mail seules, pas de données sensibles ; diffusion limitée aux abonnés.",
    )
    if count_rows is not None and counted:
        running = complete_counts(running, count_rows)
    record_breach(session, manifest, running, actor=DEMO_ACTOR, clock=clock)
    return list_breaches(session)
