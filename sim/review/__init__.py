"""The after-action review of a played game.

A review (:class:`~sim.review.data.Review`) is computed once from a game
(:func:`~sim.review.data.build_review`) and then shown: as text
(:func:`~sim.review.text.format_review`), as a self-contained HTML page with
charts (:func:`~sim.review.page.write_review`), or by any other front end
from the same objects (the browser seat). Inside, bottom to top: ``data``
(no drawing, no printing), ``text`` and ``charts``, then ``page``.
"""

from __future__ import annotations

from sim.review.data import (
    LadderMove,
    PathRow,
    Review,
    Step,
    Stretch,
    build_review,
    ladder_moves,
    paths_of,
    repeats,
    stretches,
    timeline,
)
from sim.review.page import render_review, write_review
from sim.review.text import format_review

__all__ = [
    "LadderMove",
    "PathRow",
    "Review",
    "Step",
    "Stretch",
    "build_review",
    "format_review",
    "ladder_moves",
    "paths_of",
    "render_review",
    "repeats",
    "stretches",
    "timeline",
    "write_review",
]
