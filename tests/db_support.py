"""Shared by the schema helpers of the datastores and retention tests: create a schema and fill it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Engine, MetaData, Table, create_engine


def create_and_fill(url: str, metadata: MetaData, rows: Mapping[Table, Sequence[dict[str, Any]]]) -> Engine:
    """Create ``metadata``'s tables at ``url`` and insert ``rows``; return a plain engine for the test's own SQL."""
    engine = create_engine(url)
    metadata.create_all(engine)
    with engine.begin() as conn:
        for table, values in rows.items():
            if values:
                conn.execute(table.insert(), list(values))
    return engine
