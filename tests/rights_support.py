"""Helpers of the rights tests: a real SMTP server (aiosmtpd), the request form, the emailed code and link."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import select

from charte.config import Settings
from charte.ledger import verify
from charte.rights import ExecutionOutcome, FoundRecord, FoundValue, Identity, SystemAction, find_request
from charte.store.models import LedgerEvent
from charte.store.rights import RightsRequest
from charte.workspace import Workspace
from tests.web_support import csrf_token, free_port

CODE = re.compile(r"^\s+(\d{6})\s*$", re.MULTILINE)
LINK = re.compile(r"(https?://\S+/requests/link\?token=\S+)")
REFERENCE = re.compile(r"R-[0-9A-Z]{4}-[0-9A-Z]{4}")


@dataclass
class Received:
    """Messages an SMTP server accepted, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if address.lower() in str(m["To"]).lower()]

    def wait_for(self, address: str, count: int, timeout: float = 15) -> list[EmailMessage]:
        """The messages to ``address`` once there are ``count`` of them."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                subjects = [str(m["Subject"]) for m in found]
                raise AssertionError(f"{count} message(s) to {address} expected, got {subjects}")
            time.sleep(0.05)


@contextmanager
def smtp_server() -> Iterator[tuple[str, Received]]:
    """A real SMTP server on 127.0.0.1 (aiosmtpd), and what it received."""
    received = Received()
    port = free_port()
    controller = Controller(received, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", received
    finally:
        controller.stop()


def body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert isinstance(part, EmailMessage)
    return str(part.get_content())


def flat(message: EmailMessage) -> str:
    """The body on one line: template text wraps lines where a sentence may be searched for."""
    return " ".join(body(message).split())


def code_in(message: EmailMessage) -> str:
    match = CODE.search(body(message))
    assert match, body(message)
    return match.group(1)


def link_in(message: EmailMessage) -> str:
    match = LINK.search(body(message))
    assert match, body(message)
    return match.group(1)


def settings_with_smtp(settings: Settings, smtp_url: str, **extra: str) -> Settings:
    """The workspace's settings, with its ``.env`` pointing at the test SMTP server (and other variables)."""
    env = settings.home / ".env"
    lines = [f"CHARTE_SMTP_URL={smtp_url}", *(f"{k}={v}" for k, v in extra.items())]
    env.write_text(env.read_text() + "\n".join(lines) + "\n")
    return Settings.for_home(settings.home)


def submit(client: TestClient, request_type: str, email_address: str, *, lang: str = "fr",
           **fields: str | Sequence[str]) -> httpx.Response:
    """Fill and post the request form as a browser would (not following the redirect)."""
    form = client.get(f"/requests/new?lang={lang}")
    assert form.status_code == 200, form.text
    data: dict[str, Any] = {"csrf_token": csrf_token(form.text), "request_type": request_type, "email": email_address,
                            "language": lang, **fields}
    response: httpx.Response = client.post(f"/requests/new?lang={lang}", data=data, follow_redirects=False)
    return response


def reference_of(response: httpx.Response) -> str:
    match = REFERENCE.search(response.headers.get("location", ""))
    assert match, response.headers
    return match.group(0)


def verify_with_code(client: TestClient, reference: str, code: str, *, lang: str = "fr") -> httpx.Response:
    page = client.get(f"/requests/verify?reference={reference}&lang={lang}")
    response: httpx.Response = client.post(f"/requests/verify?lang={lang}", data={
        "csrf_token": csrf_token(page.text), "reference": reference, "code": code}, follow_redirects=False)
    return response


