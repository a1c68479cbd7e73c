"""The heap pad a process serving requests keeps (see charte.store.heap)."""

from __future__ import annotations

import ctypes
import os

import pytest

from charte.store import make_engine
from charte.store.heap import TOP_PAD, keep_heap


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION") is not None
    except (ValueError, OSError):
        return False


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


@pytest.mark.skipif(not _glibc(), reason="the heap pad is a glibc setting; this C library is not glibc")
def test_a_store_engine_keeps_freed_heap_at_the_top() -> None:
    make_engine("sqlite://").dispose()
    assert keep_heap() is True  # already applied by the engine: asked once per process
    libc = ctypes.CDLL(None)
    if not hasattr(libc, "mallinfo2"):
        pytest.skip("glibc older than 2.33 has no mallinfo2 to read the heap with")
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    # Blocks below the mmap threshold come from the heap; freed from the top down, they leave a large free top,
    # which glibc hands back to the kernel beyond 128 KiB unless a pad is kept.
    blocks = [libc.malloc(64 * 1024) for _ in range(128)]
    assert all(blocks)
    for block in reversed(blocks):
        libc.free(block)
    assert libc.mallinfo2().keepcost >= min(TOP_PAD, 4 * 1024 * 1024)
