"""Symbols: the names an expression may use, with their static types."""

from __future__ import annotations

from dataclasses import dataclass

_SYMBOL_TYPES = ("bool", "int", "float", "enum")


@dataclass(frozen=True)
class Symbol:
    """A name that expressions may refer to.

    Attributes:
        name: Dotted name as written, e.g. ``"tension"`` or ``"ukraine.strike_belarus.count"``.
        type: ``"bool"``, ``"int"``, ``"float"`` or ``"enum"``; drives static type checking
            so that mistakes are reported at load time rather than mid-simulation.
        enum_values: For ``"enum"``: the allowed values in order.  The environment holds the
            integer code (index into this tuple), which keeps evaluation purely numeric.
        constant: If not None the symbol is a compile-time constant and is folded into the
            expression (e.g. ``rungs.war`` -> 3); no environment value is needed.  For enums
            it may be given as the value's text or as its integer code.
        visible_to: If set, only expressions compiled with ``owner == visible_to`` may use the
            symbol; it models private knowledge of one actor.
        doc: Human-readable description.
        hint: What to suggest when an expression that may not see the symbol uses it
            (e.g. the belief about a private trait that the reader may hold instead).
    """

    name: str
    type: str
    enum_values: tuple[str, ...] = ()
    constant: float | int | bool | str | None = None
    visible_to: str | None = None
    doc: str = ""
    hint: str = ""

    def __post_init__(self) -> None:
        if self.type not in _SYMBOL_TYPES:
            raise ValueError(f"symbol {self.name!r}: type must be one of {_SYMBOL_TYPES}")
        values = tuple(self.enum_values)
        object.__setattr__(self, "enum_values", values)
        if self.type == "enum":
            if not values or not all(isinstance(v, str) for v in values):
                raise ValueError(f"symbol {self.name!r}: enum needs a tuple of text values")
            if len(set(values)) != len(values):
                raise ValueError(f"symbol {self.name!r}: enum values must be unique")
            c = self.constant
            if isinstance(c, str):
                if c not in values:
                    raise ValueError(f"symbol {self.name!r}: constant {c!r} is not a value")
            elif c is not None and (
                isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < len(values)
            ):
                raise ValueError(f"symbol {self.name!r}: constant must be a value or a code")
        elif values:
            raise ValueError(f"symbol {self.name!r}: enum_values given for a {self.type}")
