"""Packet memory: freed buffers stay with the process, as the kernel's slab caches keep theirs.

Linux recycles ``sk_buff`` heads and data from its slab caches and page pools; a freed 64 KB
segment does not go back to the page allocator only to be faulted in and zeroed again for the
next one.  Python's buffers come from the C library's ``malloc``, and glibc by default serves
every block above its mmap threshold (128 KB, raised as such blocks are freed) with a fresh
``mmap`` and gives the top of its heap back to the system once about twice that is free.  A bulk
transfer that reads 1 MB at a time then touches fresh pages all the time: one page fault and a
zeroed page per 4 KB, a tenth of a loopback transfer's time.  ``keep_freed_memory`` raises both
limits once per process (``mallopt``), unless the environment already chose them.
"""

from __future__ import annotations

import ctypes
import os

# The size of a page (x86-64, arch/x86/include/asm/page_types.h): what the kernel's allocators and
# a socket's memory accounting count in.
PAGE_SIZE = 4096

# mallopt() parameters (malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks up to this size come from the heap (the largest read a bulk receiver makes is ~1 MB) ...
MMAP_THRESHOLD = 4 << 20
# ... and this much free memory at the top of the heap is kept rather than given back.
TRIM_THRESHOLD = 64 << 20

_done = False


def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds once per process; True if they were set now.

    Nothing is changed when the C library is not glibc or when ``MALLOC_*`` variables or
    ``GLIBC_TUNABLES`` in the environment already tune the allocator."""
    global _done
    if _done:
        return False
    _done = True
    try:
        libc_name = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError):
        libc_name = ""
    if not libc_name.startswith("glibc"):
        return False
    if "GLIBC_TUNABLES" in os.environ or any(k.startswith("MALLOC_") for k in os.environ):
        return False
    libc = ctypes.CDLL(None)
    return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
