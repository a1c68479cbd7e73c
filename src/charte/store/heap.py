"""Keep freed heap memory for the next request instead of handing it back to the system after each one.

SQLite (the embedded store, SQLite systems) allocates with the C library's ``malloc``. glibc gives the top of the
heap back to the kernel as soon as more than 128 KiB of it is free, so on a process serving requests one after
another, every request that follows a commit on another database grows the heap again, page fault by page fault:
measured on the data-subject request benchmark, the subject's rows read in 450 µs instead of 150 µs. A pad of a
few MiB kept at the top of the heap removes that, for a bounded cost in resident memory.
"""

from __future__ import annotations

import ctypes
import os
import threading

#: ``mallopt`` parameter number of ``M_TOP_PAD`` in glibc's ``malloc.h``.
_M_TOP_PAD = -2
#: Bytes of free heap kept at the top (and added when it grows).
TOP_PAD = 16 * 1024 * 1024

_lock = threading.Lock()
_applied: bool | None = None


def keep_heap(pad: int = TOP_PAD) -> bool:
    """Ask glibc to keep ``pad`` bytes of free heap (once per process); False where the C library is not glibc."""
    global _applied
    with _lock:
        if _applied is None:
            _applied = False
            if _glibc():
                try:
                    _applied = bool(ctypes.CDLL(None).mallopt(_M_TOP_PAD, pad))
                except (OSError, AttributeError):
                    _applied = False
        return _applied


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError, AttributeError):
        return False
