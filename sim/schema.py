"""JSON Schema for scenario files, generated from :mod:`sim.scenario.format`.

The shipped copy (``sim/schemas/scenario.schema.json``) is regenerated with
``wargame schema --out sim/schemas/scenario.schema.json``; a test checks it is
up to date, so editors and the validator agree.
"""

from __future__ import annotations

import json
from pathlib import Path

from sim.scenario.format import json_schema

SCHEMA_PATH = Path(__file__).parent / "schemas" / "scenario.schema.json"


def schema_text() -> str:
    """The schema as stable, pretty JSON text."""
    return json.dumps(json_schema(), indent=2, sort_keys=False) + "\n"
