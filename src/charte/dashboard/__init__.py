"""What the DPO's dashboard shows: the overview's sections and the readers of optional modules."""

from charte.dashboard.consents import ConsentRate, consent_rates
from charte.dashboard.retention import RetentionRun, last_retention_runs
from charte.dashboard.sections import OverviewContext, OverviewSection, collect, register_section

__all__ = ["ConsentRate", "OverviewContext", "OverviewSection", "RetentionRun", "collect", "consent_rates",
           "last_retention_runs", "register_section"]
