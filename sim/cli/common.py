"""What every ``wargame`` command shares: exit codes and where text goes."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
"""Success; a check that failed (``trace --strict``); an error the user can fix."""


def out(text: str = "") -> None:
    """A line of the command's result, on stdout."""
    print(text, file=sys.stdout)


def err(text: str) -> None:
    """A line of diagnostics, on stderr."""
    print(text, file=sys.stderr)
