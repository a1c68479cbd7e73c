"""The organisation's own databases: dataset annotations, discovery, and executing rights on them.

Entry points (see ``docs/datastores.md``):

- :func:`load_systems` reads and checks a manifest's dataset annotations and resolves each system's URL;
- :func:`execute` runs an access, portability, erasure, rectification or restriction request on them;
- :func:`discover` drafts annotations from a live database.
"""

from charte.datastores.annotations import Collection, DataField, Dataset, Erasure, LegalHold, Reference
from charte.datastores.catalog import Catalog, ConnectedSystem, connect_systems, load_systems
from charte.datastores.checks import check_datasets, validate_datasets
from charte.datastores.connect import (
    InvalidDatabaseUrl,
    MissingEnvironmentVariable,
    display_url,
    dispose_engines,
    resolve_url,
)
from charte.datastores.discover import discover, draft_yaml
from charte.datastores.environment import workspace_environ, workspace_keyring, workspace_systems
from charte.datastores.execute import UnknownRequestType, execute
from charte.datastores.identity import InvalidIdentity
from charte.datastores.journal import (
    ExecutionInProgress,
    JournalConflict,
    is_restricted,
    lift_restriction,
    restricted_rows,
)
from charte.datastores.live import check_live
from charte.datastores.loading import DatasetError, SystemAnnotations, read_datasets
from charte.datastores.operations import MissingPrimaryKey, RectificationRefused
from charte.datastores.report import (
    LEDGER_EVENTS,
    REQUEST_TYPES,
    CollectionReport,
    ExecutionReport,
    Kept,
    RequestType,
    SystemReport,
)

__all__ = [
    "LEDGER_EVENTS",
    "REQUEST_TYPES",
    "Catalog",
    "Collection",
    "CollectionReport",
    "ConnectedSystem",
    "DataField",
    "Dataset",
    "DatasetError",
    "Erasure",
    "ExecutionInProgress",
    "ExecutionReport",
    "InvalidDatabaseUrl",
    "InvalidIdentity",
    "JournalConflict",
    "Kept",
    "LegalHold",
    "MissingEnvironmentVariable",
    "MissingPrimaryKey",
    "RectificationRefused",
    "Reference",
    "RequestType",
    "SystemAnnotations",
    "SystemReport",
    "UnknownRequestType",
    "check_datasets",
    "check_live",
    "connect_systems",
    "discover",
    "display_url",
    "dispose_engines",
    "draft_yaml",
    "execute",
    "is_restricted",
    "lift_restriction",
    "load_systems",
    "read_datasets",
    "resolve_url",
    "restricted_rows",
    "validate_datasets",
    "workspace_environ",
    "workspace_keyring",
    "workspace_systems",
]
