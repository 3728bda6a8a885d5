"""Files that appear whole or not at all.

Charts and reports are (re)drawn into results folders that readers already
trust. Each is written under a hidden temporary name beside its final one and
renamed over it only once complete; if writing fails, the partial file is
removed. A reader never finds an empty or half-written file, and an older
complete file stays in place until a new one replaces it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sim.errors import ResultsError


@contextmanager
def atomic_file(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it becomes ``path``, on failure it goes.

    The temporary name is unique per call (process id and a random token), so
    threads and processes drawing into one folder never write the same file.

    Raises:
        ResultsError: the file cannot be written (disk full, permission
            denied...), naming ``path``; any other error passes unchanged.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise ResultsError(f"{path}: cannot be written ({exc})") from exc
        raise
