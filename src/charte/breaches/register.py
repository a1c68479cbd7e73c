"""The breach register (Art. 33(5)): recording breaches and new versions of what is known, and reading them back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from charte.breaches import clock as breach_clock
from charte.breaches.facts import AffectedCollection, BreachFacts, check_facts
from charte.ledger import append, utcnow
from charte.ledger.chain import Clock
from charte.manifest.models import Manifest
from charte.store.breaches import (
    BreachCommunicationRow,
    BreachNotificationRow,
    BreachRow,
    BreachVersionRow,
    BreachWarningRow,
)

Status = Literal["not_required", "awaiting", "late", "notified", "notified_late"]


class UnknownBreach(LookupError):
    """No breach has this number."""


class NothingChanged(ValueError):
    """A new version would say exactly what the current one says."""


@dataclass(frozen=True)
class Version:
    """One version of a breach's facts, with who recorded it and when."""

    version: int
    recorded_at: datetime
    recorded_by: str
    change_note: str | None
    content_sha256: str
    facts: BreachFacts


@dataclass(frozen=True)
class Notification:
    """A submission to the supervisory authority."""

    phase: Literal["initial", "complementary"]
    submitted_at: datetime
    recorded_at: datetime
    recorded_by: str
    version: int
    authority_reference: str | None
    late: bool
    delay_reasons: str | None
    document_sha256: str


@dataclass(frozen=True)
class Communication:
    """A communication to the people concerned."""

    channel: str
    informed_at: datetime
    recorded_at: datetime
    recorded_by: str
    version: int
    recipients_count: int
    languages: dict[str, int]
    note: str | None


@dataclass(frozen=True)
class ClockWarning:
    """A warning recorded when the time left reached a threshold."""

    threshold_hours: int
    warned_at: datetime
    seconds_left: int
    superseded: bool


@dataclass(frozen=True)
class Breach:
    """A breach as the register knows it now: every version, notification, communication and warning."""

    id: int
    recorded_at: datetime
    recorded_by: str
    versions: tuple[Version, ...]
    notifications: tuple[Notification, ...] = ()
    communications: tuple[Communication, ...] = ()
    warnings: tuple[ClockWarning, ...] = ()

    @property
    def reference(self) -> str:
        """The register number people quote: ``BR-0007``."""
        return breach_reference(self.id)

    @property
    def current(self) -> Version:
        """The newest version."""
        return self.versions[-1]

    @property
    def facts(self) -> BreachFacts:
        """What is known now."""
        return self.current.facts

    @property
    def deadline(self) -> datetime:
        """72 hours after awareness."""
        return breach_clock.notification_deadline(self.facts.aware_at)

    @property
    def initial_notification(self) -> Notification | None:
        """The initial notification to the authority, once submitted."""
        return next((n for n in self.notifications if n.phase == "initial"), None)

    @property
    def clock_running(self) -> bool:
        """Whether the 72-hour clock still matters: notification required and not yet submitted."""
        return self.facts.notification_required and self.initial_notification is None

    @property
    def communication_pending(self) -> bool:
        """High risk without an exception, and the people concerned not yet told."""
        return self.facts.subject_communication_required and not self.communications

    def time_left(self, now: datetime) -> timedelta:
        """Time until the deadline at ``now`` (negative once late)."""
        return breach_clock.time_left(self.facts.aware_at, now)

    def status(self, now: datetime) -> Status:
        """Where the breach stands with the authority at ``now``."""
        initial = self.initial_notification
        if initial is not None:
            return "notified_late" if initial.late else "notified"
        if not self.facts.notification_required:
            return "not_required"
        return "late" if self.time_left(now) < timedelta(0) else "awaiting"


def breach_reference(breach_id: int) -> str:
    """The register number of a breach id."""
    return f"BR-{breach_id:04d}"


def parse_reference(text: str) -> int:
    """A breach id from ``BR-0007``, ``br-7`` or ``7``; :class:`UnknownBreach` when it is neither."""
    candidate = text.strip().upper().removeprefix("BR-")
    if not candidate.isdigit():
        raise UnknownBreach(f"{text!r} is not a breach number (BR-0001 or 1)")
    return int(candidate)


