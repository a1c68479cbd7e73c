"""Charte's own database: models, engines, sessions and migrations."""

from charte.store.db import (
    Reader,
    StoreNotReady,
    dialect_name,
    ensure_ready,
    make_engine,
    make_read_engine,
    migrate,
    session_factory,
    transaction,
)

__all__ = ["Reader", "StoreNotReady", "dialect_name", "ensure_ready", "make_engine", "make_read_engine", "migrate",
           "session_factory", "transaction"]
