"""The 72-hour clock of Art. 33(1): deadline from awareness, time left, lateness and warning thresholds."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

#: Art. 33(1): "without undue delay and, where feasible, not later than 72 hours after having become aware of it".
NOTIFICATION_WINDOW: Final = timedelta(hours=72)
#: Hours left at which the DPO is warned, most distant first; 0 is the deadline itself (then late).
WARNING_THRESHOLDS: Final[tuple[int, ...]] = (48, 24, 0)


def notification_deadline(aware_at: datetime) -> datetime:
    """The instant the initial notification is due: 72 hours after awareness."""
    return aware_at + NOTIFICATION_WINDOW


def time_left(aware_at: datetime, now: datetime) -> timedelta:
    """Time until the deadline; negative once it has passed."""
    return notification_deadline(aware_at) - now


def is_late(aware_at: datetime, submitted_at: datetime) -> bool:
    """Whether a notification submitted at ``submitted_at`` missed the 72 hours (reasons for delay needed)."""
    return submitted_at > notification_deadline(aware_at)


def crossed_thresholds(aware_at: datetime, now: datetime) -> tuple[int, ...]:
    """The warning thresholds already reached at ``now``, most distant first."""
    left = time_left(aware_at, now)
    return tuple(h for h in WARNING_THRESHOLDS if left <= timedelta(hours=h))


def split_duration(delta: timedelta) -> tuple[int, int]:
    """A duration's absolute value as whole hours and minutes (rounded down to the minute)."""
    minutes = int(abs(delta).total_seconds()) // 60
    return divmod(minutes, 60)
