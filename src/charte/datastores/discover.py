"""Draft dataset annotations from a live database: tables, keys, foreign keys and guessed data categories.

The draft is a starting point the DPO reviews: it is valid, executes, and says in comments what it guessed and
what it could not decide (legal holds without a manifest, NOT NULL columns that cannot be cleared...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from sqlalchemy import Engine, column, create_engine, inspect, select, table
from sqlalchemy.exc import CompileError, SQLAlchemyError
from sqlalchemy.types import Date, DateTime, String, Text

from charte.datastores.classify import EMAIL, PHONE, Guess, guess
from charte.datastores.connect import display_url
from charte.datastores.graph import Link, links_of, plan_traversal
from charte.manifest.models import Manifest

_BILLING = re.compile(r"invoice|facture|billing|bill|payment|paiement|accounting|comptab|receipt|credit_note|avoir",
                      re.IGNORECASE)
_CUSTOMER = re.compile(r"customer|client", re.IGNORECASE)
_FLAG = re.compile(r"^(is_)?(processing_)?(restricted|restriction|limited|limitation)$", re.IGNORECASE)
_SINCE = re.compile(r"date|issued|created|emis|emission", re.IGNORECASE)
_SKIPPED_TABLES = re.compile(r"^(sqlite_|alembic_version$)")


@dataclass
class ColumnDraft:
    """What discovery learnt about one column."""

    name: str
    type: str
    nullable: bool
    unique: bool
    text: bool
    temporal: bool
    guess: Guess | None
    references: list[dict[str, str]] = field(default_factory=list)


@dataclass
class TableDraft:
    """What discovery learnt about one table."""

    name: str
    primary_key: list[str]
    columns: dict[str, ColumnDraft]
    rows_sampled: int


@dataclass
class Draft:
    """A draft dataset (Charte format) and the notes a reviewer should read."""

    url: str
    dataset: dict[str, Any]
    notes: list[str]
    tables: dict[str, TableDraft]


def _singular(name: str) -> str:
    low = name.lower().replace("_", "")
    for suffix in ("ies", "es", "s"):
        if low.endswith(suffix) and len(low) > len(suffix) + 2:
            return low[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return low


def _type_text(column_type: Any) -> str:
    try:
        return str(column_type)
    except (CompileError, NotImplementedError):  # some dialect types cannot render outside their dialect
        return type(column_type).__name__


def _tables(engine: Engine, schema: str | None, sample: int) -> dict[str, TableDraft]:
    inspector = inspect(engine)
    drafts: dict[str, TableDraft] = {}
    for name in inspector.get_table_names(schema=schema):
        if _SKIPPED_TABLES.match(name):
            continue
        columns = inspector.get_columns(name, schema=schema)
        pk = list(inspector.get_pk_constraint(name, schema=schema).get("constrained_columns") or [])
        unique = {c for u in inspector.get_unique_constraints(name, schema=schema) if len(u["column_names"]) == 1
                  for c in u["column_names"]}
        unique |= {i["column_names"][0] for i in inspector.get_indexes(name, schema=schema)
                   if i.get("unique") and len(i["column_names"]) == 1 and i["column_names"][0]}
        t = table(name, *(column(c["name"]) for c in columns), schema=schema)
        with engine.connect() as conn:
            rows = conn.execute(select(t).limit(sample)).all()
        drafts[name] = TableDraft(name, pk, {}, len(rows))
        for i, info in enumerate(columns):
            values = [row[i] for row in rows if row[i] is not None]
            col_type = info["type"]
            drafts[name].columns[info["name"]] = ColumnDraft(
                info["name"], _type_text(col_type), bool(info.get("nullable", True)),
                info["name"] in unique or pk == [info["name"]], isinstance(col_type, String | Text),
                isinstance(col_type, Date | DateTime), guess(info["name"], values))
        for fk in inspector.get_foreign_keys(name, schema=schema):
            for local, remote in zip(fk["constrained_columns"], fk["referred_columns"], strict=False):
                drafts[name].columns[local].references.append({"collection": fk["referred_table"], "field": remote})
    return drafts


def _hold_purpose(manifest: Manifest | None) -> str | None:
    if manifest is None:
        return None
    for key, purpose in manifest.purposes.items():
        if purpose.legal_basis == "legal_obligation" and any(c.startswith("user.financial")
                                                             for c in purpose.data_categories):
            return key
    return None


def _field_spec(table_draft: TableDraft, col: ColumnDraft, roots: set[str], directions: dict[tuple[str, str], str],
                notes: list[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    name = table_draft.name
    if col.guess:
        spec["category"] = col.guess.category
    elif col.name in table_draft.primary_key and name in roots:
        spec["category"] = "user.unique_id"
    elif _BILLING.search(name) and col.name not in table_draft.primary_key and not col.references:
        spec["category"] = "user.financial"  # amounts, dates and numbers of billing records
    if col.guess and col.guess.category == EMAIL:
        spec["identity"] = "email"
    elif col.guess and col.guess.category == PHONE:
        spec["identity"] = "phone_number"
    elif table_draft.primary_key == [col.name] and name in roots and _CUSTOMER.search(name):
        spec["identity"] = "customer_id"
    if col.name in table_draft.primary_key:
        spec["primary_key"] = True
    refs = []
    for ref in col.references:
        direction = directions[(name, col.name)]
        target = f"{ref['collection']}.{ref['field']}"
        refs.append(target if direction == "from" else {"field": target, "direction": direction})
    if refs:
        spec["references"] = refs[0] if len(refs) == 1 else refs
    personal = "category" in spec and not spec["category"].startswith("system.")
    erasable = not _BILLING.search(name) and col.name not in table_draft.primary_key and not col.references
    if personal and erasable and not col.nullable:
        if col.text and col.unique:
            spec["erasure"] = "pseudonym"
        elif col.text:
            spec["erasure"] = {"mask": "[effacé]"}
        else:
            spec["erasure"] = "keep"
            notes.append(f"{name}.{col.name} is NOT NULL and not text: choose its erasure action (kept for now)")
    return spec


def discover(url: str, *, manifest: Manifest | None = None, sample: int = 200, schema: str | None = None,
             key: str | None = None) -> Draft:
    """Reflect the database at ``url`` and draft its annotations (Charte format)."""
    engine = create_engine(url)
    try:
        tables = _tables(engine, schema, sample)
    finally:
        engine.dispose()
    notes: list[str] = []
    roots = {t.name for t in tables.values()
             if any(c.guess and c.guess.category in (EMAIL, PHONE) for c in t.columns.values())}
    directions: dict[tuple[str, str], str] = {}
    for t in tables.values():
        for col in t.columns.values():
            for ref in col.references:
                parent = ref["collection"]
                direction = "from"
                if parent == t.name:
                    direction = "none"
                elif t.name in roots and parent in roots and _singular(parent) not in col.name.lower().replace("_", ""):
                    # Two tables of people linked by a role column (a customer's sales representative): a request
                    # about one person must not reach the other.
                    direction = "none"
                if direction == "none":
                    notes.append(f"{t.name}.{col.name} -> {parent}: not followed by requests (links another person"
                                 " or the same table); change direction if it is the same subject")
                directions[(t.name, col.name)] = direction
    collections: dict[str, Any] = {}
    for t in tables.values():
        collections[t.name] = {"fields": {c.name: _field_spec(t, c, roots, directions, notes)
                                          for c in t.columns.values()}}
    from charte.datastores.annotations import Dataset

    parsed = Dataset.model_validate({"key": key or "discovered", "collections": collections})
    links: list[Link] = links_of(parsed.collections)
    reached = set(plan_traversal(parsed.collections, links, {"email", "phone_number", "customer_id"}).collections)
    hold_purpose = _hold_purpose(manifest)
    kept_out = []
    for t in tables.values():
        spec = collections[t.name]
        personal = any("category" in f for f in spec["fields"].values())
        if t.name not in reached and not personal:
            kept_out.append(t.name)
            del collections[t.name]
            continue
        if not t.primary_key:
            notes.append(f"{t.name} has no primary key: erasure cannot address its rows")
        if _BILLING.search(t.name):
            since = next((c.name for c in t.columns.values() if c.temporal), None) or next(
                (c.name for c in t.columns.values() if _SINCE.search(c.name)), None)
            if hold_purpose:
                spec["legal_hold"] = {"purpose": hold_purpose, "reason": "Pièces comptables (Code de commerce, "
                                      "art. L123-22)", **({"since": since} if since else {})}
            else:
                notes.append(f"{t.name} looks like billing records: add legal_hold (purpose with a legal obligation,"
                             " since: its date column) — pass --manifest to draft it")
        elif t.name in reached:
            spec["erasure"] = "delete"
        flag = next((c.name for c in t.columns.values() if _FLAG.match(c.name)), None)
        if flag:
            spec["restriction"] = {"column": flag, "value": True}
        ordered: dict[str, Any] = {}
        for k in ("erasure", "legal_hold", "restriction", "fields"):
            if k in spec:
                ordered[k] = spec[k]
        collections[t.name] = ordered
    if kept_out:
        notes.append("not annotated (no personal data found, no link to a subject): " + ", ".join(sorted(kept_out)))
        _drop_references(collections, set(kept_out))
    if manifest is not None:
        from charte.datastores.checks import category_declared

        undeclared = sorted({f["category"] for c in collections.values() for f in c["fields"].values()
                             if "category" in f and f["category"].startswith("user.")
                             and not category_declared(manifest, f["category"])})
        if undeclared:
            notes.append("categories the manifest does not declare (declare them or choose declared ones): "
                         + ", ".join(undeclared))
    dataset = {"key": key or "discovered", "collections": collections}
    return Draft(display_url(url), dataset, notes, tables)


def _drop_references(collections: dict[str, Any], gone: set[str]) -> None:
    """Remove references to tables left out of the draft (a reference must name an annotated collection)."""
    for spec in collections.values():
        for field_spec in spec["fields"].values():
            refs = field_spec.get("references")
            if refs is None:
                continue
            kept = [r for r in (refs if isinstance(refs, list) else [refs])
                    if (r if isinstance(r, str) else r["field"]).split(".")[0] not in gone]
            if not kept:
                del field_spec["references"]
            else:
                field_spec["references"] = kept[0] if len(kept) == 1 else kept


class _Flow(dict[str, Any]):
    """A mapping written on one line."""


def _flow_representer(dumper: yaml.SafeDumper, data: _Flow) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Flow, _flow_representer)


def draft_yaml(draft: Draft) -> str:
    """The draft as a YAML dataset file, with the reviewer's notes as comments on top."""
    collections = {}
    for name, spec in draft.dataset["collections"].items():
        body = {k: (_Flow(v) if isinstance(v, dict) and k != "fields" else v) for k, v in spec.items()}
        body["fields"] = {f: _Flow(s) if s else None for f, s in spec["fields"].items()}
        collections[name] = body
    document = {"dataset": {"key": draft.dataset["key"], "collections": collections}}
    header = [f"# Draft annotations discovered from {draft.url} by `charte datasets discover`.",
              "# Review every guess before use: categories, identities, erasure actions, legal holds.",
              "# Reference: docs/datastores.md"]
    header += [f"# - {note}" for note in draft.notes]
    body_text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)
    return "\n".join(header) + "\n" + body_text.replace(": null\n", ":\n")


def describe_error(exc: SQLAlchemyError) -> str:
    """A connection or reflection error without credentials or statements."""
    origin = getattr(exc, "orig", None) or exc
    return f"{type(origin).__name__}: {str(origin).strip().splitlines()[0] if str(origin).strip() else ''}"
