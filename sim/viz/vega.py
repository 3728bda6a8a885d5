"""A Vega-Lite chart widget that loads its libraries from the server, never from the web.

Solara's own ``VegaLite`` widget asks its asset proxy for ``vega@5``,
``vega-lite@5`` and ``vega-embed@6``: names that only a CDN resolves, so on
a machine without internet access the page draws nothing. ``solara-assets``
ships exact versions (``vega@5.21.0`` ...) in the server's asset folder;
this widget asks for those, found when the module is imported, and is
otherwise the same idea: a specification in, an SVG chart out, resized with
its container.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import solara
import traitlets
from ipyvue import VueTemplate  # type: ignore[import-untyped]

LIBRARIES = (("vega", 5), ("vega-lite", 5), ("vega-embed", 6))
"""The libraries the chart needs and their major versions."""


def library_folders(root: Path) -> dict[str, str]:
    """For each library, the newest ``NAME@MAJOR.x.y`` folder in ``root`` (else ``NAME@MAJOR``).

    The fallback is what a CDN resolves, for servers that proxy one.
    """
    out = {}
    for name, major in LIBRARIES:
        pattern = re.compile(rf"^{re.escape(name)}@{major}\.(\d+)\.(\d+)$")
        found = []
        if root.is_dir():
            for p in root.iterdir():
                m = pattern.match(p.name)
                if m and (p / "build").is_dir():
                    found.append(((int(m[1]), int(m[2])), p.name))
        out[name] = max(found)[1] if found else f"{name}@{major}"
    return out


def _asset_root() -> Path:
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


TEMPLATE = """
<template><div ref="plot" style="width: 100%"></div></template>
<script>
module.exports = {
  mounted() { this.draw(); },
  watch: { spec() { this.draw(); } },
  destroyed() { if (this.observer) { this.observer.disconnect(); } },
  methods: {
    cdn() {
      return (window.solara && window.solara.cdn) || "./_solara/cdn";
    },
    draw() {
      const base = this.cdn();
      const paths = {};
      for (const name of ["vega", "vega-lite", "vega-embed"]) {
        paths[name] = `${base}/${this.folders[name]}/build/${name}.min`;
      }
      window.requirejs.config({ paths: paths });
      // (no async arrow functions: ipyvue's fallback script loader does not take them)
      window.requirejs(["vega-embed"], (vegaEmbed) => { this.embed(vegaEmbed); });
    },
    embed(vegaEmbed) {
      const spec = JSON.parse(JSON.stringify(this.spec));
      vegaEmbed(this.$refs.plot, spec, { renderer: "svg", actions: false }).then((result) => {
        if (this.view) { this.view.finalize(); }
        this.view = result.view;
        if (!this.observer) {
          this.observer = new ResizeObserver(() => { this.view.resize().run(); });
          this.observer.observe(this.$refs.plot);
        }
      });
    },
  },
};
</script>
"""


class VegaChart(VueTemplate):
    """A Vega-Lite specification drawn in the browser with the server's own libraries."""

    template = traitlets.Unicode(TEMPLATE).tag(sync=True)
    spec = traitlets.Dict().tag(sync=True)
    folders = traitlets.Dict().tag(sync=True)


_FOLDERS: dict[str, str] = {}


def chart(spec: dict[str, Any]) -> solara.Element:
    """A :class:`VegaChart` element for ``spec``."""
    if not _FOLDERS:
        _FOLDERS.update(library_folders(_asset_root()))
    return VegaChart.element(spec=spec, folders=dict(_FOLDERS))
