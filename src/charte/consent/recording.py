"""Recording decisions: each one an immutable event, anchored in the ledger, that updates the current state."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.consent.notices import Notice, cookie_revision, ensure_notice, policy_version
from charte.consent.request_meta import RequestMeta
from charte.consent.state import category_states, consent_expiry, made_under
from charte.consent.subjects import (
    AlreadyLinked,
    SubjectKey,
    effective_subject,
    ensure_subject,
    find_subject,
    visitor_key,
)
from charte.consent.vocabulary import (
    GPC_REFUSED_CATEGORIES,
    CollectionMethod,
    Decision,
    Scope,
    as_utc,
    instant_text,
)
from charte.ledger import append
from charte.ledger.chain import Clock, canonical_json, utcnow
from charte.manifest import Manifest
from charte.store.consent import ConsentEvent, ConsentState, ConsentSubject
from charte.store.models import LedgerHead

#: Legal bases whose processing a person may object to (Art. 21(1)); consent purposes too, for direct marketing.
OBJECTABLE_BASES = frozenset({"legitimate_interest", "public_task", "consent"})


class ConsentError(ValueError):
    """A decision that cannot be recorded as asked."""


class UnknownPurpose(ConsentError):
    """The manifest declares no such purpose."""


class UnknownCategory(ConsentError):
    """The manifest declares no such cookie category, or it needs no consent."""


class DecisionNotApplicable(ConsentError):
    """The decision makes no sense for this purpose's legal basis (e.g. consent to a contract purpose)."""


@dataclass(frozen=True)
class Choice:
    """One decision to record: ``decision`` about the purpose or cookie category ``key``."""

    scope: Scope
    key: str
    decision: Decision


@dataclass(frozen=True)
class Collection:
    """How decisions were collected: method, who recorded them, what was shown, and minimised request data.

    ``notice`` is a banner or form whose content Charte knows (stored with the event's proof); an API client
    may instead give ``notice_version``, the version of its own form.
    """

    method: CollectionMethod
    actor: str
    notice: Notice | None = None
    notice_version: str | None = None
    lang: str | None = None
    request: RequestMeta = field(default_factory=RequestMeta)

    def using(self, method: CollectionMethod) -> Collection:
        """The same collection under another method (a GPC signal read by the banner)."""
        return Collection(method, self.actor, self.notice, self.notice_version, self.lang, self.request)


@dataclass(frozen=True)
class CookieChoices:
    """A visitor's current cookie choices as the banner needs them."""

    consent_id: str
    choices: dict[str, bool]
    version: int
    decided_at: datetime | None


def check_choice(manifest: Manifest, choice: Choice) -> None:
    """Raise a :class:`ConsentError` unless ``choice`` can be recorded under ``manifest``."""
    if choice.scope is Scope.category:
        category = manifest.cookies.categories.get(choice.key)
        if category is None:
            raise UnknownCategory(f"unknown cookie category {choice.key!r}; the manifest declares "
                                  + ", ".join(manifest.cookies.categories))
        if category.required:
            raise UnknownCategory(f"cookie category {choice.key!r} is required and needs no consent")
        if choice.decision is Decision.objected:
            raise DecisionNotApplicable("cookie categories are refused or withdrawn, not objected to")
        return
    purpose = manifest.purposes.get(choice.key)
    if purpose is None:
        raise UnknownPurpose(f"unknown purpose {choice.key!r}")
    basis = purpose.legal_basis
    if basis == "consent":
        return
    if basis in OBJECTABLE_BASES and choice.decision in (Decision.objected, Decision.given):
        return  # "given" on a legitimate-interest purpose lifts an earlier objection
    raise DecisionNotApplicable(f"purpose {choice.key!r} rests on {basis or 'no legal basis'}: "
                                f"a decision {choice.decision.value!r} does not apply to it")


def _serialise_writers(session: Session) -> None:
    # Every consent write appends to the ledger, which serialises on its head row. Taking that lock first
    # makes creating a subject and rewriting its current state free of races between concurrent requests.
    session.execute(select(LedgerHead.id).where(LedgerHead.id == 1).with_for_update()).scalar_one()


def _state(session: Session, subject: ConsentSubject, scope: Scope, key: str) -> ConsentState | None:
    return session.get(ConsentState, (subject.id, scope.value, key))


