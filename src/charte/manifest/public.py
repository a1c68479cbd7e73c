"""What the public may see of the manifest."""

from __future__ import annotations

from typing import Any

from charte.manifest.models import Manifest

#: What the public may see of the manifest. Listed, not excluded, so a new field stays private until chosen;
#: ``systems`` is absent on purpose: it names the organisation's internal databases.
PUBLIC_FIELDS: dict[str, Any] = {
    "controller": True,
    "dpo": {"name", "email", "address", "form_url", "cnil_designation"},
    "supervisory_authority": True,
    "policy": True,
    "languages": True,
    "default_language": True,
    "transfers": True,
    "data_categories": True,
    "data_sources": True,
    "data_subjects": True,
    "purposes": True,
    "recipients": True,
    "rights": True,
    "cookies": True,
    "security_measures": True,
}


def public_policy(manifest: Manifest) -> dict[str, Any]:
    """The publishable part of the manifest as JSON-ready data, with the policy's last modification."""
    data: dict[str, Any] = manifest.model_dump(mode="json", include=PUBLIC_FIELDS)
    data["policy"]["last_modified"] = manifest.policy.last_modified.isoformat()
    return data
