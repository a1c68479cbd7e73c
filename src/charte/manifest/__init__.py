"""The policy as code: the manifest's models, loading with ``file:line`` errors, and lint rules."""

from charte.manifest.durations import Duration, InvalidDuration
from charte.manifest.loader import CheckResult, check_file, check_text, load_manifest
from charte.manifest.models import RIGHTS, Manifest, Purpose, tr
from charte.manifest.problems import ManifestError, Problem

__all__ = [
    "RIGHTS",
    "CheckResult",
    "Duration",
    "InvalidDuration",
    "Manifest",
    "ManifestError",
    "Problem",
    "Purpose",
    "check_file",
    "check_text",
    "load_manifest",
    "tr",
]
