"""What the request routes share: the workflow's services, mail delivery after the response, the subject's session.

Tests (and the jobs) may set ``app.state.clock``, ``app.state.mail_sender``, ``app.state.rights_executor`` and
``app.state.rights_consent``; otherwise the workspace's settings and :mod:`charte.rights.wiring` decide.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime
from typing import cast

from fastapi import BackgroundTasks, Request
from starlette.responses import Response

from charte.api.deps import get_workspace
from charte.ledger import utcnow
from charte.mail import MailSender, deliver_pending, sender_from_settings
from charte.rights import InvalidLink, RightsPolicy, RightsServices, RightsSigner, SubjectSession, run_request
from charte.rights.consent_actions import ConsentActions
from charte.rights.execution import Executor
from charte.rights.identity import IdentifierKind
from charte.rights.policy import policy_from_settings
from charte.rights.wiring import (
    DEFAULT_PUBLIC_URL,
    default_consent_actions,
    default_executor,
    offered_identifiers,
)

SUBJECT_COOKIE = "charte_subject"
FORM_COOKIE = "charte_request_form"


def clock_of(request: Request) -> Callable[[], datetime]:
    """The app's clock (a test may set ``app.state.clock``)."""
    clock: Callable[[], datetime] = getattr(request.app.state, "clock", utcnow)
    return clock


def _cached(request: Request, name: str, make: Callable[[], object]) -> object:
    value = getattr(request.app.state, name, None)
    if value is None:
        value = make()
        setattr(request.app.state, name, value)
    return value


def rights_policy(request: Request) -> RightsPolicy:
    """The workspace's rights policy, read once per app."""
    policy = _cached(request, "rights_policy", lambda: policy_from_settings(get_workspace(request).settings))
    assert isinstance(policy, RightsPolicy)
    return policy


def rights_signer(request: Request) -> RightsSigner:
    """The signer of subjects' links and cookies."""
    signer = _cached(request, "rights_signer", lambda: RightsSigner(get_workspace(request).settings.secret_key))
    assert isinstance(signer, RightsSigner)
    return signer


def mail_sender(request: Request) -> MailSender:
    """SMTP or the outbox, as the settings say (a test may set ``app.state.mail_sender``)."""
    sender = _cached(request, "mail_sender", lambda: sender_from_settings(get_workspace(request).settings))
    assert isinstance(sender, MailSender)
    return sender


def services(request: Request) -> RightsServices:
    """The workflow's services for this request (links point at the public URL, else at this host)."""
    workspace = get_workspace(request)
    settings = workspace.settings
    executor = getattr(request.app.state, "rights_executor", None) or _cached(
        request, "rights_default_executor", lambda: default_executor(workspace))
    consent = getattr(request.app.state, "rights_consent", None) or _cached(
        request, "rights_default_consent", lambda: default_consent_actions(workspace))
    identifiers = _cached(request, "rights_identifiers",
                          lambda: offered_identifiers(workspace, cast(Executor, executor)) or ())
    base = settings.public_url or str(request.base_url) or DEFAULT_PUBLIC_URL
    return RightsServices(manifest=workspace.manifest, policy=rights_policy(request), signer=rights_signer(request),
                          base_url=base.rstrip("/"), mail_from=settings.mail_from or workspace.manifest.dpo.email,
                          executor=cast(Executor, executor), consent=cast(ConsentActions, consent),
                          clock=clock_of(request),
                          identifiers=cast(tuple[IdentifierKind, ...], identifiers) or None)


def deliver_later(request: Request, background: BackgroundTasks) -> None:
    """Send the queued mail once the response has gone (a failure stays queued for the next delivery)."""
    background.add_task(deliver_pending, get_workspace(request).sessions, mail_sender(request),
                        clock=clock_of(request))


def run_later(request: Request, background: BackgroundTasks, reference: str) -> None:
    """Execute an approved request after the response, then send its letter."""
    background.add_task(run_request, get_workspace(request).sessions, services(request), reference,
                        worker=f"web:{os.getpid()}")
    deliver_later(request, background)


def follow_up(request: Request, background: BackgroundTasks, reference: str, state: str) -> None:
    """After the response: send the queued mail and, when the request is approved, execute it and send its letter."""
    deliver_later(request, background)
    if state == "approved":
        run_later(request, background, reference)


def subject_session(request: Request) -> SubjectSession | None:
    """The verified subject of this browser, if any."""
    value = request.cookies.get(SUBJECT_COOKIE)
    if not value:
        return None
    try:
        return rights_signer(request).read_subject_session(
            value, max_age=rights_policy(request).subject_session_ttl.total_seconds())
    except InvalidLink:
        return None


def start_subject_session(request: Request, response: Response, subject_ref: str) -> None:
    """Sign this browser in as the subject (after a code, a link or a sign-in link)."""
    _, value = rights_signer(request).subject_session(subject_ref)
    response.set_cookie(SUBJECT_COOKIE, value, max_age=int(rights_policy(request).subject_session_ttl.total_seconds()),
                        path="/", httponly=True, samesite="lax", secure=get_workspace(request).settings.secure_cookies)


def end_subject_session(response: Response) -> None:
    """Forget the subject in this browser."""
    response.delete_cookie(SUBJECT_COOKIE, path="/")


def form_token(request: Request, response_cookies: list[tuple[str, str]]) -> str:
    """The CSRF token of an anonymous form; its signed cookie is added to ``response_cookies``."""
    value = request.cookies.get(FORM_COOKIE)
    if value:
        try:
            return rights_signer(request).read_form_token(value, max_age=24 * 3600)
        except InvalidLink:
            pass
    token, signed = rights_signer(request).form_token()
    response_cookies.append((FORM_COOKIE, signed))
    return token


def set_form_cookies(request: Request, response: Response, cookies: list[tuple[str, str]]) -> None:
    """Attach the form cookies created while rendering."""
    for name, value in cookies:
        response.set_cookie(name, value, max_age=24 * 3600, path="/requests", httponly=True, samesite="strict",
                            secure=get_workspace(request).settings.secure_cookies)


def form_token_matches(request: Request, submitted: str | None) -> bool:
    """Whether a posted anonymous form carries the token its cookie vouches for."""
    from charte.auth import csrf_matches

    value = request.cookies.get(FORM_COOKIE)
    if not value:
        return False
    try:
        expected = rights_signer(request).read_form_token(value, max_age=24 * 3600)
    except InvalidLink:
        return False
    return csrf_matches(expected, submitted)
