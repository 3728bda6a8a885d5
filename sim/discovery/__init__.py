"""Scenario discovery: the boxes of parameter values in which an outcome is concentrated.

A batch's ``runs.csv`` holds every world's parameter draws and how it
ended. PRIM (the patient rule induction method of Friedman and Fisher, as
EMA Workbench implements it in ``ema_workbench.analysis.prim``, the
implementation the scenario-discovery literature uses) peels thin slices
off the space of draws, each time the slice whose removal raises the share
of worlds with the outcome most, until the box holds too few worlds. Each
step is a box on the *peeling trajectory*, with

* **coverage**: the share of all worlds with the outcome that lie in the box;
* **density**: the share of the box's worlds that have the outcome;
* **mass**: the share of all worlds that lie in the box.

Peeling trades coverage for density. The box chosen is the one of highest
coverage whose density reaches ``threshold``; if none does, the densest.
Each restriction of the chosen box gets EMA Workbench's quasi-p value (a
one-sided binomial test of whether the box without that restriction is as
dense, Bryant and Lempert 2010): below :data:`SIGNIFICANT` the restriction
matters; above, the box is about as dense without it.

Inputs: each parameter that takes more than one value in the batch.
Choice parameters are categorical (PRIM removes options); whole-number
parameters are numbers. They are given to PRIM as real numbers because EMA
Workbench 3.0.0's pasting step writes half-integers into whole-number
columns, which pandas 3 refuses; their limits are then rounded inward to
the whole numbers the box holds.

The results are a folder of kind ``"discovery"`` (:func:`write_discovery`),
by default next to the batch folder, named after it
(``<batch>-discovery-<outcome>``, ``<batch>-discovery-flag-<flag>``), so
:func:`discoveries_of` finds a batch's discoveries. ``summary.json``'s
``box`` holds the box in words (``sentence``) and its limits
(``restricted``): what the report shows.

Modules, bottom to top: :mod:`~sim.discovery.inputs` (the target and the
parameter draws), :mod:`~sim.discovery.words` (the box in words and the
summary), :mod:`~sim.discovery.search` (PRIM, the trajectory, the chosen
box) and :mod:`~sim.discovery.folder` (the folder written, read, found).
"""

from __future__ import annotations

from sim.discovery.folder import (
    TABLES,
    DiscoveryResult,
    default_folder,
    discoveries_of,
    load_discovery,
    write_discovery,
)
from sim.discovery.inputs import KIND, MIN_CASES, Dimension, Target, inputs
from sim.discovery.search import INTEROP_HINT, Discovery, choose, discover, expected_steps
from sim.discovery.words import SIGNIFICANT, box_sentence, number, significance_sentence

__all__ = [
    "INTEROP_HINT",
    "KIND",
    "MIN_CASES",
    "SIGNIFICANT",
    "TABLES",
    "Dimension",
    "Discovery",
    "DiscoveryResult",
    "Target",
    "box_sentence",
    "choose",
    "default_folder",
    "discover",
    "discoveries_of",
    "expected_steps",
    "inputs",
    "load_discovery",
    "number",
    "significance_sentence",
    "write_discovery",
]
