"""The package's exception hierarchy.

Everything a user can cause (a bad scenario file, a bad ``--set``, a missing
results folder) raises a subclass of :class:`WargameError`; the CLI maps those
to a message and exit code 2, and anything else is a bug that deserves a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Location:
    """Where in which file something was written (1-based line and column)."""

    file: str
    line: int = 0
    col: int = 0
    # False when characters of the value do not map one-to-one onto columns
    # (multi-line, block or escaped scalars): then an offset into an
    # expression cannot be turned into a column, and the value's start is used.
    exact: bool = field(default=True, compare=False)
    # For an inexact scalar: its source text, and the column where it starts,
    # so an offset can still be placed by finding the offending token.
    raw: str = field(default="", compare=False, repr=False)
    raw_col: int = field(default=0, compare=False, repr=False)

    def __str__(self) -> str:
        if self.line:
            return f"{self.file}:{self.line}:{self.col}"
        return self.file


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in an input, with its place and severity."""

    location: Location
    message: str
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.location}: {self.severity}: {self.message}"


class WargameError(Exception):
    """Base of every error the package raises on purpose."""


class ValidationError(WargameError):
    """An input file (scenario, claims registry, override) is invalid.

    Carries *all* problems found, so a user fixes them in one pass rather
    than one per run.
    """

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(
            [d for d in diagnostics if d.severity == "error"], key=lambda d: d.location
        )
        self.warnings = [d for d in diagnostics if d.severity != "error"]
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self) -> tuple[type, tuple[list[Diagnostic]]]:
        # Keeps the diagnostics when the error crosses a process boundary.
        return (type(self), (self.diagnostics + self.warnings,))


class ResultsError(WargameError):
    """A results folder is missing, incomplete or of an unknown format."""


class ExecutionError(WargameError):
    """A batch chunk failed; the message names scenario, design point and seed."""


class UsageError(WargameError):
    """A command-line argument is malformed (e.g. a ``--vary`` range)."""
