"""The one exception that expression text can cause."""

from __future__ import annotations

from typing import Any

from sim.errors import WargameError


class ExpressionError(WargameError):
    """Raised for any invalid expression.

    A single exception type lets scenario loaders report every problem in an expression the
    same way (with position and suggestion) instead of leaking parser internals.

    Attributes:
        message: Plain-words description of the problem.
        offset: 0-based character offset into the expression text where the problem is (best
            effort; 0 if unknown), so tools can underline it.
        hint: Optional suggestion such as ``"did you mean tension?"``.
    """

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint

    def __str__(self) -> str:
        return self.message + (f" ({self.hint})" if self.hint else "")

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep offset and hint when the error crosses a process boundary (worker pools).
        return (type(self), (self.message, self.offset, self.hint))
