"""Atomic file writes: a temporary file in the same folder, then os.replace, so a reader (or a
later step after a kill) never sees half a file."""
from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path, data: str | bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(tmp, path)
    return path