def _facts_of(row: BreachVersionRow) -> BreachFacts:
    return BreachFacts(
        title=row.title,
        aware_at=row.aware_at,
        occurred_at=row.occurred_at,
        nature=tuple(row.nature),  # type: ignore[arg-type]
        description=row.description,
        systems=tuple(row.systems),
        other_systems=row.other_systems,
        data_categories=tuple(row.data_categories),
        data_subjects=tuple(row.data_subjects),
        collections=tuple(AffectedCollection(**c) for c in row.collections),
        subjects_count=row.subjects_count,
        records_count=row.records_count,
        counts_method=row.counts_method,  # type: ignore[arg-type]
        consequences=row.consequences,
        measures_taken=row.measures_taken,
        measures_planned=row.measures_planned,
        subject_advice=row.subject_advice,
        risk=row.risk,  # type: ignore[arg-type]
        risk_reasoning=row.risk_reasoning,
        art34_exception=row.art34_exception,  # type: ignore[arg-type]
        art34_reasoning=row.art34_reasoning,
        text_language=row.text_language,
        translations=dict(row.translations),
    )


def _version_row(breach_id: int, version: int, facts: BreachFacts, *, actor: str, at: datetime,
                 change_note: str | None) -> BreachVersionRow:
    data = facts.as_json()
    return BreachVersionRow(
        breach_id=breach_id, version=version, recorded_at=at, recorded_by=actor, change_note=change_note,
        title=facts.title, aware_at=facts.aware_at, occurred_at=facts.occurred_at, nature=data["nature"],
        description=facts.description, systems=data["systems"], other_systems=facts.other_systems,
        data_categories=data["data_categories"], data_subjects=data["data_subjects"],
        collections=data["collections"], subjects_count=facts.subjects_count, records_count=facts.records_count,
        counts_method=facts.counts_method, consequences=facts.consequences, measures_taken=facts.measures_taken,
        measures_planned=facts.measures_planned, subject_advice=facts.subject_advice, risk=facts.risk,
        risk_reasoning=facts.risk_reasoning, art34_exception=facts.art34_exception,
        art34_reasoning=facts.art34_reasoning, text_language=facts.text_language,
        translations=facts.translations, content_sha256=facts.digest(),
    )


def _summary(manifest: Manifest, breach_id: int, facts: BreachFacts) -> dict[str, Any]:
    # What the ledger keeps: the structured assessment and a digest of the content, never the free texts,
    # which may mention people and must stay correctable while the ledger cannot change.
    return {
        "breach": breach_reference(breach_id),
        "content_sha256": facts.digest(),
        "aware_at": facts.aware_at.isoformat(),
        "deadline": breach_clock.notification_deadline(facts.aware_at).isoformat(),
        "nature": list(facts.nature),
        "risk": facts.risk,
        "notification_required": facts.notification_required,
        "subject_communication_required": facts.subject_communication_required,
        "art34_exception": facts.art34_exception,
        "data_categories": list(facts.data_categories),
        "special_categories": [c for c in facts.data_categories if manifest.is_special(c)],
        "subjects_count": facts.subjects_count,
        "records_count": facts.records_count,
        "counts_method": facts.counts_method,
    }


def record_breach(session: Session, manifest: Manifest, facts: BreachFacts, *, actor: str,
                  clock: Clock = utcnow) -> Breach:
    """Record a new breach (version 1) and append ``breach.recorded`` to the ledger, in the caller's transaction."""
    now = clock()
    check_facts(facts, manifest, now)
    row = BreachRow(recorded_at=now, recorded_by=actor)
    session.add(row)
    session.flush()
    session.add(_version_row(row.id, 1, facts, actor=actor, at=now, change_note=None))
    append(session, "breach.recorded", {**_summary(manifest, row.id, facts), "version": 1}, actor=actor,
           clock=clock)
    session.flush()
    return get_breach(session, row.id)


def changed_fields(before: BreachFacts, after: BreachFacts) -> list[str]:
    """Names of the facts that differ between two versions."""
    return [f.name for f in fields(BreachFacts) if getattr(before, f.name) != getattr(after, f.name)]


