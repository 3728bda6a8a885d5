"""The scenario cache's file stamps: a settled file is not read again, an edit is always seen.

A stamp (:func:`sim.scenario.cache.file_stamps`) holds a digest of the
file's content; the digest is reused only while the file's status is
unchanged and the file had settled (last changed :data:`SETTLED_NS` or more)
when it was read.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from sim.scenario import cache


@pytest.fixture(autouse=True)
def fresh() -> None:
    cache.clear()
    yield
    cache.clear()


def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files read from now on, in order."""
    seen: list[Path] = []
    read = Path.read_bytes

    def counted(self: Path) -> bytes:
        seen.append(self)
        return read(self)

    monkeypatch.setattr(Path, "read_bytes", counted)
    return seen


def rewrite_keeping_size_and_time(path: Path, text: str) -> None:
    """Write ``text`` (of the old size) and put the old modification time back."""
    before = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size


def test_a_settled_file_is_read_once(tmp_path, monkeypatch) -> None:
    base, child = tmp_path / "base.yaml", tmp_path / "child.yaml"
    base.write_text("horizon_days: 70\n", encoding="utf-8")
    child.write_text("extends: base.yaml\n", encoding="utf-8")
    monkeypatch.setattr(cache, "SETTLED_NS", -(10**18))  # every file counts as settled
    first = cache.file_stamps(child)
    seen = reads(monkeypatch)
    assert cache.file_stamps(child) == first
    assert [s[0] for s in first] == [child.resolve().as_posix(), base.resolve().as_posix()]
    assert seen == []


def test_an_edit_of_a_settled_file_is_seen_at_the_same_size_and_time(tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text("horizon_days: 70\n", encoding="utf-8")
    monkeypatch.setattr(cache, "SETTLED_NS", -(10**18))
    first = cache.file_stamps(path)
    time.sleep(0.05)  # past a tick of the file system's clock: the change time moves
    rewrite_keeping_size_and_time(path, "horizon_days: 71\n")
    again = cache.file_stamps(path)
    assert again[0][1:3] == first[0][1:3]  # the same time and size ...
    assert again[0][3] != first[0][3]  # ... and another digest


def test_a_file_that_just_changed_is_read_every_time(tmp_path, monkeypatch) -> None:
    # A second write within the same tick of the file system's clock would
    # leave the status as it was: only reading tells such writes apart, so
    # the digest of a file that changed a moment ago is not kept.
    path = tmp_path / "s.yaml"
    path.write_text("horizon_days: 70\n", encoding="utf-8")
    first = cache.file_stamps(path)
    seen = reads(monkeypatch)
    assert cache.file_stamps(path) == first
    rewrite_keeping_size_and_time(path, "horizon_days: 71\n")
    assert cache.file_stamps(path)[0][3] != first[0][3]
    assert seen == [path.resolve(), path.resolve()]


def test_an_unreadable_file_gets_the_stamp_of_none(tmp_path) -> None:
    missing = tmp_path / "gone.yaml"
    assert cache.file_stamps(missing) == ((missing.resolve().as_posix(), -1, -1, ""),)
