"""The hook through which a restriction of processing (Art. 18) stops the permission check.

The restriction register belongs to the data-subject rights feature. Until it exists, the default source says
that no restriction is in force; the rights feature passes its own :class:`RestrictionSource` (for instance one
reading its register) to :func:`charte.consent.check_permission` and :func:`charte.consent.check_permissions`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from charte.store import Reader


class RestrictionSource(Protocol):
    """Tells which subjects have processing restricted (Art. 18) for a purpose."""

    def restricted(self, reader: Reader, subjects: Collection[str], purpose: str) -> set[str]:
        """Those of ``subjects`` (keys ``email:…``, ``customer:…``, ``visitor:…``) restricted for ``purpose``."""
        ...


class NoRestrictionRegister:
    """The default source: no restriction register exists yet, so no restriction is ever in force."""

    def restricted(self, reader: Reader, subjects: Collection[str], purpose: str) -> set[str]:
        """Always the empty set."""
        return set()


#: The source used when the caller gives none.
NO_RESTRICTIONS: RestrictionSource = NoRestrictionRegister()