def update_breach(session: Session, manifest: Manifest, breach_id: int, facts: BreachFacts, *, actor: str,
                  change_note: str | None = None, clock: Clock = utcnow) -> Breach:
    """Record a new version of a breach's facts and append ``breach.updated``; earlier versions stay as they were."""
    now = clock()
    breach = get_breach(session, breach_id)
    check_facts(facts, manifest, now)
    changed = changed_fields(breach.facts, facts)
    if not changed:
        raise NothingChanged(f"{breach.reference}: the new version is identical to version {breach.current.version}")
    version = breach.current.version + 1
    session.add(_version_row(breach_id, version, facts, actor=actor, at=now, change_note=change_note or None))
    append(session, "breach.updated",
           {**_summary(manifest, breach_id, facts), "version": version, "changed": changed}, actor=actor,
           clock=clock)
    session.flush()
    return get_breach(session, breach_id)


def _assemble(rows: Sequence[BreachRow], versions: Iterable[BreachVersionRow],
              notifications: Iterable[BreachNotificationRow], communications: Iterable[BreachCommunicationRow],
              warnings: Iterable[BreachWarningRow]) -> list[Breach]:
    grouped: dict[str, dict[int, list[Any]]] = {k: defaultdict(list) for k in ("v", "n", "c", "w")}
    for v in versions:
        grouped["v"][v.breach_id].append(Version(v.version, v.recorded_at, v.recorded_by, v.change_note,
                                                 v.content_sha256, _facts_of(v)))
    for n in notifications:
        grouped["n"][n.breach_id].append(Notification(
            cast(Literal["initial", "complementary"], n.phase), n.submitted_at, n.recorded_at, n.recorded_by,
            n.version, n.authority_reference, n.late, n.delay_reasons, n.document_sha256))
    for c in communications:
        grouped["c"][c.breach_id].append(Communication(c.channel, c.informed_at, c.recorded_at, c.recorded_by,
                                                       c.version, c.recipients_count, dict(c.languages), c.note))
    for w in warnings:
        grouped["w"][w.breach_id].append(ClockWarning(w.threshold_hours, w.warned_at, w.seconds_left,
                                                      w.superseded))
    return [
        Breach(
            row.id, row.recorded_at, row.recorded_by,
            versions=tuple(sorted(grouped["v"][row.id], key=lambda v: v.version)),
            notifications=tuple(sorted(grouped["n"][row.id], key=lambda n: (n.submitted_at, n.recorded_at))),
            communications=tuple(sorted(grouped["c"][row.id], key=lambda c: c.informed_at)),
            warnings=tuple(sorted(grouped["w"][row.id], key=lambda w: -w.threshold_hours)),
        )
        for row in rows
        if grouped["v"][row.id]
    ]


def get_breach(session: Session, breach_id: int) -> Breach:
    """One breach with its whole history; :class:`UnknownBreach` when there is none with this id."""
    row = session.get(BreachRow, breach_id)
    if row is None:
        raise UnknownBreach(f"no breach {breach_reference(breach_id)} in the register")

    def of(model: Any) -> list[Any]:
        return list(session.scalars(select(model).where(model.breach_id == breach_id)))

    found = _assemble([row], of(BreachVersionRow), of(BreachNotificationRow), of(BreachCommunicationRow),
                      of(BreachWarningRow))
    if not found:
        raise UnknownBreach(f"{breach_reference(breach_id)} has no recorded version")
    return found[0]


def list_breaches(session: Session) -> list[Breach]:
    """Every breach in the register, newest first (a register holds a handful a year: read it whole)."""
    rows = list(session.scalars(select(BreachRow).order_by(BreachRow.id.desc())))
    return _assemble(rows, session.scalars(select(BreachVersionRow)), session.scalars(select(BreachNotificationRow)),
                     session.scalars(select(BreachCommunicationRow)), session.scalars(select(BreachWarningRow)))


def count_breaches(session: Session) -> int:
    """How many breaches the register holds."""
    return session.scalar(select(func.count()).select_from(BreachRow)) or 0


def needing_attention(breaches: Iterable[Breach], now: datetime) -> list[Breach]:
    """Breaches whose clock runs or whose people are still to be told, the most urgent first."""
    pending = [b for b in breaches if b.clock_running or b.communication_pending]
    return sorted(pending, key=lambda b: (not b.clock_running, b.time_left(now)))
