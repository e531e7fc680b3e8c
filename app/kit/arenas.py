"""Fewer glibc malloc arenas for the serving process.

glibc gives each thread that allocates a malloc arena of its own, up to eight per core. The
server's threads (one per SQLite connection of the pool, the envelope writer, the executor)
each fill and fragment one, and the process keeps what they once held: resident memory that no
socket uses (PERFORMANCE.md P-1). Two arenas are what the usual advice for threaded Python
servers gives (``MALLOC_ARENA_MAX=2``); the allocations are short, and contention for the two
costs nothing measurable here. An operator's own ``MALLOC_ARENA_MAX`` is left as it is, and
where the C library is not glibc nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

log = logging.getLogger(__name__)

#: ``M_ARENA_MAX`` of glibc's ``mallopt``.
_M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap this process's malloc arenas (call before threads start). True if it was done."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_ARENA_MAX, arenas))
    if not done:
        log.debug("mallopt(M_ARENA_MAX) refused")
    return done
