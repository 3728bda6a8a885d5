"""How long the processes and temporary folders of a batch live.

A batch must never outlive the command that started it, and must never leave
half-written state behind that could be mistaken for results:

* worker processes end with their parent, however it ends (:func:`tie_to_parent`):
  on Linux the kernel kills them the moment the parent dies
  (``PR_SET_PDEATHSIG``); everywhere, a watchdog thread notices that the
  parent has gone and ends the worker within :data:`WATCHDOG_SECONDS`;
* SIGTERM and SIGHUP stop a batch as Ctrl-C does (:func:`stop_signals_interrupt`):
  queued work is cancelled, workers are stopped, the temporary folder is
  removed, and the command exits with ``128 + signal number``;
* while the parent is inside a process pool's own machinery (submitting a
  task, waiting for one, taking a result, closing the pool), a stop signal or
  Ctrl-C is held and raised the moment it leaves it (:class:`held_stops`):
  ``concurrent.futures`` takes its locks in Python code, and a signal raised
  just after one was taken would leave it taken, so that the pool's manager
  thread, waiting for it to record a result, would never let the pool close.

Who owns a temporary results folder, and when its owner is gone, is
:mod:`sim.results.locks`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

WATCHDOG_SECONDS = 0.5
"""How often a worker checks that its parent is still alive."""

STOP_SIGNALS = tuple(
    s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s
)
"""Signals that stop a batch cleanly (SIGINT already raises KeyboardInterrupt)."""


# -- the worker side ---------------------------------------------------------------
def tie_to_parent(parent: int) -> None:
    """Make this worker process end when process ``parent`` (its creator) ends.

    Called first thing in every worker. Stop signals (Ctrl-C, SIGTERM,
    SIGHUP, also sent to the whole process group by a terminal or a service
    manager) are left to the parent, which cancels the batch, stops its
    workers and cleans up; a worker alone would die mid-chunk and turn a
    clean stop into a "worker died" failure.
    """
    for sig in (signal.SIGINT, *STOP_SIGNALS):
        signal.signal(sig, signal.SIG_IGN)
    _kill_me_with_parent()
    if os.getppid() != parent:  # the parent died before we got here
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watchdog", daemon=True).start()


def _kill_me_with_parent() -> None:
    """Ask the Linux kernel to SIGKILL this process when its parent dies.

    For the kernel the parent is the *thread* that started this process. A
    process pool starts its workers from the thread that submits work, which
    is the thread that runs the batch and closes the pool; so the workers
    never outlive it while they are needed.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # no libc symbol: the watchdog still works
        pass


def _watch(parent: int) -> None:
    """End the process once it has been handed to another parent (the old one died)."""
    while True:
        time.sleep(WATCHDOG_SECONDS)
        if os.getppid() != parent:
            os._exit(1)


# -- the parent side ---------------------------------------------------------------
class Terminated(KeyboardInterrupt):
    """A stop signal arrived; it unwinds like Ctrl-C so every cleanup path runs."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        """The name of the signal, e.g. ``SIGTERM``, for the message that reports it."""
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        """The shell's convention for a process ended by a signal."""
        return 128 + self.signum


@contextlib.contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread,
    and Ctrl-C raises KeyboardInterrupt, at once or, inside :class:`held_stops`, on
    leaving it.

    A second stop signal during the cleanup ends the process at once (the
    default action): whoever insists gets a hard stop, and the workers still
    die with the parent; a second Ctrl-C raises KeyboardInterrupt again, as
    Python's own handler does. Outside the main thread (where Python cannot
    set handlers) nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: FrameType | None) -> None:
        if _held.depth:
            _held.signals.append(signum)
            return
        _raise(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _held.signals.clear()


def _raise(signum: int) -> None:
    """Raise what signal ``signum`` stands for, the handlers set for a second one."""
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    raise Terminated(signum)


class _Held:
    """How deep the main thread is in :class:`held_stops`, and the signals held there."""

    def __init__(self) -> None:
        self.depth = 0
        self.signals: list[int] = []


_held = _Held()


class held_stops:
    """A block that a stop signal or Ctrl-C does not interrupt: the first one that came is
    raised on leaving it (by :func:`stop_signals_interrupt`'s handler; outside it, and
    outside the main thread, the block changes nothing).

    For short calls into code that takes locks in Python, such as a process pool's
    ``submit`` and ``concurrent.futures.wait`` (with a timeout of a fraction of a
    second, so that a signal waits no longer).
    """

    __slots__ = ("_main",)

    def __enter__(self) -> held_stops:
        self._main = threading.current_thread() is threading.main_thread()
        if self._main:
            _held.depth += 1
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._main:
            return
        _held.depth -= 1
        if _held.depth == 0 and _held.signals:
            signum = _held.signals[0]
            _held.signals.clear()
            _raise(signum)