def _append_event(session: Session, manifest: Manifest, subject: ConsentSubject, choice: Choice,
                  collection: Collection, *, now: datetime, decided_at: datetime,
                  via: ConsentSubject | None = None, origin: ConsentEvent | None = None,
                  origin_revision: str | None = None) -> ConsentEvent:
    notice_version = collection.notice.version if collection.notice else collection.notice_version
    content = {
        "subject": subject.ref,
        "via": via.ref if via is not None else None,
        "scope": choice.scope.value,
        "key": choice.key,
        "decision": choice.decision.value,
        "method": collection.method.value,
        "recorded_at": instant_text(now),
        "decided_at": instant_text(decided_at),
        "policy_version": policy_version(manifest),
        "notice_version": notice_version,
        "lang": collection.lang,
        "ip_prefix": collection.request.ip_prefix,
        "user_agent": collection.request.user_agent,
        "actor": collection.actor,
        "origin_event": origin.id if origin is not None else None,
    }
    digest = hashlib.sha256(canonical_json(content).encode()).hexdigest()
    anchor = append(session, f"consent.{choice.decision.value}",
                    {"event_sha256": digest, "scope": choice.scope.value, "key": choice.key,
                     "decision": choice.decision.value, "method": collection.method.value,
                     "notice_version": notice_version},
                    actor=collection.actor, subject=subject.ref, clock=lambda: now)
    event = ConsentEvent(
        subject_id=subject.id, via_subject_id=via.id if via is not None else None, scope=choice.scope.value,
        key=choice.key, decision=choice.decision.value, method=collection.method.value, recorded_at=now,
        decided_at=decided_at, period=as_utc(now).strftime("%Y-%m"), policy_version=content["policy_version"],
        notice_version=notice_version, lang=collection.lang, ip_prefix=collection.request.ip_prefix,
        user_agent=collection.request.user_agent, actor=collection.actor,
        origin_event_id=origin.id if origin is not None else None, content_sha256=digest, ledger_seq=anchor.seq,
    )
    session.add(event)
    session.flush()
    # A cookie choice counts under the cookie section it was made under (a carried-over one keeps its own).
    revision = None
    if choice.scope is Scope.category:
        revision = origin_revision if origin is not None else cookie_revision(manifest)
    state = _state(session, subject, choice.scope, choice.key)
    if state is None:
        session.add(ConsentState(subject_id=subject.id, scope=choice.scope.value, key=choice.key,
                                 decision=event.decision, decided_at=decided_at, event_id=event.id,
                                 revision=revision))
    elif as_utc(state.decided_at) <= as_utc(decided_at):
        # A choice carried over from a visitor may be older than the subject's own: the newer one stands.
        state.decision, state.decided_at, state.event_id = event.decision, decided_at, event.id
        state.revision = revision
    session.flush()
    return event


def _record(session: Session, manifest: Manifest, key: SubjectKey,
            planned: Sequence[tuple[Choice, Collection]], *, clock: Clock) -> list[ConsentEvent]:
    for choice, _ in planned:
        check_choice(manifest, choice)
    _serialise_writers(session)
    subject = ensure_subject(session, key, clock=clock)
    target = effective_subject(session, subject)
    via = subject if target.id != subject.id else None
    now = as_utc(clock())
    stored: set[str] = set()
    events = []
    for choice, collection in planned:
        if collection.notice is not None and collection.notice.version not in stored:
            ensure_notice(session, collection.notice, clock=lambda: now)
            stored.add(collection.notice.version)
        events.append(_append_event(session, manifest, target, choice, collection, now=now, decided_at=now,
                                    via=via))
    return events


def record_choices(session: Session, manifest: Manifest, key: SubjectKey, choices: Sequence[Choice],
                   collection: Collection, *, clock: Clock = utcnow) -> list[ConsentEvent]:
    """Record decisions of one subject in the caller's transaction: one event and one ledger entry each."""
    return _record(session, manifest, key, [(choice, collection) for choice in choices], clock=clock)


def current_decision(session: Session, key: SubjectKey, scope: Scope, name: str) -> Decision | None:
    """The newest decision of a subject (through its link, for a visitor) about one purpose or category."""
    subject = find_subject(session, key)
    if subject is None:
        return None
    state = _state(session, effective_subject(session, subject), scope, name)
    return Decision(state.decision) if state is not None else None


def _no_longer(current: Decision | None) -> Decision:
    # Saying no to something once agreed is a withdrawal (Art. 7(3)); to something never agreed, a refusal.
    return Decision.withdrawn if current is Decision.given else Decision.refused


def record_cookie_choices(session: Session, manifest: Manifest, consent_id: str, choices: Mapping[str, bool],
                          collection: Collection, *, gpc: bool = False, clock: Clock = utcnow) -> CookieChoices:
    """Record a visitor's banner choices; with a GPC signal, advertising is refused (a GPC event) whatever was sent."""
    key = visitor_key(consent_id)
    wanted = dict(choices)
    if gpc:
        for category in GPC_REFUSED_CATEGORIES:
            if category in manifest.cookies.categories and not manifest.cookies.categories[category].required:
                wanted[category] = False
    current = {name: Decision(state.decision) for name, state in category_states(session, key).items()}
    planned: list[tuple[Choice, Collection]] = []
    for category, accepted in wanted.items():
        decision = Decision.given if accepted else _no_longer(current.get(category))
        by = collection.using(CollectionMethod.gpc) if gpc and category in GPC_REFUSED_CATEGORIES else collection
        planned.append((Choice(Scope.category, category, decision), by))
    _record(session, manifest, key, planned, clock=clock)
    return cookie_choices(session, manifest, consent_id, clock=clock)


