"""Reading the current state: the newest decision per subject and purpose or category, and when it expires."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.consent.subjects import SubjectKey, effective_subject, find_subject
from charte.consent.vocabulary import Scope, as_utc
from charte.manifest import Duration, Manifest
from charte.store.consent import ConsentState, ConsentSubject


def subject_states(session: Session, subject: ConsentSubject) -> list[ConsentState]:
    """Every current decision of a subject, by scope and key."""
    query = select(ConsentState).where(ConsentState.subject_id == subject.id).order_by(ConsentState.scope,
                                                                                       ConsentState.key)
    return list(session.scalars(query))


def category_states(session: Session, key: SubjectKey) -> dict[str, ConsentState]:
    """A subject's current cookie-category decisions (a visitor's through its link), by category."""
    subject = find_subject(session, key)
    if subject is None:
        return {}
    return {s.key: s for s in subject_states(session, effective_subject(session, subject))
            if s.scope == Scope.category.value}


def made_under(revision: str | None, current: str) -> bool:
    """Whether a cookie-category decision recorded under ``revision`` still speaks for the ``current`` cookie section.

    When the cookie section changes (services, cookies, purposes, lifetime…), consent given before no longer covers
    it (CNIL): the banner asks again and the server counts such consent no more. A decision recorded before Charte
    kept the revision, with no banner revision to go by, has none and still counts.
    """
    return revision is None or revision == current


@lru_cache(maxsize=16384)
def _moved(lifetime: Duration, day: date) -> date:
    # Calendar arithmetic once per day and lifetime: a batch check meets the same days again and again.
    return Duration(lifetime.years, lifetime.months, lifetime.days).after(day)


def consent_expiry(manifest: Manifest, scope: Scope | str, key: str, decided_at: datetime) -> datetime:
    """When consent given at ``decided_at`` lapses: the purpose's lifetime, else the cookies' (CNIL: 6 months)."""
    lifetime = manifest.cookies.consent_lifetime
    if scope == Scope.purpose:
        purpose = manifest.purposes.get(key)
        if purpose is not None and purpose.consent_lifetime is not None:
            lifetime = purpose.consent_lifetime
    moment = as_utc(decided_at)
    return datetime.combine(_moved(lifetime, moment.date()), moment.timetz()) + timedelta(seconds=lifetime.seconds)
