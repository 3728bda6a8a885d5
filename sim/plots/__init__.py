"""Charts of results folders: data helpers, drawing functions, and drivers.

:mod:`sim.plots.data` computes what each chart shows (pure functions over
the tables of a results folder); :mod:`sim.plots.charts` and
:mod:`sim.plots.charts_sweep` draw it, and :mod:`sim.plots.drivers` what
moves each outcome (tornado and partial dependence, from ``drivers.csv``);
the ``draw_*_plots`` functions save every chart of a folder as PNG and SVG
under ``<folder>/plots/``. See
``docs/charts.md`` for how to read each chart.
"""

from __future__ import annotations

from sim.plots.charts import (
    draw_batch_plots,
    draw_compare_plots,
    draw_plots,
    draw_sweep_plots,
    plot_attribution,
    plot_compare,
    plot_fan,
    plot_flags,
    plot_occupancy,
    plot_outcomes,
    plot_sweep,
    plot_time_to_event,
)
from sim.plots.data import (
    Attribution,
    Tables,
    attribution,
    compare_table,
    fan_bands,
    flag_table,
    load_tables,
    occupancy,
    outcome_table,
    sweep_curve,
    sweep_heatmap,
    time_to_event,
)
from sim.plots.drivers import (
    dependence_table,
    plot_dependence,
    plot_tornado,
    tornado_table,
)

__all__ = [
    "Attribution",
    "Tables",
    "attribution",
    "compare_table",
    "dependence_table",
    "draw_batch_plots",
    "draw_compare_plots",
    "draw_plots",
    "draw_sweep_plots",
    "fan_bands",
    "flag_table",
    "load_tables",
    "occupancy",
    "outcome_table",
    "plot_attribution",
    "plot_compare",
    "plot_dependence",
    "plot_fan",
    "plot_flags",
    "plot_occupancy",
    "plot_outcomes",
    "plot_sweep",
    "plot_time_to_event",
    "plot_tornado",
    "sweep_curve",
    "sweep_heatmap",
    "time_to_event",
    "tornado_table",
]
