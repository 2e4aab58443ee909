"""The one atomic writer: a temporary file beside the target, fsynced, then os.replace, so a reader
(or a later step after a kill or a power cut) sees the old file or the new one, never half of one.
On any error the temporary file is removed and the target is untouched."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path, sync: bool = True) -> Iterator[Path]:
    """Yields the temporary path to write (by any library: torch.save, PyAV, ...); on a clean exit it
    replaces `path`. sync=False skips fsync, for files a resume re-checks anyway (cached videos)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        if sync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path, data: str | bytes, sync: bool = True) -> Path:
    with atomic_path(path, sync) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
