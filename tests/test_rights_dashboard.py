"""The DPO's request pages, the overview's deadlines block and the outbox of the embedded setup."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient

from charte.ledger import utcnow
from charte.rights import RightsPolicy, Submission
from charte.rights.intake import submit_request
from charte.rights.verification import email_verified
from charte.store import transaction
from charte.workspace import Workspace
from tests.rights_support import reference_of, submit

ClientFactory = Callable[..., TestClient]


def _stopped(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def test_outbox_shows_the_mail_of_the_embedded_setup(client: TestClient, signed_in: ClientFactory) -> None:
    reference = reference_of(submit(client, "access", "olga@example.org", lang="en"))
    dpo = signed_in("dpo")
    page = dpo.get("/admin/outbox")
    assert page.status_code == 200 and reference in page.text and "olga@example.org" in page.text
    name = re.search(r'href="/admin/outbox/([^"?]+)', page.text)
    assert name
    message = dpo.get(f"/admin/outbox/{name.group(1)}")
    assert message.status_code == 200 and "To confirm that this email address is yours" in message.text
    assert dpo.get("/admin/outbox/..%2Fcharte.db").status_code == 404
    assert 'href="/admin/outbox"' in dpo.get("/admin").text  # in the navigation


def test_request_list_filters_and_the_overview_shows_what_is_due(app: FastAPI, workspace: Workspace,
                                                                 signed_in: ClientFactory) -> None:
    policy = RightsPolicy()
    now = utcnow()
    refs = {}
    with transaction(workspace.sessions) as session:
        for name, days in (("late", 45), ("soon", 28), ("later", 2)):
            moment = now - timedelta(days=days)
            request = submit_request(session, workspace.manifest, Submission("objection", email=f"{name}@example.org"),
                                     address=None, policy=policy, clock=_stopped(moment)).request
            email_verified(session, request, method="email_code", policy=policy, clock=_stopped(moment))
            refs[name] = request.reference
    auditor = signed_in("auditor")
    listed = auditor.get("/admin/requests?due_within=7&lang=en")
    assert listed.status_code == 200
    assert refs["late"] in listed.text and refs["soon"] in listed.text and refs["later"] not in listed.text
    assert "day(s) late" in listed.text
    assert refs["later"] in auditor.get("/admin/requests").text
    overview = auditor.get("/admin?lang=en").text
    assert "Requests: deadlines" in overview and refs["late"] in overview and refs["later"] not in overview
    detail = auditor.get(f"/admin/requests/{refs['soon']}?lang=en")
    assert detail.status_code == 200 and "request.verified" in detail.text and "soon@example.org" in detail.text
    assert auditor.get("/admin/requests/R-NONE-NONE").status_code == 404
