"""Charte's own database: models, engines, sessions and migrations."""

from charte.store.db import StoreNotReady, ensure_ready, make_engine, migrate, session_factory, transaction

__all__ = ["StoreNotReady", "ensure_ready", "make_engine", "migrate", "session_factory", "transaction"]