def cookie_choices(session: Session, manifest: Manifest, consent_id: str, *, clock: Clock = utcnow) -> CookieChoices:
    """A visitor's current cookie choices (through its link): accepted means given and still counting.

    As the permission check counts it: not expired, and given under the current cookie section.
    """
    key = visitor_key(consent_id)
    states = category_states(session, key)
    now = as_utc(clock())
    revision = cookie_revision(manifest)
    choices = {}
    for category, state in states.items():
        expires = consent_expiry(manifest, Scope.category, category, state.decided_at)
        choices[category] = (state.decision == Decision.given.value and made_under(state.revision, revision)
                             and now < expires)
    return CookieChoices(
        consent_id=consent_id,
        choices=choices,
        version=max((s.event_id for s in states.values()), default=0),
        decided_at=max((as_utc(s.decided_at) for s in states.values()), default=None),
    )


def withdraw(session: Session, manifest: Manifest, key: SubjectKey, purpose: str, collection: Collection, *,
             clock: Clock = utcnow) -> ConsentEvent | None:
    """Withdraw consent to a purpose (a refusal if it was never given); None when nothing is left to withdraw."""
    current = current_decision(session, key, Scope.purpose, purpose)
    if current in (Decision.withdrawn, Decision.refused, Decision.objected):
        return None
    decision = _no_longer(current)
    return record_choices(session, manifest, key, [Choice(Scope.purpose, purpose, decision)], collection,
                          clock=clock)[0]


def object_to(session: Session, manifest: Manifest, key: SubjectKey, purpose: str, collection: Collection, *,
              clock: Clock = utcnow) -> ConsentEvent | None:
    """Record an objection to a purpose (Art. 21); None when one is already recorded."""
    if current_decision(session, key, Scope.purpose, purpose) is Decision.objected:
        return None
    return record_choices(session, manifest, key, [Choice(Scope.purpose, purpose, Decision.objected)],
                          collection, clock=clock)[0]


def unsubscribe(session: Session, manifest: Manifest, key: SubjectKey, purpose: str, collection: Collection, *,
                clock: Clock = utcnow) -> ConsentEvent | None:
    """What an email's unsubscribe link does: withdraw consent, or object for a legitimate-interest purpose."""
    declared = manifest.purposes.get(purpose)
    if declared is None:
        raise UnknownPurpose(f"unknown purpose {purpose!r}")
    if declared.legal_basis == "consent":
        return withdraw(session, manifest, key, purpose, collection, clock=clock)
    if declared.legal_basis in OBJECTABLE_BASES:
        return object_to(session, manifest, key, purpose, collection, clock=clock)
    raise DecisionNotApplicable(f"purpose {purpose!r} rests on {declared.legal_basis}: no unsubscribe applies")


def link_visitor(session: Session, manifest: Manifest, consent_id: str, subject: SubjectKey, *, actor: str,
                 clock: Clock = utcnow) -> list[ConsentEvent]:
    """Link an anonymous visitor to an identified subject; the visitor's newer choices carry over to the subject.

    From then on the visitor's consent id answers with the subject's choices, on every linked device. Returns the
    events carried over (method ``link``, each citing the visitor's original event).
    """
    if not subject.identified:
        raise ConsentError("a visitor can only be linked to an identified subject (email or customer id)")
    _serialise_writers(session)
    visitor = ensure_subject(session, visitor_key(consent_id), clock=clock)
    target = ensure_subject(session, subject, clock=clock)
    if visitor.linked_to == target.id:
        return []
    if visitor.linked_to is not None:
        raise AlreadyLinked(f"consent id {consent_id} is already linked to another subject")
    now = as_utc(clock())
    visitor.linked_to = target.id
    append(session, "consent.subject_linked", {"visitor": visitor.ref, "kind": target.kind}, actor=actor,
           subject=target.ref, clock=lambda: now)
    carried = []
    own = {(s.scope, s.key): s for s in session.scalars(select(ConsentState).where(
        ConsentState.subject_id == visitor.id))}
    for (scope, name), state in sorted(own.items()):
        mine = session.get(ConsentState, (target.id, scope, name))
        if mine is not None and as_utc(mine.decided_at) >= as_utc(state.decided_at):
            continue
        origin = session.get(ConsentEvent, state.event_id)
        assert origin is not None  # the state's foreign key guarantees it
        collection = Collection(CollectionMethod.link, actor, notice_version=origin.notice_version,
                                lang=origin.lang, request=RequestMeta(origin.ip_prefix, origin.user_agent))
        choice = Choice(Scope(scope), name, Decision(state.decision))
        carried.append(_append_event(session, manifest, target, choice, collection, now=now,
                                     decided_at=as_utc(state.decided_at), via=visitor, origin=origin,
                                     origin_revision=state.revision))
    session.flush()
    return carried

