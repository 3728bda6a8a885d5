"""The discovery folder: written whole beside its batch, read back and found from it."""

from __future__ import annotations

import contextlib
import datetime as _dt
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.discovery.inputs import KIND, Target
from sim.discovery.search import Discovery, quiet
from sim.errors import ResultsError
from sim.results.reader import find_folder, read_json
from sim.results.staging import Staging
from sim.results.writer import versions, write_json
from sim.tables import FORMAT_VERSION, check_format, check_table, check_tables, digest, write_table

if TYPE_CHECKING:
    import pandas as pd


TABLES = ("trajectory.csv", "box.csv")
"""The tables of a discovery folder, recorded in its manifest like a batch's."""

Presenter = Callable[[Path], str]
"""Draws a written folder's charts and returns one line for the user (as a batch's)."""


@dataclass
class DiscoveryResult:
    """A written discovery folder: manifest, summary and tables."""

    folder: Path
    manifest: dict[str, Any]
    summary: dict[str, Any]
    note: str = field(default="", repr=False)

    @property
    def trajectory(self) -> pd.DataFrame:
        """``trajectory.csv``, checked against the manifest before it is parsed."""
        return self._table("trajectory.csv")

    @property
    def box(self) -> pd.DataFrame:
        """``box.csv``, checked against the manifest before it is parsed."""
        return self._table("box.csv")

    def _table(self, name: str) -> pd.DataFrame:
        from sim.tables import read_table

        check_table(self.folder, name, self.manifest)
        return read_table(self.folder / name)


def default_folder(batch_folder: Path, target: Target) -> Path:
    """``<batch>-discovery-<outcome>`` (or ``-flag-<flag>``) beside the batch, first free name."""
    real = batch_folder.resolve()
    tag = target.id if target.kind == "outcome" else f"flag-{target.id}"
    stem = f"{real.name}-discovery-{tag}"
    for k in range(1, 10_000):
        path = real.parent / (stem if k == 1 else f"{stem}-{k}")
        if not path.exists() and not path.is_symlink():
            return path
    raise ResultsError(f"{real.parent}: too many discovery folders named {stem}")


def write_discovery(
    found: Discovery,
    *,
    out: str | Path | None = None,
    command: Sequence[str] | None = None,
    on_complete: Presenter | None = None,
    started: _dt.datetime | None = None,
) -> DiscoveryResult:
    """Write ``found`` as a discovery folder, whole or not at all.

    Args:
        found: what :func:`discover` returned.
        out: the exact folder to create (it must not exist); by default
            :func:`default_folder`, beside the batch.
        command: the command line that reproduces the folder (for the manifest).
        on_complete: draws the charts into the folder before it is renamed into
            place; returns one line for the user (an error in it becomes that line).
        started: when the work began (for the manifest's wall time).

    Raises:
        ResultsError: the folder cannot be written (nothing is kept).
    """
    started = started or _dt.datetime.now()
    res = found.batch
    target = default_folder(res.folder, found.target) if out is None else Path(out)
    argv = list(command) if command else _command(found)
    with Staging(target.parent, target, started) as stage:
        write_table(stage.path / "trajectory.csv", found.trajectory)
        write_table(stage.path / "box.csv", found.box)
        write_json(stage.path / "summary.json", found.summary)
        finished = _dt.datetime.now()
        batch_runs = (res.manifest.get("tables") or {}).get("runs.csv") or {}
        manifest = {
            "format_version": FORMAT_VERSION,
            "kind": KIND,
            "scenario": res.manifest.get("scenario"),
            "scenario_file": res.manifest.get("scenario_file"),
            "sha256": res.manifest.get("sha256"),
            "batch": str(res.folder.resolve()),
            "batch_runs_sha256": batch_runs.get("sha256"),
            "target": found.target.as_dict(),
            "options": found.options,
            "versions": versions() | {"ema_workbench": _ema_version()},
            "started": started.astimezone().isoformat(timespec="seconds"),
            "finished": finished.astimezone().isoformat(timespec="seconds"),
            "wall_seconds": round((finished - started).total_seconds(), 3),
            "command": shlex.join(argv),
            "argv": argv,
            "tables": {name: digest(stage.path / name) for name in TABLES},
        }
        write_json(stage.path / "manifest.json", manifest)
        note = ""
        if on_complete is not None:
            try:
                note = on_complete(stage.path)
            except Exception as exc:
                note = f"drawing the charts failed ({type(exc).__name__}: {exc})"
    assert stage.final is not None
    return DiscoveryResult(
        stage.final, manifest, found.summary, note.replace(str(stage.path), str(stage.final))
    )


def _command(found: Discovery) -> list[str]:
    """The command line that writes the same folder (the batch named by its own folder)."""
    real = found.batch.folder.resolve()
    with contextlib.suppress(ValueError):
        real = real.relative_to(Path.cwd().resolve())
    argv = ["wargame", "discover", str(real), f"--{found.target.kind}"]
    argv.append(found.target.id)
    for key, flag in (("threshold", "--threshold"), ("peel_alpha", "--peel-alpha")):
        argv += [flag, f"{found.options[key]:g}"]
    return [*argv, "--min-mass", f"{found.options['min_mass']:g}"]


def _ema_version() -> str:
    with quiet():
        import ema_workbench  # start-up time; present, as discover ran

    return str(ema_workbench.__version__)


def load_discovery(folder: str | Path) -> DiscoveryResult:
    """Open a discovery folder; its tables are checked against the manifest.

    Raises:
        ResultsError: not a discovery folder, or one altered since it was written.
    """
    import json

    path = find_folder(
        folder, missing="not a results folder (no manifest.json); expected a discovery folder"
    )
    try:
        m = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path / 'manifest.json'}: cannot be read ({exc})") from exc
    check_format(m, path / "manifest.json")
    if m.get("kind") != KIND:
        raise ResultsError(f"{path}: a {m.get('kind')!r} folder, not a discovery")
    check_tables(path, m)
    for name in TABLES:
        check_table(path, name, m)
    return DiscoveryResult(path, m, read_json(path / "summary.json"))


def discoveries_of(batch_folder: str | Path) -> list[DiscoveryResult]:
    """The discoveries written beside a batch by default, of its very tables, oldest first.

    A folder counts when it is named after the batch (``<batch>-discovery-...``),
    opens soundly, and records the SHA-256 of the batch's ``runs.csv``.
    Folders written elsewhere with ``--out`` are not found.
    """
    batch = find_folder(batch_folder).resolve()
    m = read_json(batch / "manifest.json")
    runs_sha = ((m.get("tables") or {}).get("runs.csv") or {}).get("sha256")
    found = []
    for path in sorted(batch.parent.glob(f"{batch.name}-discovery-*")):
        if not path.is_dir():
            continue
        try:
            d = load_discovery(path)
        except ResultsError:
            continue
        if runs_sha and d.manifest.get("batch_runs_sha256") == runs_sha:
            found.append(d)
    return sorted(found, key=_written_order)


def _written_order(d: DiscoveryResult) -> tuple[_dt.datetime, int]:
    """When a discovery finished, as a moment (offsets compared as times, not as text).

    The manifest keeps whole seconds, so two discoveries of the same second fall back on
    when their manifest was written, to the nanosecond.
    """
    try:
        finished = _dt.datetime.fromisoformat(str(d.manifest.get("finished", "")))
    except ValueError:
        finished = _dt.datetime.min
    if finished.tzinfo is None:
        finished = finished.replace(tzinfo=_dt.UTC)
    return finished, (d.folder / "manifest.json").stat().st_mtime_ns
