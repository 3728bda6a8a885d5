"""``python -m sim.viz SCENARIO [--port P]`` is the same as ``wargame view``."""

import sys

from sim.viz.cli import main

sys.exit(main())
