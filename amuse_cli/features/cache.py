"""The on-disk cache: one safetensors file per video, a journal per rank, and manifest.json.

Layout of `<features.cache>/<dataset>-<hash8>/`:
  manifest.json             settings, versions, shapes, per-video records, summary, complete flag
  videos/<video_id>.safetensors   the arrays of one video (memory-mapped on read)
  journal/rank<R>.jsonl     one line per video finished by rank R: appended as it happens, so a
                            killed run loses only the video in flight; merged into the manifest.
Every file is written to a temporary name and renamed, so a partial file is never taken as done;
a record is trusted only if its file exists with the recorded size (and checksum with verify).
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import platform
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save as st_save

from amuse_cli.atomic import write_atomic
from amuse_cli.errors import AmuseError

MANIFEST = "manifest.json"


class CacheWriteError(AmuseError):
    """The cache cannot be written (disk full, permissions): stops the run, finished videos stay."""


def video_file(cache: Path, video_id: str) -> Path:
    return cache / "videos" / f"{video_id}.safetensors"


def atomic_write(path: Path, data: bytes, sync: bool = True) -> None:
    """Write to a temporary file beside `path`, then rename; a failed write leaves `path` untouched.

    sync=False skips fsync (video files: a killed process cannot leave them half-written, and a
    power cut is caught on resume by the size check, or by the checksum with --verify).
    """
    try:
        write_atomic(path, data, sync)
    except OSError as e:
        hint = ("the disk is full: free space or set features.cache to another disk"
                if e.errno in (errno.ENOSPC, errno.EDQUOT) else "check permissions and free space")
        raise CacheWriteError(f"cannot write {path} ({os.strerror(e.errno) if e.errno else e}); {hint}; "
                              f"finished videos are kept and a rerun resumes") from None


def write_video(cache: Path, video_id: str, arrays: dict[str, np.ndarray]) -> dict:
    """Store one video's arrays; returns its manifest record."""
    data = st_save({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    atomic_write(video_file(cache, video_id), data, sync=False)
    return {"status": "ok", "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "shapes": {k: list(v.shape) for k, v in arrays.items()}}


def read_video(cache: Path, video_id: str) -> dict[str, np.ndarray]:
    """The arrays of one video, read through a memory map (only the bytes used are paged in)."""
    with safe_open(str(video_file(cache, video_id)), framework="np") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def file_ok(cache: Path, video_id: str, record: dict, checksum: bool = False) -> bool:
    """A record counts as done only if its file is there with the recorded size (and checksum)."""
    if record.get("status") != "ok":
        return False
    path = video_file(cache, video_id)
    try:
        if path.stat().st_size != record.get("bytes"):
            return False
    except OSError:
        return False
    return not checksum or hashlib.sha256(path.read_bytes()).hexdigest() == record.get("sha256")


class Journal:
    """Append-only record of finished videos for one rank (one JSON object per line)."""

    def __init__(self, cache: Path, rank: int):
        self.path = cache / "journal" / f"rank{rank}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._f = open(self.path, "a", encoding="utf-8")

    def append(self, video_id: str, record: dict) -> None:
        try:
            self._f.write(json.dumps({"video_id": video_id, **record}) + "\n")
            self._f.flush()
            os.fsync(self._f.fileno())
        except OSError as e:
            raise CacheWriteError(f"cannot append to {self.path} ({os.strerror(e.errno) if e.errno else e}); "
                                  f"free disk space, then rerun (finished videos are kept)") from None

    def close(self) -> None:
        self._f.close()


def read_manifest(cache: Path) -> dict | None:
    path = cache / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, json.JSONDecodeError) as e:
        raise AmuseError(f"{path}: unreadable manifest ({e}); delete {cache} and run extract-features again") from None


def known_records(cache: Path) -> dict[str, dict]:
    """Per-video records from the manifest, updated by every rank's journal (later lines win).

    A journal's last line may be cut by a kill; such a line is ignored (that video is redone).
    """
    manifest = read_manifest(cache) or {}
    records = dict(manifest.get("videos", {}))
    for journal in sorted((cache / "journal").glob("rank*.jsonl")):
        for line in journal.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and "video_id" in rec:
                records[rec.pop("video_id")] = rec
    return records


def versions() -> dict[str, str]:
    import av
    import librosa
    import torch
    import torchaudio

    from amuse_cli import __version__
    return {"amuse": __version__, "python": platform.python_version(), "numpy": np.__version__,
            "torch": torch.__version__, "torchaudio": torchaudio.__version__, "av": av.__version__,
            "librosa": librosa.__version__}


def write_manifest(cache: Path, manifest: dict) -> None:
    atomic_write(cache / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=False) + "\n").encode())


def clear_journals(cache: Path) -> None:
    for journal in (cache / "journal").glob("rank*.jsonl"):
        journal.unlink()
