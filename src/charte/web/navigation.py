"""The dashboard's navigation: one registry of entries; an area appears once its page exists and the role may see it.

Another area adds itself with ``register(NavEntry("/admin/requests", "requests", order=10))`` (entries for
requests and consents are already here) and a string under its label key in :mod:`charte.web.i18n`. An entry whose
route is not mounted in the app is not shown, so no link ever leads to a missing page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from starlette.routing import BaseRoute, Match


@dataclass(frozen=True)
class NavEntry:
    """A link of the dashboard's navigation."""

    path: str
    label_key: str
    #: Roles that see the entry; empty means every role.
    roles: frozenset[str] = field(default_factory=frozenset)
    order: int = 100


_REGISTRY: dict[str, NavEntry] = {}


def register(entry: NavEntry) -> None:
    """Add or replace (by path) a navigation entry."""
    _REGISTRY[entry.path] = entry


def entries() -> list[NavEntry]:
    """Every registered entry, in display order."""
    return sorted(_REGISTRY.values(), key=lambda e: (e.order, e.path))


def serves_page(routes: Sequence[BaseRoute], path: str) -> bool:
    """Whether a GET of ``path`` reaches a route (asked through Starlette's matching: included routers count)."""
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "query_string": b"", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in routes)


def visible_entries(routes: Sequence[BaseRoute], role: str) -> list[NavEntry]:
    """The entries a user with ``role`` may open in an app with these routes."""
    return [e for e in entries() if (not e.roles or role in e.roles) and serves_page(routes, e.path)]


def is_current(entry: NavEntry, path: str) -> bool:
    """Whether ``path`` is the entry's page or one below it (the overview only matches itself)."""
    if entry.path == "/admin":
        return path in ("/admin", "/admin/")
    return path == entry.path or path.startswith(entry.path + "/")


for _entry in (
    NavEntry("/admin", "overview", order=0),
    NavEntry("/admin/requests", "requests", order=10),
    NavEntry("/admin/consents", "consents", order=20),
    NavEntry("/admin/breaches", "breaches", order=30),
    NavEntry("/admin/policy", "policy_versions", order=40),
    NavEntry("/admin/ropa", "ropa", order=50),
    NavEntry("/admin/ledger", "ledger", order=60),
    NavEntry("/admin/users", "users", frozenset({"admin"}), order=80),
    NavEntry("/admin/tokens", "tokens", frozenset({"admin"}), order=90),
):
    register(_entry)
