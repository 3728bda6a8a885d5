"""``wargame view SCENARIO``: serve the interactive viewer with Solara.

The scenario is loaded (and so checked) here, before any server starts, so a
bad file or ``--set`` is reported like in every other command. The server is
``solara run sim.viz.app`` in a child process, told the scenario through the
``WARGAME_SCENARIO`` environment variable (and its ``--set``, ``--claims``
and ``--no-claims`` through others, see :mod:`sim.viz.environment`); it
listens on 127.0.0.1 unless ``--host`` says otherwise and stops with Ctrl-C.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sim.arguments import add_claims_options
from sim.errors import ValidationError, WargameError
from sim.viz.environment import OVERRIDES_ENV as OVERRIDES_ENV
from sim.viz.environment import SCENARIO_ENV as SCENARIO_ENV
from sim.viz.environment import server_env

APP_MODULE = "sim.viz.app"
DEFAULT_PORT = 8765
INSTALL_HINT = "install the viewer extra: pip install -e .[viz]"


class ViewerUnavailable(WargameError):
    """The viewer's optional dependencies are not installed."""


def check_installed() -> None:
    """Raise :class:`ViewerUnavailable` unless Solara and Mesa's viz extra import."""
    missing = [m for m in ("solara", "mesa.visualization") if not _importable(m)]
    if missing:
        raise ViewerUnavailable(f"the viewer needs {', '.join(missing)}: {INSTALL_HINT}")


def _importable(module: str) -> bool:
    try:
        if importlib.util.find_spec(module) is None:
            return False
        if module == "mesa.visualization":  # present without its extra; needs solara, altair
            # Importing it is the only test; it takes seconds, so only when the viewer starts.
            import mesa.visualization  # noqa: F401
    except ImportError:
        return False
    return True


def server_command(host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> list[str]:
    """The command that serves the app (production mode: no reloader, no browser)."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        APP_MODULE,
        "--host",
        host,
        "--port",
        str(port),
        "--production",
        "--no-open",
        "--log-level",
        "warning",
    ]


def serve(
    scenario: str | Path,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    overrides: Sequence[str] = (),
    claims: str | Path | None = None,
    check_claims: bool = True,
    observations: str | Path | None = None,
) -> int:
    """Check the scenario, then run the viewer in this process until it is stopped.

    ``claims`` and ``check_claims`` are ``--claims FILE`` and the opposite
    of ``--no-claims``: the page checks citations the same way.

    On POSIX the process becomes the Solara server (``exec``), so the pid a
    caller knows is the server's; it does not return there.
    """
    from sim.registry import claims_policy  # start-up time: the parser alone for --help
    from sim.scenario import load_scenario

    check_installed()
    with claims_policy(claims, check=check_claims) as policy:
        # report a bad file before starting a server
        load_scenario(scenario, tuple(overrides), observations=observations)
    print(f"wargame view: http://{host}:{port}/  (Ctrl-C to stop)", file=sys.stderr, flush=True)
    command = server_command(host, port)
    env = server_env(scenario, overrides, claims=policy, observations=observations)
    if os.name == "posix":
        # become the server: one process, which Ctrl-C or a signal to our pid stops
        os.execve(command[0], command, env)
    return subprocess.call(command, env=env)  # pragma: no cover - Windows


def cmd_view(args: argparse.Namespace) -> int:
    """The ``view`` subcommand."""
    return serve(
        args.file,
        host=args.host,
        port=args.port,
        overrides=args.set or (),
        claims=args.claims,
        check_claims=not args.no_claims,
        observations=args.observations,
    )


DESCRIPTION = (
    "Serve an interactive page (Solara, Mesa's SolaraViz): step one world through the "
    "scenario day by day and watch the outcome shares of a few thousand worlds change as "
    "you pin parameters. Needs the viewer extra: pip install -e .[viz]"
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The arguments of ``wargame view`` and ``python -m sim.viz``."""
    p.add_argument("file", metavar="SCENARIO")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")
    p.add_argument(
        "--set",
        action="append",
        metavar="PATH=VALUE",
        help="override a scenario value, e.g. --set actors.kremlin.rationality=2",
    )
    p.add_argument(
        "--observations",
        metavar="FILE",
        help="a separate observations file naming the scenario (docs/evidence.md): the page "
        "gets an as-of slider that conditions the ensemble on them",
    )
    add_claims_options(p)
    p.set_defaults(func=cmd_view)


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``view`` to the ``wargame`` parser."""
    p = sub.add_parser(
        "view",
        help="interactive viewer in the browser: one world day by day, and a live ensemble",
        description=DESCRIPTION,
    )
    add_arguments(p)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.viz SCENARIO [--port P]``: the same as ``wargame view``."""
    parser = argparse.ArgumentParser(prog="python -m sim.viz", description=DESCRIPTION)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValidationError as exc:
        for d in exc.diagnostics:
            print(str(d), file=sys.stderr)
        return 2
    except WargameError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
