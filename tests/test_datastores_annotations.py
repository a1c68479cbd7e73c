"""Dataset annotations: the format, the lint rules with file:line, inline and in referenced files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from charte.datastores import DatasetError, MissingEnvironmentVariable, display_url, load_systems, resolve_url
from charte.datastores.annotations import Dataset
from charte.datastores.graph import children_first, links_of, plan_traversal
from charte.manifest import check_file

from .conftest import EXAMPLE_MANIFEST
from .datastores_support import ANNOTATIONS, write_manifest


def _problems(manifest: Path) -> list[str]:
    return [p.format(str(manifest)) for p in check_file(manifest).problems]


def test_the_example_and_the_shop_annotations_are_clean(tmp_path: Path) -> None:
    assert check_file(EXAMPLE_MANIFEST).ok
    manifest = write_manifest(tmp_path)
    result = check_file(manifest)
    assert result.ok and not result.problems, _problems(manifest)


def test_field_shorthands_and_explicit_null() -> None:
    dataset = Dataset.model_validate({"collections": {"c": {"fields": {
        "a": "user.name", "b": {"erasure": None}, "c": {"erasure": "nullify"}, "d": {"erasure": {"mask": "x"}},
        "e": {"erasure": {"strategy": "generalise_date", "to": "year"}}, "f": None}}}})
    fields = dataset.collections["c"].fields
    assert fields["a"].category == "user.name" and fields["a"].erasure is None
    assert fields["b"].erasure is not None and fields["b"].erasure.action == "null"
    assert fields["c"].erasure is not None and fields["c"].erasure.action == "null"
    assert fields["d"].erasure is not None and fields["d"].erasure.params == {"value": "x"}
    assert fields["e"].erasure is not None and fields["e"].erasure.params == {"to": "year"}
    assert fields["f"].name == "f" and not fields["f"].personal


def test_problems_in_a_dataset_file_point_at_that_file_and_line(tmp_path: Path) -> None:
    broken = ANNOTATIONS.replace("user.contact.email, identity: email, erasure: pseudonym",
                                 "user.contact.emial, identity: email, erasure: pseudonym")
    broken = broken.replace("purpose: accounting", "purpose: acounting")
    broken = broken.replace("order_id: {references: orders.id}", "order_id: {references: order.id}")
    broken = broken.replace("primary_key: [person_id, tag]", "primary_key: [person_id, tag]\n"
                            "      identities: {email: mail}")
    manifest = write_manifest(tmp_path, broken)
    lines = broken.splitlines()
    file = str(tmp_path / "datasets" / "shop.yaml")

    def line_of(fragment: str) -> int:
        return next(i for i, line in enumerate(lines, start=1) if fragment in line)

    found = _problems(manifest)
    assert f"{file}:{line_of('user.contact.emial')}: error: data category 'user.contact.emial' of people.email is " \
           "not declared in the manifest's data_categories (did you mean 'user.contact.email'?) " \
           "[dataset-unknown-category]" in found
    assert any(p.startswith(f"{file}:{line_of('acounting')}: error: legal hold of invoices names unknown purpose "
                            "'acounting' (did you mean 'accounting'?)") for p in found), found
    assert any(p.startswith(f"{file}:{line_of('order.id')}: error: order_items.order_id references missing "
                            "collection 'order'") for p in found), found
    assert any(p.startswith(f"{file}:{line_of('identities')}: error: identity 'email' of tags is field 'mail'")
               for p in found), found
    assert not check_file(manifest).ok
    # The manifest itself is fine: only its dataset file is broken, and nothing executes with it.
    from charte.manifest import Manifest

    plain = Manifest.model_validate(__import__("yaml").safe_load(manifest.read_text(encoding="utf-8")))
    with pytest.raises(DatasetError):
        load_systems(plain, manifest, environ={"SHOP_URL": "sqlite://"})


def test_inline_annotations_point_at_the_manifest(tmp_path: Path) -> None:
    inline = textwrap.indent(textwrap.dedent("""\
        - key: inline
          collections:
            people:
              fields:
                id: {primary_key: true}
                email: {category: user.contact.email, identity: email}
                phone: {category: user.contact.phone, identity: phone_number}
                wrong: {references: nowhere.id}
        """), "      ")
    system = "systems:\n  shop:\n    name: Boutique\n    url: ${SHOP_URL}\n    datasets:\n" + inline
    manifest = write_manifest(tmp_path, system=system)
    text = manifest.read_text(encoding="utf-8")
    phone_line = next(i for i, line in enumerate(text.splitlines(), start=1) if "user.contact.phone," in line)
    found = _problems(manifest)
    assert any(p.startswith(f"{manifest}:{phone_line}: error: data category 'user.contact.phone'") for p in found)
    assert any("references missing collection 'nowhere'" in p and p.startswith(f"{manifest}:") for p in found)


def test_schema_errors_and_missing_files(tmp_path: Path) -> None:
    broken = ANNOTATIONS.replace("erasure: delete\n      restriction", "erasure: destroy\n      restriction")
    assert broken != ANNOTATIONS
    manifest = write_manifest(tmp_path, broken)
    assert any("collections.people.erasure" in p and "[schema]" in p for p in _problems(manifest))
    missing = write_manifest(tmp_path / "other", system="systems:\n  shop:\n    name: B\n    url: ${SHOP_URL}\n"
                             "    datasets:\n      - file: nope.yaml\n")
    assert any("nope.yaml" in p and "cannot read dataset file" in p for p in _problems(missing))


def test_every_retention_rule_is_checked_not_only_the_first(tmp_path: Path) -> None:
    annotations = ANNOTATIONS.replace("    visits:\n      purposes: [audience_measurement]\n",
                                      "    visits:\n      purposes: [audience_measurement]\n      retention:\n"
                                      "        - {field: url, period: P13M, action: delete}\n"
                                      "        - {field: visited_at, period: P25M, action: delete}\n")
    annotations = annotations.replace("      legal_hold: {purpose: accounting", "      retention: {field: issued_on, "
                                      "period: P10Y}\n      legal_hold: {purpose: accounting")
    assert "visited_at" in annotations and "issued_on" in annotations
    manifest = write_manifest(tmp_path, annotations)
    file = str(tmp_path / "datasets" / "shop.yaml")
    lines = annotations.splitlines()
    second = next(i for i, line in enumerate(lines, start=1) if "field: visited_at" in line)
    single = next(i for i, line in enumerate(lines, start=1) if "field: issued_on" in line)
    unknown = [p for p in _problems(manifest) if "[dataset-unknown-field]" in p]
    assert unknown == [
        f"{file}:{single}: error: retention of invoices runs from 'issued_on', which is not an annotated field "
        "[dataset-unknown-field]",
        f"{file}:{second}: error: retention rule 2 of visits runs from 'visited_at', which is not an annotated field "
        "[dataset-unknown-field]",
    ]


def test_warnings_for_unreachable_data_and_hold_on_a_non_legal_basis(tmp_path: Path) -> None:
    annotations = ANNOTATIONS.replace("    notes:\n", "    orphans:\n      fields:\n        id: {primary_key: true}\n"
                                      "        name: user.name\n    notes:\n")
    annotations = annotations.replace("purpose: accounting", "purpose: newsletter")
    assert "orphans" in annotations
    found = _problems(write_manifest(tmp_path, annotations))
    assert any("[dataset-unreachable]" in p and "orphans" in p for p in found)
    assert any("[dataset-hold-basis]" in p and "warning" in p for p in found)


def test_traversal_order_and_deletion_order() -> None:
    import yaml

    dataset = Dataset.model_validate(yaml.safe_load(ANNOTATIONS)["dataset"])
    links = links_of(dataset.collections)
    plan = plan_traversal(dataset.collections, links, {"email"})
    order = plan.collections
    assert order.index("people") < order.index("orders") < order.index("order_items")
    assert {s.collection: s.level for s in plan.steps}["order_items"] == 2
    assert next(s for s in plan.steps if s.collection == "notes").identities == (("subject_email", "email"),)
    deletion = children_first(order, links)
    assert deletion.index("order_items") < deletion.index("orders") < deletion.index("people")
    # A phone only reaches people (and what hangs below it), never notes.
    assert "notes" not in plan_traversal(dataset.collections, links, {"phone_number"}).collections


def test_environment_references_and_hidden_passwords() -> None:
    assert resolve_url("${DB}", {"DB": "sqlite:///x.db"}) == "sqlite:///x.db"
    with pytest.raises(MissingEnvironmentVariable, match="CRM_URL"):
        resolve_url("${CRM_URL}", {}, system="crm")
    assert display_url("postgresql+psycopg://app:s3cret@db/crm") == "postgresql+psycopg://app:***@db/crm"
