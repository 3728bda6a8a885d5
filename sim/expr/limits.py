"""Size limits of an expression, checked while compiling.

They bound the work that untrusted text can ask for: parsing, recursion in the compiler,
evaluation cost and the magnitude of numbers.
"""

MAX_LENGTH = 1000
"""Maximum number of characters in an expression (checked before parsing)."""

MAX_DEPTH = 40
"""Maximum nesting depth of the syntax tree (guards recursion in the compiler)."""

MAX_NODES = 400
"""Maximum number of syntax nodes (guards compile time and evaluation cost)."""

MAX_CONSTANT = 1e15
"""Maximum absolute value of any literal or folded constant."""

MAX_EXPONENT = 16
"""Maximum absolute value of the (constant) exponent of ``**``."""
