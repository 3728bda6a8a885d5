"""Writing a results folder so that it appears whole or not at all.

A folder is written into a hidden temporary sibling and renamed into place
only when complete, so a reader never finds a half-written folder under a
final name:

* the temporary folder is made by :func:`tempfile.mkdtemp`
  (``.tmp-<name>-<pid>-<random>``): two batches never share one, whether
  they run in two threads, two processes started in the same second, or two
  containers whose processes have the same pid;
* it is locked by its process while it exists; one left behind by a batch
  that was killed (its process gone, its lock free) is removed by the next
  batch that writes beside it;
* the final name is claimed atomically (``mkdir``) before the rename, so of
  two batches that want one name, one gets it and the other the next free
  ``-2``, ``-3``... name, or, for an exact ``--out``, a clear error;
* ``latest`` points at the batch that *started* last: a batch that finishes
  after a newer one has been pointed at leaves ``latest`` alone;
* every file-system failure (read-only, permission denied, disk or inodes
  full, a dangling link) becomes one :class:`~sim.errors.ResultsError`
  naming the path, and nothing is kept.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import itertools
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path

from sim.errors import ResultsError
from sim.results.locks import exclusive, hold, owner_gone, release
from sim.results.reader import Results, load_results

STAMP = "%Y%m%d-%H%M%S"
"""How a default folder is named after the time its batch started."""

TMP_PREFIX = ".tmp-"

_LEFTOVER = re.compile(r"\.tmp-.+-(?P<pid>\d+)-[a-z0-9_]{8}")
"""Names :func:`tempfile.mkdtemp` gives temporary folders (see :class:`Staging`)."""

_STAMPED = re.compile(r"(?P<stamp>\d{8}-\d{6})(?:-\d+)?")
"""A default folder name: the start time, and a suffix if that name was taken."""


class Staging:
    """A results folder under construction; use as a context manager.

    Everything is written into :attr:`path`, a temporary sibling of the
    final folder. Leaving the ``with`` block normally renames it to its
    final name and points ``latest`` at it; leaving it by an exception
    (Ctrl-C and stop signals included) deletes it. See the module docstring
    for why each step is as it is.

    Args:
        group: folder for default names, e.g. ``results/<scenario>``.
        out: exact final folder chosen by the user; must not exist yet.
        started: time stamp that names the folder (``YYYYmmdd-HHMMSS``).

    Raises:
        ResultsError: ``out`` exists (or is a link), or a file-system
            failure; the message names the path.
    """

    path: Path
    """The temporary folder to write into (set on entering the ``with`` block)."""

    def __init__(
        self, group: Path, out: Path | str | None = None, started: _dt.datetime | None = None
    ):
        self.started = started or _dt.datetime.now()
        self.out = Path(out) if out is not None else None
        if self.out is not None:
            _check_new(self.out)
            self.parent = self.out.parent
            self.name = self.out.name
        else:
            self.parent = Path(group)
            self.name = self.started.strftime(STAMP)
        self.final: Path | None = None
        self.removed: list[Path] = []
        """Temporary folders of killed batches removed on entry."""
        self._lock: int | None = None
        self._made: list[Path] = []  # folders created for this one, removed if it fails

    @property
    def destination(self) -> Path:
        """Where the folder is meant to end up (the name may still get a suffix)."""
        return self.out if self.out is not None else self.parent / self.name

    def __enter__(self) -> Staging:
        try:
            self._make_parent()
            self.removed = remove_leftovers(self.parent)
            prefix = f"{TMP_PREFIX}{self.name}-{os.getpid()}-"
            self.path = Path(tempfile.mkdtemp(prefix=prefix, dir=self.parent))
            self._lock = hold(self.path)
        except OSError as exc:
            self.discard()
            raise self._failure(exc) from exc
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is not None:
            self.discard()
            if isinstance(exc, OSError):
                raise self._failure(exc) from exc
            return
        try:
            self.final = self._commit()
        except OSError as failure:
            self.discard()
            raise self._failure(failure) from failure
        except BaseException:
            self.discard()
            raise
        finally:
            release(self._lock)
            self._lock = None
        if self.out is None:
            try:
                point_latest(self.parent, self.final.name)
            except OSError as failure:
                raise ResultsError(
                    f"{self.parent / 'latest'}: cannot point it at the new results "
                    f"({_reason(failure)}); the results are complete in {self.final}"
                ) from failure

    def result(self, note: str = "") -> Results:
        """Open the committed folder; ``note`` (from presenting it) names its final path.

        Its tables are not read back: their record in the manifest was just made from
        them, and the folder has only been renamed since (``load_results(check=False)``).
        """
        assert self.final is not None, "call after the with-block has committed the folder"
        result = load_results(self.final, check=False)
        result.note = note.replace(str(self.path), str(self.final))
        return result

    def discard(self) -> None:
        """Remove the temporary folder, and the parents made for it if still empty."""
        release(self._lock)
        self._lock = None
        if hasattr(self, "path"):
            shutil.rmtree(self.path, ignore_errors=True)
        for folder in self._made:  # innermost first; only if still empty
            try:
                folder.rmdir()
            except OSError:
                break

    def _make_parent(self) -> None:
        missing = self.parent
        while not missing.exists() and not missing.is_symlink() and missing != missing.parent:
            self._made.append(missing)
            missing = missing.parent
        self.parent.mkdir(parents=True, exist_ok=True)

    def _commit(self) -> Path:
        if self.out is not None:
            try:
                os.mkdir(self.out)
            except FileExistsError:
                raise ResultsError(
                    f"--out {self.out}: was created while the batch ran (by another batch?); "
                    "it was left as it is and this batch's results were not kept"
                ) from None
            _move_into(self.path, self.out)
            return self.out
        for k in itertools.count(1):
            final = self.parent / (self.name if k == 1 else f"{self.name}-{k}")
            try:
                os.mkdir(final)  # claims the name: of two batches, one gets it
            except FileExistsError:
                continue
            _move_into(self.path, final)
            return final
        raise AssertionError("unreachable")  # pragma: no cover

    def _failure(self, exc: OSError) -> ResultsError:
        """One message for a file-system failure, naming the path as the user knows it."""
        where = self.destination
        if exc.filename:
            shown = Path(os.fsdecode(exc.filename))
            tmp = getattr(self, "path", None)
            if tmp is not None and (shown == tmp or tmp in shown.parents):
                where = where / shown.relative_to(tmp)
            elif not shown.name.startswith(TMP_PREFIX):
                where = shown
        return ResultsError(f"{where}: cannot write results ({_reason(exc)}); nothing was kept")


def _check_new(out: Path) -> None:
    """Refuse an ``--out`` that exists, or is a link (dangling or not)."""
    if out.is_symlink():
        target = os.readlink(out)
        state = "" if out.exists() else ", which does not exist"
        raise ResultsError(
            f"--out {out}: is a symbolic link to {target}{state}; results are never written "
            "through a link (give a new folder)"
        )
    if out.exists():
        raise ResultsError(
            f"--out {out}: already exists; results are never overwritten "
            "(choose a new folder, or leave out --out for a time-stamped one)"
        )


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EEXIST:
        return "exists, and is not a folder"
    if exc.errno == errno.ENOTDIR:
        return "part of the path is not a folder"
    return exc.strerror or str(exc)


def _move_into(tmp: Path, claimed: Path) -> None:
    """Rename ``tmp`` over the empty folder ``claimed`` (made to reserve its name)."""
    try:
        os.replace(tmp, claimed)  # POSIX replaces an empty folder atomically
    except OSError:
        if os.name != "nt":
            with contextlib.suppress(OSError):
                claimed.rmdir()
            raise
        claimed.rmdir()  # Windows will not rename over a folder
        os.rename(tmp, claimed)


def remove_leftovers(parent: Path) -> list[Path]:
    """Remove temporary folders in ``parent`` whose batch was killed; returns them.

    Only folders named as :class:`Staging` names them, whose process no
    longer runs and whose lock nobody holds, are touched.
    """
    removed = []
    with os.scandir(parent) as entries:
        for entry in entries:
            match = _LEFTOVER.fullmatch(entry.name)
            if match is None or not entry.is_dir(follow_symlinks=False):
                continue
            path = Path(entry.path)
            if owner_gone(path, int(match["pid"])):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def point_latest(group: Path, name: str) -> None:
    """Make ``group/latest`` point at ``name``, unless it points at a later batch.

    "Later" is by start time, which default names carry: a long batch that
    finishes after a newer one leaves ``latest`` at the newer. ``latest`` is
    a symbolic link, or a ``latest.txt`` holding the name where links cannot
    be made. Updates are serialised by a lock on ``group``.

    Raises:
        OSError: neither could be written.
    """
    with exclusive(group):
        current = _latest_name(group)
        if current and _later(current, name) and (group / current).is_dir():
            return
        link = group / "latest"
        tmp = group / f".latest-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.symlink(name, tmp, target_is_directory=True)
        except OSError:  # no symbolic links here (e.g. Windows without the right)
            text = group / "latest.txt"
            text_tmp = tmp.with_suffix(".txt")
            try:
                text_tmp.write_text(name + "\n", encoding="utf-8")
                os.replace(text_tmp, text)
            finally:
                text_tmp.unlink(missing_ok=True)
            if link.is_symlink():  # a stale link would be read before latest.txt
                link.unlink()
            return
        try:
            os.replace(tmp, link)
        finally:
            tmp.unlink(missing_ok=True)
        (group / "latest.txt").unlink(missing_ok=True)


def _latest_name(group: Path) -> str | None:
    """The folder name ``group/latest`` (or ``latest.txt``) points at now."""
    link = group / "latest"
    try:
        return os.readlink(link)
    except OSError:
        pass
    with contextlib.suppress(OSError, UnicodeError):
        return (group / "latest.txt").read_text(encoding="utf-8").strip() or None
    return None


def _later(a: str, b: str) -> bool:
    """Whether the batch named ``a`` started after the one named ``b`` (to the second)."""
    ma, mb = _STAMPED.fullmatch(a), _STAMPED.fullmatch(b)
    return bool(ma and mb and ma["stamp"] > mb["stamp"])
