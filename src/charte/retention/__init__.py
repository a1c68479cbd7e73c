"""Retention: rules from the manifest and the dataset annotations, legal holds, and resumable batched sweeps.

Entry points (see ``docs/retention.md``):

- :func:`plan_retention` counts the rows each rule changes now and within 30 days and renders its SQL;
- :func:`run_retention` applies the rules in batches, resumably, with one ledger event per collection;
- :func:`last_runs` lists the newest runs (dashboard).
"""

from charte.retention.journal import (
    SWEPT_EVENT,
    LeaseLost,
    RetentionRunInProgress,
    RunSummary,
    last_runs,
)
from charte.retention.plan import RetentionPlan, RulePlan, plan_retention
from charte.retention.rules import (
    Boundary,
    Expiry,
    Hold,
    RetentionConfigError,
    Rule,
    collection_rules,
    system_rules,
)
from charte.retention.run import (
    DEFAULT_BATCH,
    BatchDone,
    CollectionSweep,
    RetentionResumeError,
    RunReport,
    run_retention,
)

__all__ = [
    "DEFAULT_BATCH",
    "SWEPT_EVENT",
    "BatchDone",
    "Boundary",
    "CollectionSweep",
    "Expiry",
    "Hold",
    "LeaseLost",
    "RetentionConfigError",
    "RetentionPlan",
    "RetentionResumeError",
    "RetentionRunInProgress",
    "Rule",
    "RulePlan",
    "RunReport",
    "RunSummary",
    "collection_rules",
    "last_runs",
    "plan_retention",
    "run_retention",
    "system_rules",
]
