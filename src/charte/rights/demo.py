"""Demo requests for the reference customer: one of each situation the DPO meets, at plausible dates.

The demo simulates time: requests are received days ago (their ledger events carry those dates). No mail is
queued: the demo's links would not be signed with the workspace's key.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from charte.ledger.chain import Clock
from charte.manifest import Manifest
from charte.rights.consent_actions import ConsentActions
from charte.rights.execution import ExecutionOutcome, ManifestExecutor
from charte.rights.intake import Submission, submit_request
from charte.rights.links import RightsSigner
from charte.rights.policy import RightsPolicy
from charte.rights.requests import now_utc
from charte.rights.service import EXECUTED_TYPES, RightsServices, complete_claimed
from charte.rights.verification import confirm_identity, email_verified, record_reasonable_doubt
from charte.rights.workflow import approve, claim, deny, extend
from charte.store.rights import RightsRequest

DEMO_DOMAIN = "example.org"


def _at(now: datetime, days_ago: float) -> Clock:
    moment = now - timedelta(days=days_ago)
    return lambda: moment


def _consent_actions(manifest: Manifest) -> ConsentActions:
    from charte.rights.consent_engine import ConsentEngineActions

    return ConsentEngineActions(manifest)


def seed_demo_requests(session: Session, manifest: Manifest, *, clock: Clock,
                       consent: ConsentActions | None = None) -> list[str]:
    """Create the demo requests once (a second run adds nothing); return their references."""
    if session.scalars(select(RightsRequest.id).where(RightsRequest.email.like(f"%@{DEMO_DOMAIN}"))).first():
        return []
    policy = RightsPolicy()
    now = now_utc(clock)
    available = {r.request_type for r in manifest.rights.values() if r.request_type}
    svc = RightsServices(manifest, policy, RightsSigner(secrets.token_urlsafe(48)), "http://127.0.0.1:8000",
                         manifest.dpo.email, ManifestExecutor(), consent or _consent_actions(manifest), clock)
    created: list[str] = []

    def new(kind: str, who: str, days_ago: float, **extra: object) -> RightsRequest | None:
        if kind not in available:
            return None
        at = _at(now, days_ago)
        submission = Submission(kind, email=f"{who}@{DEMO_DOMAIN}", language=str(extra.pop("lang", "fr")),
                                **extra)  # type: ignore[arg-type]
        request = submit_request(session, manifest, submission, address=None, policy=policy, clock=at).request
        created.append(request.reference)
        return request

    def verified(request: RightsRequest | None, days_ago: float, *, review: bool = True) -> RightsRequest | None:
        if request is not None:
            email_verified(session, request, method="email_link", policy=policy, clock=_at(now, days_ago))
            if request.state == "identity_review" and review:
                confirm_identity(session, request, actor="admin:demo-dpo", note="the account matches the address",
                                 policy=policy, clock=_at(now, days_ago))
        return request

    def answered(request: RightsRequest | None, days_ago: float) -> None:
        if request is None:
            return
        at = _at(now, days_ago)
        approve(session, request, actor="admin:demo-dpo", policy=policy, clock=at)
        claim(session, request.id, "demo", at())
        session.refresh(request)
        # The reference customer connects no system: the truthful outcome is an empty one.
        outcome = ExecutionOutcome() if request.request_type in EXECUTED_TYPES else None
        complete_claimed(session, _with_clock(svc, at), request, "demo", outcome, notify=False)

    answered(verified(new("access", "camille.martin", 20), 19.9), 12)
    answered(verified(new("objection", "louis.bernard", 10, purposes=["satisfaction_surveys"], lang="en"), 9.9), 9)
    verified(new("erasure", "ines.dubois", 26), 25.9)
    extended = verified(new("rectification", "hugo.thomas", 12, details="Mon adresse de facturation est "
                                                                         "désormais 3 rue des Lilas, 54000 Nancy."),
                        11.9)
    if extended is not None:
        extend(session, extended, 2, "Les données à rectifier sont réparties dans plusieurs logiciels de "
               "facturation qu'il faut reprendre un à un.", actor="admin:demo-dpo", policy=policy, clock=_at(now, 5))
    verified(new("automated_decision", "lea.petit", 40), 39.9)
    refused = verified(new("portability", "jules.robert", 8), 7.9)
    if refused is not None:
        deny(session, refused, "Aucun compte client n'est associé à cette adresse : nous ne détenons aucune donnée "
             "que vous nous auriez fournie au titre d'un contrat ou de votre consentement.", actor="admin:demo-dpo",
             policy=policy, clock=_at(now, 3))
    doubtful = verified(new("access", "manon.richard", 4, identifiers={"user.unique_id": "C-20417"}), 3.9,
                        review=False)
    if doubtful is not None and doubtful.state == "identity_review":
        record_reasonable_doubt(session, doubtful, "Le numéro client indiqué appartient à un autre titulaire.",
                                actor="admin:demo-dpo", policy=policy, clock=_at(now, 3))
    new("restriction", "nathan.durand", 0.2)
    return created


def _with_clock(svc: RightsServices, clock: Callable[[], datetime]) -> RightsServices:
    return RightsServices(svc.manifest, svc.policy, svc.signer, svc.base_url, svc.mail_from, svc.executor,
                          svc.consent, clock)