def follow_link(client: TestClient, link: str) -> httpx.Response:
    """Open an emailed link, then press its confirmation button."""
    path = link.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path)
    assert page.status_code == 200, page.text
    token = re.search(r'name="token" value="([^"]+)"', page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert token and action, page.text
    data = {"csrf_token": csrf_token(page.text), "token": token.group(1)}
    response: httpx.Response = client.post(action.group(1).replace("&amp;", "&"), data=data, follow_redirects=False)
    return response


def dpo_post(dpo: TestClient, reference: str, action: str, **data: str) -> httpx.Response:
    page = dpo.get(f"/admin/requests/{reference}")
    assert page.status_code == 200, page.text
    response: httpx.Response = dpo.post(f"/admin/requests/{reference}/{action}",
                                        data={"csrf_token": csrf_token(page.text), **data}, follow_redirects=False)
    return response


@dataclass
class FakeExecutor:
    """An execution step standing for connected systems: finds one customer row and acts on it."""

    calls: list[tuple[str, Identity, str | None]] = field(default_factory=list)

    def execute(self, request_type: str, identity: Identity, *, manifest: Any, store: Any, request_id: str,
                details: str | None = None, dry_run: bool = False, clock: Callable[[], Any]) -> ExecutionOutcome:
        self.calls.append((request_type, identity, details))
        record = FoundRecord("crm", "customers", (
            FoundValue("email", identity.email, "user.contact.email"),
            FoundValue("name", "Alice Martin", "user.name"),
            FoundValue("last_page", "/pricing", "user.behavior.browsing_history"),
        ))
        actions: tuple[SystemAction, ...] = ()
        if request_type == "erasure":
            actions = (SystemAction("crm", "customers", "erased", count=1),
                       SystemAction("billing", "invoices", "kept", count=3,
                                    reason="Code de commerce, art. L123-22 (10 ans)"))
        elif request_type == "rectification":
            actions = (SystemAction("crm", "customers", "rectified", field="address", count=1),)
        elif request_type == "restriction":
            actions = (SystemAction("crm", "customers", "restricted", count=1),)
        return ExecutionOutcome(systems=("crm", "billing"), records=(record,), actions=actions)


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def state_of(ws: Workspace, reference: str) -> RightsRequest:
    with ws.sessions() as session:
        return find_request(session, reference)


def transitions(ws: Workspace, reference: str) -> list[tuple[str, str | None, str | None]]:
    """(event type, from, to) of every ledger event about the request, in order."""
    with ws.sessions() as session:
        events = session.scalars(select(LedgerEvent).order_by(LedgerEvent.seq)).all()
    out = []
    for event in events:
        payload = json.loads(event.payload)
        if payload.get("reference") == reference:
            out.append((event.type, payload.get("from"), payload.get("to")))
    return out


def assert_every_state_change_recorded(ws: Workspace, reference: str) -> None:
    """The moves recorded in the ledger chain from received to the final state, with no gap."""
    moves = [(f, t) for _, f, t in transitions(ws, reference) if t is not None]
    states: list[str | None] = [None]
    for before, after in moves:
        assert before == states[-1], (states, moves)
        states.append(after)
    assert states[1] == "received" and states[-1] == state_of(ws, reference).state
    with ws.sessions() as session:
        assert verify(session).ok


def walk(ws: Workspace, subject: TestClient, dpo: TestClient, mail: Received, request_type: str, address: str, *,
         lang: str = "en", by_link: bool = False, approve: dict[str, str] | None = None,
         **fields: Any) -> tuple[str, EmailMessage]:
    """Form → code or link → (DPO identity check) → (DPO approval) → execution → letter; the letter returned."""
    response = submit(subject, request_type, address, lang=lang, **fields)
    assert response.status_code == 303, response.text
    reference = reference_of(response)
    first = mail.wait_for(address, 1)[-1]
    assert reference in str(first["Subject"]) and first["Content-Language"] == lang
    verified = follow_link(subject, link_in(first)) if by_link else verify_with_code(subject, reference,
                                                                                     code_in(first), lang=lang)
    assert verified.status_code == 303, verified.text
    assert verified.headers["location"].startswith(f"/requests/{reference}")
    if state_of(ws, reference).state == "identity_review":
        assert dpo_post(dpo, reference, "confirm-identity", note="account matches").status_code == 303
    if state_of(ws, reference).state == "verified":
        assert dpo_post(dpo, reference, "approve", **(approve or {})).status_code == 303
    letter = mail.wait_for(address, 2)[-1]
    assert state_of(ws, reference).state == "completed"
    assert_every_state_change_recorded(ws, reference)
    return reference, letter


def open_space(subject: TestClient, letter: EmailMessage) -> str:
    """Follow the letter's sign-in link; return the request page."""
    signed_in = follow_link(subject, link_in(letter))
    assert signed_in.status_code == 303
    page = subject.get(signed_in.headers["location"])
    assert page.status_code == 200
    return str(page.text)


def file_url(page: str, name: str) -> str:
    match = re.search(rf'href="(/requests/[^"]+/files/{re.escape(name)}\?token=[^"]+)"', page)
    assert match, page
    return match.group(1).replace("&amp;", "&")
