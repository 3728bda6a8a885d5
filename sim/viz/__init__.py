"""Interactive viewer: a live ensemble, one world stepped day by day, and a seat.

``wargame view SCENARIO`` serves :mod:`sim.viz.app` with Solara. The modules
that compute what the page shows (:mod:`~sim.viz.controls`,
:mod:`~sim.viz.ensemble`, :mod:`~sim.viz.charts`, :mod:`~sim.viz.story`,
:mod:`~sim.viz.asof`) need only the core dependencies; the page itself
(:mod:`~sim.viz.app`, :mod:`~sim.viz.settings`, :mod:`~sim.viz.sidebar`,
:mod:`~sim.viz.seat`, :mod:`~sim.viz.vega`) needs the ``viz`` extra
(``pip install -e .[viz]``). Nothing here imports Solara at import time.
"""
