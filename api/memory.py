"""How a worker's C allocator gives memory back to the system.

glibc raises its mmap threshold each time a large block is freed (up to 32 MiB). After the first
transfer page has been answered, a page's megabyte buffers (its JSON text, the decoded rows, the
encoded answer) then come from the heap instead of mappings of their own, and the heap is seldom
given back: the worker's RSS stays at the peak of its busiest moment. Fixed thresholds keep blocks
over 128 KiB in mappings that are unmapped when freed, and trim the heap's free top above 128 KiB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Final

__all__ = ["return_large_blocks"]

_M_TRIM_THRESHOLD: Final = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD: Final = -3
_THRESHOLD: Final = 128 * 1024  # glibc's initial value, kept instead of raised


def return_large_blocks() -> bool:
    """Fix glibc's mmap and trim thresholds for this process; False where there is no glibc (musl,
    macOS), which leaves the allocator as it is."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, _THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, _THRESHOLD) == 1
