"""The graph of collections a request reaches from the subject's identity, and the order to visit them.

References are foreign keys (declared in the database or only in the annotations). Each one links a child
collection (holding the value) to a parent (the referenced key). A request travels along them in the direction the
annotation says; every collection is visited once, after every collection that leads to it, so one batched
``IN (...)`` query per collection finds all the subject's rows there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from charte.datastores.annotations import Collection, Direction


@dataclass(frozen=True)
class Link:
    """A reference: ``child.child_field`` holds values of ``parent.parent_field``."""

    child: str
    child_field: str
    parent: str
    parent_field: str
    direction: Direction


@dataclass(frozen=True)
class Edge:
    """One way a request travels: rows of ``target`` whose ``target_field`` is in the ``source_field`` values."""

    source: str
    source_field: str
    target: str
    target_field: str


@dataclass(frozen=True)
class Step:
    """Visiting one collection: the identity fields it is searched by and the edges that lead to it."""

    collection: str
    identities: tuple[tuple[str, str], ...]
    incoming: tuple[Edge, ...]
    level: int


@dataclass(frozen=True)
class TraversalPlan:
    """The collections a request reaches, in visiting order."""

    steps: tuple[Step, ...]

    @cached_property
    def collections(self) -> tuple[str, ...]:
        """Names of the reached collections in visiting order."""
        return tuple(step.collection for step in self.steps)

    def outgoing(self, collection: str) -> tuple[Edge, ...]:
        """Edges leaving ``collection`` towards collections visited after it."""
        return tuple(e for step in self.steps for e in step.incoming if e.source == collection)


def links_of(collections: Mapping[str, Collection], dataset_keys: frozenset[str] = frozenset()) -> list[Link]:
    """Every reference between collections of one system (references to other systems are not followed)."""
    links = []
    for name, collection in collections.items():
        for field_name, spec in collection.fields.items():
            for ref in spec.references:
                if ref.dataset is not None and ref.dataset not in dataset_keys:
                    continue
                if ref.collection in collections:
                    links.append(Link(name, field_name, ref.collection, ref.target, ref.direction))
    return links


def _edges(links: Iterable[Link]) -> list[Edge]:
    edges = []
    for link in links:
        if link.direction in ("from", "both"):
            edges.append(Edge(link.parent, link.parent_field, link.child, link.child_field))
        if link.direction in ("to", "both"):
            edges.append(Edge(link.child, link.child_field, link.parent, link.parent_field))
    return edges


def _topological(names: list[str], edges: list[Edge]) -> list[str]:
    """``names`` ordered so that edge sources come first; ties and cycles keep the given order."""
    inside = set(names)
    waiting = {n: {e.source for e in edges if e.target == n and e.source in inside and e.source != n} for n in names}
    ordered: list[str] = []
    while waiting:
        ready = [n for n in names if n in waiting and not waiting[n] - set(ordered)]
        chosen = ready[0] if ready else next(n for n in names if n in waiting)
        ordered.append(chosen)
        del waiting[chosen]
    return ordered


def plan_traversal(collections: Mapping[str, Collection], links: list[Link],
                   identity_kinds: Iterable[str]) -> TraversalPlan:
    """The visiting order for a request whose subject is known by ``identity_kinds`` (email, phone_number...)."""
    kinds = set(identity_kinds)
    usable = {n: c for n, c in collections.items() if not c.skip}
    edges = [e for e in _edges(links) if e.source in usable and e.target in usable]
    level: dict[str, int] = {}
    frontier = [n for n, c in usable.items() if kinds & set(c.identity_fields)]
    for name in frontier:
        level[name] = 0
    depth = 0
    while frontier:
        depth += 1
        reached = []
        for edge in edges:
            if edge.source in frontier and edge.target not in level:
                level[edge.target] = depth
                reached.append(edge.target)
        frontier = list(dict.fromkeys(reached))
    order: list[str] = []
    for depth_of in sorted(set(level.values())):
        same = [n for n in usable if level.get(n) == depth_of]
        order += _topological(same, [e for e in edges if level.get(e.source) == depth_of])
    position = {name: i for i, name in enumerate(order)}
    steps = []
    for name in order:
        collection = usable[name]
        identities = tuple((f, kind) for kind, fields in collection.identity_fields.items() if kind in kinds
                           for f in fields)
        incoming = tuple(e for e in edges if e.target == name and e.source in position
                         and position[e.source] < position[name])
        steps.append(Step(name, identities, incoming, level[name]))
    return TraversalPlan(tuple(steps))


def children_first(names: Iterable[str], links: list[Link]) -> list[str]:
    """``names`` ordered so that a collection comes before the collections it references (safe deletion order)."""
    listed = list(names)
    as_edges = [Edge(link.child, link.child_field, link.parent, link.parent_field) for link in links
                if link.child != link.parent]
    return _topological(listed, as_edges)


def reachable(collections: Mapping[str, Collection], links: list[Link]) -> set[str]:
    """Collections some identity leads to (whatever the identity kind)."""
    kinds = {kind for c in collections.values() for kind in c.identity_fields}
    return set(plan_traversal(collections, links, kinds).collections)
