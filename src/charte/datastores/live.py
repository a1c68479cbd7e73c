"""Compare annotations with the live database: every annotated table and column must exist."""

from __future__ import annotations

import difflib

from sqlalchemy import Engine, inspect

from charte.datastores.loading import SystemAnnotations
from charte.manifest.problems import Problem


def _close(name: str, known: list[str]) -> str:
    match = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {match[0]!r}?)" if match else ""


def check_live(annotations: SystemAnnotations, engine: Engine) -> list[Problem]:
    """Annotated collections and fields missing from the database, at the line that declares them."""
    inspector = inspect(engine)
    problems: list[Problem] = []
    tables: dict[str | None, list[str]] = {}
    for name, (collection, loaded) in annotations.collections.items():
        schema = collection.schema_ or loaded.dataset.schema_
        if schema not in tables:
            tables[schema] = inspector.get_table_names(schema=schema)
        if collection.table_name not in tables[schema]:
            problems.append(loaded.problem(("collections", name), f"table {collection.table_name!r} does not exist "
                                           f"in the database{_close(collection.table_name, tables[schema])}",
                                           "dataset-live-table"))
            continue
        columns = [c["name"] for c in inspector.get_columns(collection.table_name, schema=schema)]
        wanted = [(("collections", name, "fields", f), f) for f in collection.fields]
        wanted += [(("collections", name, "identities", kind), f) for kind, f in collection.identities.items()]
        if collection.restriction is not None:
            wanted.append((("collections", name, "restriction", "column"), collection.restriction.column))
        for location, column in wanted:
            if column not in columns:
                problems.append(loaded.problem(location, f"column {collection.table_name}.{column} does not exist in "
                                               f"the database{_close(column, columns)}", "dataset-live-column"))
    return problems
