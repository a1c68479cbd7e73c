"""The letters that answer a request: built once as data, shown on the subject's page and sent as mail."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from charte.manifest import Manifest, tr
from charte.render.formatting import format_date, join_words, language
from charte.render.locales import Lang
from charte.rights.consent_actions import ConsentChange
from charte.rights.execution import ExecutionOutcome, SystemAction
from charte.rights.report import report_lines
from charte.rights.wording import WORDS, words
from charte.store.rights import RightsRequest

#: Request types whose letter lists the recipients informed of the change (Art. 19).
ART19_TYPES = frozenset({"rectification", "erasure", "restriction"})


@dataclass(frozen=True)
class LetterSection:
    """A part of a letter: an optional heading, paragraphs, then a list."""

    heading: str | None = None
    paragraphs: tuple[str, ...] = ()
    items: tuple[str, ...] = ()


@dataclass(frozen=True)
class Letter:
    """A letter to a subject, independent of its format (mail text, web page)."""

    subject: str
    language: str
    greeting: str
    sections: tuple[LetterSection, ...]
    signature: str

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (stored with the request)."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Letter:
        """The letter stored by :meth:`to_json`."""
        return cls(subject=data["subject"], language=data["language"], greeting=data["greeting"],
                   signature=data["signature"],
                   sections=tuple(LetterSection(s.get("heading"), tuple(s.get("paragraphs", ())),
                                                tuple(s.get("items", ()))) for s in data["sections"]))

    def as_text(self) -> str:
        """The letter as plain text (the body of the mail)."""
        lines = [self.greeting, ""]
        for section in self.sections:
            if section.heading:
                lines += [section.heading, "-" * len(section.heading)]
            lines += [*section.paragraphs]
            lines += [f"  - {item}" for item in section.items]
            lines.append("")
        lines.append(self.signature)
        return "\n".join(lines)


@dataclass(frozen=True)
class AnswerFacts:
    """What the completion letter reports, gathered by the execution step."""

    outcome: ExecutionOutcome | None = None
    report: dict[str, Any] | None = None
    consent_changes: Sequence[ConsentChange] = ()
    restricted_since: datetime | None = None
    recipients: Sequence[Mapping[str, Any]] = ()
    portable_count: int = 0
    portable_purposes: Sequence[str] = ()
    available_until: date | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


def right_name(manifest: Manifest, request_type: str, lang: str) -> str:
    """The name of the right a request type exercises, as the manifest words it."""
    for right in manifest.rights.values():
        if right.request_type == request_type:
            return tr(right.name, lang)
    return request_type.replace("_", " ")


def _frame(manifest: Manifest, request: RightsRequest, lg: Lang) -> dict[str, str]:
    return {"reference": request.reference, "right": right_name(manifest, request.request_type, lg),
            "received": format_date(request.received_on, lg), "controller": manifest.controller.name,
            "dpo": manifest.dpo.email, "authority": manifest.supervisory_authority.name,
            "full_name": tr(manifest.supervisory_authority.full_name, lg),
            "address": manifest.supervisory_authority.address,
            "complaint_url": manifest.supervisory_authority.complaint_url}


def _footer(frame: Mapping[str, str], lg: Lang) -> LetterSection:
    return LetterSection(words("footer.heading", lg), (words("footer.unsatisfied", lg, **frame),))


def _action_line(action: SystemAction, lg: Lang) -> str:
    where = f"{action.system} / {action.collection}" + (f" / {action.field}" if action.field else "")
    key = f"action.{action.action}"
    label = words(key, lg) if key in WORDS else action.action
    count = words("action.count", lg, count=action.count) if action.count else ""
    line = words("action.line", lg, where=where, action=label, count=count)
    return f"{line} — {words('action.reason', lg, reason=action.reason)}" if action.reason else line


def _data_paragraph(manifest: Manifest, outcome: ExecutionOutcome | None, lg: Lang) -> str:
    if outcome is None or outcome.no_connected_systems:
        return words("data.none_connected", lg, controller=manifest.controller.name)
    if not outcome.records:
        return words("data.not_found", lg, systems=join_words(outcome.systems, lg))
    systems = join_words(sorted({r.system for r in outcome.records}), lg)
    return words("data.found", lg, records=len(outcome.records), systems=systems)


def _actions_section(manifest: Manifest, outcome: ExecutionOutcome | None, lg: Lang) -> LetterSection:
    if outcome is None or outcome.no_connected_systems:
        return LetterSection(words("actions.heading", lg), (_data_paragraph(manifest, outcome, lg),))
    if not outcome.actions:
        return LetterSection(words("actions.heading", lg), (words("actions.none", lg),))
    return LetterSection(words("actions.heading", lg), (), tuple(_action_line(a, lg) for a in outcome.actions))


def _art19_section(recipients: Sequence[Mapping[str, Any]], lg: Lang) -> LetterSection:
    if not recipients:
        return LetterSection(words("art19.heading", lg), (words("art19.none", lg),))
    kinds = {r["kind"]: words(f"recipient.kind.{r['kind']}", lg) for r in recipients
             if f"recipient.kind.{r['kind']}" in WORDS}
    return LetterSection(words("art19.heading", lg), (words("art19.intro", lg),),
                         tuple(words("recipient.line", lg, name=r["name"], kind=kinds.get(r["kind"], r["kind"]),
                                     country=r["country_name"]) for r in recipients))


def _changes(manifest: Manifest, changes: Sequence[ConsentChange], lg: Lang) -> tuple[str, ...]:
    return tuple(words("change.line", lg, name=tr(manifest.purposes[c.purpose].name, lg)
                       if c.purpose in manifest.purposes else c.purpose,
                       state=words(f"consent.state.{c.state}", lg)) for c in changes)


def _body(manifest: Manifest, request: RightsRequest, facts: AnswerFacts, frame: Mapping[str, str],
          lg: Lang) -> list[LetterSection]:
    kind = request.request_type
    until = format_date(facts.available_until, lg) if facts.available_until else ""
    since = format_date((facts.restricted_since or request.decided_at or request.received_at).date(), lg)
    if kind in ("access", "information"):
        intro = [words("access.intro" if kind == "access" else "information.intro", lg)]
        sections = [LetterSection(paragraphs=tuple(intro))]
        if facts.report is not None:
            sections += [LetterSection(h, tuple(p), tuple(i)) for h, p, i in report_lines(facts.report, lg)]
        if kind == "access":
            data = [_data_paragraph(manifest, facts.outcome, lg)]
            if facts.outcome is not None and facts.outcome.records and until:
                data.append(words("data.download", lg, until=until))
            sections.append(LetterSection(words("art15.data", lg), tuple(data)))
        return sections
    if kind == "portability":
        names = join_words([tr(manifest.purposes[k].name, lg) for k in facts.portable_purposes
                            if k in manifest.purposes], lg)
        paragraphs = [words("portability.intro", lg, until=until), words("portability.scope", lg, purposes=names),
                      _data_paragraph(manifest, facts.outcome, lg) if facts.portable_count == 0
                      else words("portability.count", lg, records=facts.portable_count)]
        return [LetterSection(paragraphs=tuple(paragraphs))]
    if kind in ("rectification", "erasure"):
        opening = (words("rectification.intro", lg, details=request.details or "") if kind == "rectification"
                   else words("erasure.intro", lg))
        sections = [LetterSection(paragraphs=(opening,)), _actions_section(manifest, facts.outcome, lg)]
        if kind == "erasure" and facts.outcome and any(a.action == "kept" for a in facts.outcome.actions):
            sections.append(LetterSection(paragraphs=(words("erasure.kept", lg),)))
        return [*sections, _art19_section(facts.recipients, lg)]
    if kind == "restriction":
        return [LetterSection(paragraphs=(words("restriction.intro", lg, date=since),
                                          words("restriction.lift", lg))),
                _actions_section(manifest, facts.outcome, lg), _art19_section(facts.recipients, lg)]
    if kind in ("objection", "automated_decision", "withdraw_consent"):
        effective = min((c.effective_at for c in facts.consent_changes),
                        default=request.decided_at or request.received_at)
        sections = [LetterSection(paragraphs=(words(f"{kind}.intro", lg, date=format_date(effective.date(), lg)),),
                                  items=_changes(manifest, facts.consent_changes, lg))]
        if kind == "withdraw_consent":
            sections.append(LetterSection(paragraphs=(words("withdraw_consent.lawful", lg),)))
        if kind == "automated_decision":
            logic = [words("automated.line", lg, name=tr(p.name, lg), kind="", logic=tr(p.automated_logic, lg) or "—")
                     .replace(" ()", "") for key in request.purposes if (p := manifest.purposes.get(key))]
            sections.append(LetterSection(words("art15.h", lg), (), tuple(logic)))
            sections.append(LetterSection(paragraphs=(words("automated_decision.human", lg, dpo=frame["dpo"]),)))
        return sections
    if kind == "complaint":
        return [LetterSection(paragraphs=(words("complaint.intro", lg, details=request.details or ""),)),
                LetterSection(words("complaint.response", lg), (request.decision_reason or "",))]
    return []


def completion_letter(manifest: Manifest, request: RightsRequest, facts: AnswerFacts) -> Letter:
    """The letter that answers a completed request, in the request's language."""
    lg = language(request.language)
    frame = _frame(manifest, request, lg)
    sections = [LetterSection(paragraphs=(words("intro.completed", lg, **frame),)),
                *_body(manifest, request, facts, frame, lg), _footer(frame, lg)]
    return Letter(subject=words("subject.completed", lg, **frame), language=lg, greeting=words("greeting", lg),
                  sections=tuple(sections), signature=words("signature", lg, controller=frame["controller"]))


def denial_letter(manifest: Manifest, request: RightsRequest) -> Letter:
    """The reasoned refusal: the reason, the complaint to the CNIL and the judicial remedy (Art. 12(4))."""
    lg = language(request.language)
    frame = _frame(manifest, request, lg)
    sections = (
        LetterSection(paragraphs=(words("denied.intro", lg, **frame), request.decision_reason or "")),
        LetterSection(words("denied.remedies.heading", lg), (words("denied.remedies", lg, **frame),)),
        _footer(frame, lg),
    )
    return Letter(subject=words("subject.denied", lg, **frame), language=lg, greeting=words("greeting", lg),
                  sections=sections, signature=words("signature", lg, controller=frame["controller"]))
