"""What every ``wargame`` command shares: exit codes and where text goes."""

from __future__ import annotations

import atexit
import os
import sys
import threading

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
"""Success; a check that failed (``trace --strict``); an error the user can fix."""

EXIT_PIPE = 141
"""The reader of the output went away (128 + SIGPIPE, what a shell reports for a
program a closed pipe ended)."""


def out(text: str = "") -> None:
    """A line of the command's result, on stdout."""
    print(text, file=sys.stdout)


def err(text: str) -> None:
    """A line of diagnostics, on stderr."""
    print(text, file=sys.stderr)


def exit_now(code: int) -> None:
    """End this process with ``code``: its output flushed and its exit handlers run
    (:mod:`atexit`), but without the interpreter's own teardown.

    That teardown frees every object one by one (the scenario, the engine's
    modules, numpy's) and costs some 30 to 80 ms at the end of a batch, for a
    process about to give all its memory back anyway. Nothing changes where
    more than this thread still runs (it keeps the usual exit, which waits for
    them), or where the output cannot be flushed (a closed pipe is then
    reported as usual).
    """
    if threading.active_count() > 1:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return
    atexit._run_exitfuncs()
    os._exit(code)
