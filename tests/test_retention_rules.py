"""Retention rules from annotations and the manifest: one rule or several, periods from purposes, legal holds,
and the instants they expire at (hand-computed)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from charte.datastores import load_systems
from charte.datastores.annotations import Collection, RetentionRule
from charte.manifest import load_manifest
from charte.manifest.durations import Duration
from charte.retention import Boundary, Expiry, RetentionConfigError, collection_rules, system_rules

from .retention_support import ANNOTATIONS, write_manifest


def _collection(retention: object) -> Collection:
    return Collection.model_validate({"name": "visits", "retention": retention,
                                      "fields": {"id": {"primary_key": True}, "visited_at": "system.operations",
                                                 "ip": "user.device.ip_address"}})


def test_one_rule_or_several() -> None:
    single = _collection({"field": "visited_at", "period": "P3Y", "action": "mask"})
    assert single.retention is not None
    assert single.retention.field == "visited_at"  # what a single-rule reader (charte check) sees
    assert [r.action for r in single.retention.rules] == ["anonymise"]  # "mask" is read as anonymise
    several = _collection([{"field": "visited_at", "period": "P13M", "action": "anonymise",
                            "fields": {"ip": "truncate_ip"}},
                           {"field": "visited_at", "period": "P25M"}])
    assert several.retention is not None
    assert [(r.period, r.action) for r in several.retention.rules] == [(Duration(months=13), "anonymise"),
                                                                       (Duration(months=25), "delete")]
    assert several.retention.rules[0].fields["ip"].action == "truncate_ip"
    assert _collection(None).retention is None


def test_bad_rules_are_refused_with_their_place() -> None:
    with pytest.raises(ValidationError) as caught:
        _collection([{"field": "visited_at", "period": "P1Y"}, {"field": "visited_at", "action": "shred"}])
    assert ("retention", 1, "action") in [e["loc"] for e in caught.value.errors()]
    with pytest.raises(ValidationError, match="archive table"):
        RetentionRule.model_validate({"field": "visited_at", "period": "P1Y", "action": "archive_then_delete"})
    with pytest.raises(ValidationError):
        _collection([])


def test_expiry_boundaries_by_hand() -> None:
    now = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
    # 31 March minus one month is 28 February (the day is clamped): never earlier than the period says.
    assert Expiry("t", Duration(months=1)).boundary(now) == Boundary(datetime(2026, 2, 28, 10, 0, tzinfo=UTC), True)
    assert Expiry("t", Duration(months=25)).boundary(now) == Boundary(datetime(2024, 2, 29, 10, 0, tzinfo=UTC), True)
    # Ten years after the end of the financial year: on 31 December 2025 the year 2015 is released, 2016 is not.
    ten = Expiry("issued_at", Duration(years=10), financial_year=True)
    assert ten.boundary(datetime(2025, 12, 30, tzinfo=UTC)).value == datetime(2015, 1, 1, tzinfo=UTC)
    assert ten.boundary(datetime(2025, 12, 31, tzinfo=UTC)).value == datetime(2016, 1, 1, tzinfo=UTC)
    assert not ten.boundary(now).inclusive


def test_rules_from_purposes_and_holds(tmp_path: Path) -> None:
    manifest_path = write_manifest(tmp_path)
    manifest = load_manifest(manifest_path)
    system = load_systems(manifest, manifest_path, environ={"CRM_URL": "sqlite://"})["crm"]
    rules = {r.label: r for r in system_rules(manifest, "crm", system.catalog)}
    # Children first: invoices and visits are swept before the customers they reference.
    labels = list(rules)
    assert labels.index("crm.invoices#1") < labels.index("crm.customers#1")
    assert labels.index("crm.visits#2") < labels.index("crm.visits#1") < labels.index("crm.customers#1")
    invoices = rules["crm.invoices#1"]
    assert invoices.expiry == Expiry("issued_at", Duration(years=3)) and invoices.source == "purpose sales_billing"
    assert [(h.purpose, h.expiry) for h in invoices.holds] == [
        ("accounting", Expiry("issued_at", Duration(years=10), financial_year=True))]
    assert rules["crm.visits#2"].expiry.period == Duration(months=25)  # audience_measurement's period
    assert [f for f, _ in rules["crm.visits#1"].masks] == ["ip", "visitor", "user_agent"]
    assert [f for f, _ in rules["crm.newsletter#1"].masks] == ["email"]  # identity fields by default


def test_period_defaults_to_the_longest_purpose(tmp_path: Path) -> None:
    annotations = ANNOTATIONS.replace("retention: {field: last_contact_at, period: P3Y, action: delete}",
                                      "purposes: [newsletter, audience_measurement, recruitment]\n"
                                      "      retention: {field: last_contact_at}")
    manifest_path = write_manifest(tmp_path, annotations)
    manifest = load_manifest(manifest_path)
    system = load_systems(manifest, manifest_path, environ={"CRM_URL": "sqlite://"})["crm"]
    (rule,) = collection_rules(manifest, "crm", system.catalog, "customers")
    assert rule.expiry.period == Duration(years=3) and rule.source.startswith("purpose newsletter (longest of")


@pytest.mark.parametrize(("replace", "message"), [
    ("retention: {field: subscribed_at, purpose: newsletter, action: pseudonymise}",
     "retention: [{field: subscribed_at, period: P1Y}, {field: subscribed_at, purpose: nope}]"),
    ("retention: {field: subscribed_at, purpose: newsletter, action: pseudonymise}",
     "retention: {field: subscribed_at, period: P1Y, action: anonymise, fields: {id: null}}"),
])
def test_unusable_rules_are_config_errors(tmp_path: Path, replace: str, message: str) -> None:
    manifest_path = write_manifest(tmp_path, ANNOTATIONS.replace(replace, message))
    manifest = load_manifest(manifest_path)
    system = load_systems(manifest, manifest_path, environ={"CRM_URL": "sqlite://"})["crm"]
    with pytest.raises(RetentionConfigError):
        collection_rules(manifest, "crm", system.catalog, "newsletter")


def test_hold_boundary_moves_with_the_clock() -> None:
    ten = Expiry("issued_at", Duration(years=10), financial_year=True)
    start = datetime(2026, 6, 15, 12, tzinfo=UTC)
    years = {ten.boundary(start + timedelta(days=d)).value.year for d in range(0, 400, 20)}
    assert years == {2016, 2017}
