"""The access report (Art. 15): items (a) to (h) from the manifest, and the data found by the execution step."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from charte.manifest import Manifest, Purpose, tr
from charte.manifest.models import RIGHTS
from charte.render import facts
from charte.render.formatting import (
    automation_label,
    country_name,
    gdpr_article,
    language,
    legal_basis_label,
    retention_text,
)
from charte.rights.execution import ExecutionOutcome
from charte.rights.wording import words

#: Where each item of Art. 15(1) sits in the report.
ART15_ITEMS: Final[dict[str, str]] = {
    "a": "purposes", "b": "categories", "c": "recipients", "d": "retention", "e": "rights", "f": "complaint",
    "g": "sources", "h": "automated_decisions",
}


def concerned_purposes(manifest: Manifest, outcome: ExecutionOutcome | None) -> list[Purpose]:
    """The purposes of the systems where data was found; every purpose when that says nothing."""
    found_in = {record.system for record in outcome.records} if outcome else set()
    keys = {key for system in found_in if system in manifest.systems for key in manifest.systems[system].purposes}
    chosen = [p for p in manifest.purposes.values() if p.key in keys]
    return chosen or list(manifest.purposes.values())


def _ordered_union(lists: list[list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        seen.update(dict.fromkeys(items))
    return list(seen)


def _data(manifest: Manifest, outcome: ExecutionOutcome | None, lang: str) -> dict[str, Any]:
    if outcome is None:
        return {"systems": [], "records": [], "no_connected_systems": True}
    return {
        "systems": list(outcome.systems),
        "no_connected_systems": outcome.no_connected_systems,
        "records": [{
            "system": record.system,
            "collection": record.collection,
            "values": [{"field": v.field, "value": v.value, "category": v.category,
                        "category_name": facts.category_name(manifest, v.category, lang) if v.category else None}
                       for v in record.values],
        } for record in outcome.records],
    }


def access_report(manifest: Manifest, lang: str, *, outcome: ExecutionOutcome | None, generated_at: datetime,
                  reference: str | None = None) -> dict[str, Any]:
    """The full Art. 15 answer as JSON-ready data: (a)–(h) from the manifest, (2) transfers, (3) the data."""
    lg = language(lang)
    purposes = concerned_purposes(manifest, outcome)
    category_keys = _ordered_union([p.data_categories for p in purposes])
    recipient_keys = _ordered_union([p.recipients for p in purposes])
    source_keys = _ordered_union([p.sources for p in purposes])
    authority = manifest.supervisory_authority
    services = {s.key: s for p in purposes for s in facts.third_party_services(manifest, p)}
    transfers = {(t.name, t.country): t for p in purposes for t in facts.transfers(manifest, lg, p)}
    return {
        "format": "charte.access-report/1",
        "reference": reference,
        "generated_at": generated_at.isoformat(),
        "language": lg,
        "articles": {key: f"15(1)({letter})" for letter, key in ART15_ITEMS.items()},
        "controller": {"name": manifest.controller.legal_name or manifest.controller.name,
                       "address": manifest.controller.address, "email": manifest.controller.contact.email},
        "dpo": {"name": manifest.dpo.name, "email": manifest.dpo.email, "address": manifest.dpo.address},
        "purposes": [{
            "key": p.key, "name": tr(p.name, lg), "description": tr(p.description, lg),
            "legal_basis": p.legal_basis,
            "legal_basis_label": legal_basis_label(p.legal_basis, lg) if p.legal_basis else None,
            "legitimate_interest": tr(p.legitimate_interest, lg) or None,
            "legal_reference": p.legal_reference,
        } for p in purposes],
        "categories": [{"key": key, "name": facts.category_name(manifest, key, lg), "special": manifest.is_special(key)}
                       for key in category_keys],
        "recipients": [{
            "key": key, "name": tr(r.name, lg), "kind": r.kind, "country": r.country,
            "country_name": country_name(r.country, lg), "description": tr(r.description, lg) or None,
            "safeguards": r.safeguards, "purposes": [p.key for p in purposes if key in p.recipients],
        } for key in recipient_keys if (r := manifest.recipients.get(key)) is not None],
        "third_party_services": [{"key": s.key, "name": s.name, "provider": s.provider, "country": s.country,
                                  "country_name": country_name(s.country, lg)} for s in services.values()],
        "transfers": {
            "statement": tr(manifest.transfers.statement, lg) or None,
            "outside_eea": [{"name": t.name, "country": t.country, "country_name": country_name(t.country, lg),
                             "safeguards": t.safeguards} for t in transfers.values()],
        },
        "retention": [{"purpose": p.key, "name": tr(p.name, lg), "text": retention_text(p.retention, lg)}
                      for p in purposes if p.retention],
        "rights": [{"key": key, "name": tr(right.name, lg), "article": gdpr_article(right.article, lg),
                    "description": tr(right.description, lg)}
                   for key in [*RIGHTS, *(k for k in manifest.rights if k not in RIGHTS)]
                   if (right := manifest.rights.get(key)) is not None],
        "complaint": {"authority": authority.name, "full_name": tr(authority.full_name, lg),
                      "address": authority.address, "phone": authority.phone, "url": authority.url,
                      "complaint_url": authority.complaint_url},
        "sources": [{"key": key, "kind": s.kind, "name": tr(s.name, lg), "description": tr(s.description, lg) or None}
                    for key in source_keys if (s := manifest.data_sources.get(key)) is not None],
        "automated_decisions": [{
            "purpose": p.key, "name": tr(p.name, lg), "profiling": p.profiling,
            "automated_decision": p.automated_decision, "kind": automation_label(p, lg),
            "logic": tr(p.automated_logic, lg) or None,
        } for p in purposes if p.profiling or p.automated_decision],
        "no_solely_automated_decision": not any(p.automated_decision for p in purposes),
        "data": _data(manifest, outcome, lg),
    }


def report_lines(report: dict[str, Any], lang: str) -> list[tuple[str, list[str], list[str]]]:
    """The report as (heading, paragraphs, items) sections, items (a)–(h) in order, for letters and pages."""
    lg = language(lang)
    kinds = {k: words(f"recipient.kind.{k}", lg) for k in ("processor", "partner", "authority", "joint_controller")}
    purposes = []
    for p in report["purposes"]:
        line = words("purpose.line", lg, name=p["name"], description=p["description"],
                     basis=p["legal_basis_label"] or "—")
        if p["legitimate_interest"]:
            line += words("purpose.interest", lg, interest=p["legitimate_interest"])
        purposes.append(line)
    categories = [c["name"] + (words("category.special", lg) if c["special"] else "") for c in report["categories"]]
    recipients = [words("recipient.line", lg, name=r["name"], kind=kinds.get(r["kind"], r["kind"]),
                        country=r["country_name"]) for r in report["recipients"]]
    recipients += [words("service.line", lg, name=s["name"], provider=s["provider"], country=s["country_name"])
                   for s in report["third_party_services"]]
    transfers = report["transfers"]
    transfer_items = [words("transfer.line", lg, name=t["name"], country=t["country_name"],
                            safeguards=t["safeguards"] or words("transfer.no_safeguards", lg))
                      for t in transfers["outside_eea"]]
    transfer_text = [transfers["statement"] or words("transfers.none", lg)] if not transfer_items else []
    complaint = report["complaint"]
    automated = [words("automated.line", lg, name=a["name"], kind=a["kind"], logic=a["logic"] or "—")
                 for a in report["automated_decisions"]]
    automated_text = ([words("automated.no_decision", lg)] if automated and report["no_solely_automated_decision"]
                      else [] if automated else [words("automated.none", lg)])
    return [
        (words("art15.a", lg), [], purposes),
        (words("art15.b", lg), [], categories),
        (words("art15.c", lg), [] if recipients else [words("recipients.none", lg)], recipients),
        (words("art15.transfers", lg), transfer_text, transfer_items),
        (words("art15.d", lg), [], [words("retention.line", lg, name=r["name"], retention=r["text"])
                                    for r in report["retention"]]),
        (words("art15.e", lg), [], [words("right.line", lg, name=r["name"], article=r["article"],
                                          description=r["description"]) for r in report["rights"]]),
        (words("art15.f", lg), [words("complaint.line", lg, authority=complaint["authority"],
                                      full_name=complaint["full_name"], address=complaint["address"],
                                      complaint_url=complaint["complaint_url"])], []),
        (words("art15.g", lg), [], [words("source.line", lg, name=s["name"], description=s["description"] or "")
                                    .rstrip(" —") for s in report["sources"]]),
        (words("art15.h", lg), automated_text, automated),
    ]
