"""Interactive viewer: one world stepped day by day, and a live ensemble.

``wargame view SCENARIO`` serves :mod:`sim.viz.app` with Solara. The modules
that compute what the page shows (:mod:`~sim.viz.controls`,
:mod:`~sim.viz.ensemble`, :mod:`~sim.viz.story`) need only the core
dependencies; :mod:`sim.viz.app` needs the ``viz`` extra
(``pip install -e .[viz]``). Nothing here imports Solara at import time.
"""
