"""Mail to subjects and to the DPO, queued in the transaction of the change it reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.mail import compose, enqueue
from charte.manifest import Manifest
from charte.render.formatting import format_date, language
from charte.rights.letters import Letter, right_name
from charte.rights.links import RightsSigner
from charte.rights.verification import IssuedChallenge
from charte.store.rights import Restriction, RightsRequest


@dataclass(frozen=True)
class Outgoing:
    """Where mail comes from and how links in it are made."""

    manifest: Manifest
    signer: RightsSigner
    base_url: str
    mail_from: str
    clock: Clock

    def url(self, path: str, **query: str) -> str:
        """An absolute link into the privacy center."""
        return self.base_url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")


def _hours(ttl: timedelta) -> int:
    return max(1, int(ttl.total_seconds() // 3600))


def _send(session: Session, out: Outgoing, request: RightsRequest, template: str, purpose: str,
          **context: object) -> bool:
    # A request made without an address (an integrating system's) is answered by post: the letter stays on file.
    if not request.email:
        return False
    lang = language(request.language)
    message = compose(template, lang, {"reference": request.reference, "controller": out.manifest.controller.name,
                                       "right": right_name(out.manifest, request.request_type, lang),
                                       "dpo": out.manifest.dpo.email, **context},
                      to=request.email, sender=out.mail_from, reply_to=out.manifest.dpo.email, clock=out.clock)
    enqueue(session, message, purpose=purpose, reference=request.reference, subject_ref=request.subject_ref,
            clock=out.clock)
    return True


def challenge_link(out: Outgoing, request: RightsRequest, challenge: IssuedChallenge) -> str:
    """The signed link of a challenge."""
    token = out.signer.verification_token(request.reference, challenge.challenge_id, challenge.nonce)
    return out.url("/requests/link", token=token)


def queue_verification(session: Session, out: Outgoing, request: RightsRequest, challenge: IssuedChallenge) -> bool:
    """The code and link that confirm a new request (or sign the subject in to see an answer)."""
    template = "rights/verify" if challenge.purpose == "verify" else "rights/signin"
    return _send(session, out, request, template, f"rights.{challenge.purpose}", code=challenge.code,
                 link=challenge_link(out, request, challenge), hours=_hours(challenge.ttl),
                 code_page=out.url("/requests/verify", reference=request.reference))


def queue_letter(session: Session, out: Outgoing, request: RightsRequest, letter: Letter,
                 signin: IssuedChallenge | None) -> bool:
    """The final letter, with a sign-in link to the subject's space when there is more to see there."""
    return _send(session, out, request, "rights/letter", "rights.letter", letter=letter,
                 link=challenge_link(out, request, signin) if signin else None,
                 hours=_hours(signin.ttl) if signin else 0)


def queue_extension(session: Session, out: Outgoing, request: RightsRequest) -> bool:
    """The extension and its reasons, before the first due date (Art. 12(3))."""
    lang = language(request.language)
    return _send(session, out, request, "rights/extended", "rights.extension", months=request.extension_months,
                 due=format_date(request.due_on, lang), first_due=format_date(request.first_due_on, lang),
                 reason=request.extension_reason or "")


def queue_document_request(session: Session, out: Outgoing, request: RightsRequest,
                           signin: IssuedChallenge) -> bool:
    """The reasonable doubt and how to send an identity document."""
    return _send(session, out, request, "rights/document", "rights.document", reason=request.doubt_reason or "",
                 link=challenge_link(out, request, signin), hours=_hours(signin.ttl))


def queue_lift_notice(session: Session, out: Outgoing, request: RightsRequest, restriction: Restriction) -> bool:
    """The notice that a restriction will be lifted, why and from when (Art. 18(3))."""
    lang = language(request.language)
    assert restriction.lift_not_before is not None
    return _send(session, out, request, "rights/lift_notice", "rights.lift_notice",
                 reason=restriction.lift_reason or "", not_before=format_date(restriction.lift_not_before.date(), lang))


@dataclass(frozen=True)
class ReminderLine:
    """One request in the DPO's reminder."""

    reference: str
    right: str
    state: str
    due_on: date
    days_left: int


def queue_dpo_reminder(session: Session, out: Outgoing, lines: Sequence[ReminderLine]) -> bool:
    """One digest to the DPO listing the requests that are late or close to their due date."""
    if not lines:
        return False
    lang = language(out.manifest.default_language)
    message = compose("rights/dpo_reminder", lang, {
        "controller": out.manifest.controller.name, "lines": lines,
        "late": [line for line in lines if line.days_left < 0],
        "soon": [line for line in lines if line.days_left >= 0],
        "dashboard": out.url("/admin/requests"), "format_date": lambda d: format_date(d, lang),
    }, to=out.manifest.dpo.email, sender=out.mail_from, clock=out.clock)
    enqueue(session, message, purpose="rights.dpo_reminder", clock=out.clock)
    return True
