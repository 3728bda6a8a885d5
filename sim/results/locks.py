"""Who owns a temporary results folder, and whether its owner is gone.

A batch writes into a temporary folder (:mod:`sim.results.staging`) that it
*owns* while its process holds a lock on it (:func:`hold`). The kernel drops
the lock however the process ends, SIGKILL included, so the next batch that
writes beside it can tell a leftover of a killed batch (:func:`owner_gone`)
from the folder of one that still runs, even in another container sharing
the folder. :func:`exclusive` serialises short updates such as moving
``latest``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

_fcntl: Any
try:
    import fcntl as _fcntl
except ImportError:  # Windows: no advisory locks
    _fcntl = None


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists on this machine (``True`` when unsure)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill(pid, 0) would terminate it there
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. PermissionError: it exists, under another user
        return True
    return True


def hold(folder: Path) -> int | None:
    """Lock ``folder`` for this process; returns the descriptor to keep open.

    The lock lasts until the descriptor is closed or the process ends, by
    whatever means (SIGKILL included): the kernel releases it, so a lock that
    can be taken means its owner is gone, even one in another container on a
    shared folder. ``None`` where locks are not available, or if another
    process holds the lock.
    """
    if _fcntl is None:
        return None
    fd = os.open(folder, os.O_RDONLY)
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def exclusive(folder: Path) -> Iterator[None]:
    """Hold ``folder``'s lock for the block, waiting for it; for short updates.

    Where locks are not available the block runs unguarded.
    """
    if _fcntl is None:
        yield
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        _fcntl.flock(fd, _fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def release(fd: int | None) -> None:
    """Give up a lock taken by :func:`hold`."""
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def owner_gone(folder: Path, pid: int) -> bool:
    """Whether the process ``pid`` that made and locked ``folder`` has ended.

    Both must agree: the pid no longer runs here, and nobody holds the
    folder's lock (a process in another PID namespace, such as another
    container sharing the folder, can have our pid numbers but not our
    locks). Where there are no locks, the pid decides.
    """
    if pid_alive(pid):
        return False
    if _fcntl is None:
        return True
    try:
        fd = hold(folder)
    except OSError:  # vanished or unreadable: not ours to judge
        return False
    release(fd)
    return fd is not None
