"""Per-segment ground truth of a synthetic video from its meta JSON (docs/INTERFACES.md section 1).

BPM: time-weighted mean of the piecewise-constant `tempo` over the segment. Sources: sources with
`sounding` whose intervals cover at least half of the segment (the voice-over is not a source);
source classes: the fraction of the segment during which each instrument class is heard.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import AmuseError
from amuse_cli.features.rhythm import change_labels

SOURCE_COVER_FRAC = 0.5


def read_meta(path: str | Path) -> dict:
    path = Path(path)
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise AmuseError(f"{path}: unreadable ground truth ({e}); regenerate it with `amuse synth`") from None
    for key in ("tempo", "sources"):
        if key not in meta:
            raise AmuseError(f"{path}: ground truth lacks '{key}'; regenerate it with `amuse synth`")
    return meta


def overlap(intervals, t0: float, t1: float) -> float:
    """Seconds of [t0, t1) covered by the (start, end) intervals."""
    return sum(max(0.0, min(b, t1) - max(a, t0)) for a, b in intervals)


def segment_bpm(meta: dict, bounds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros(len(bounds), dtype=np.float32)
    for i, (t0, t1) in enumerate(bounds):
        if mask[i] and t1 > t0:
            weighted = sum(p["bpm"] * overlap([(p["start"], p["end"])], t0, t1) for p in meta["tempo"])
            covered = sum(overlap([(p["start"], p["end"])], t0, t1) for p in meta["tempo"])
            out[i] = weighted / covered if covered > 0 else 0.0
    return out


def segment_sources(meta: dict, bounds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = np.zeros(len(bounds), dtype=np.float32)
    for i, (t0, t1) in enumerate(bounds):
        if mask[i] and t1 > t0:
            out[i] = sum(1 for s in meta["sources"] if s.get("sounding")
                         and overlap(s.get("intervals", []), t0, t1) >= SOURCE_COVER_FRAC * (t1 - t0))
    return out


def segment_source_classes(meta: dict, bounds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """[S, classes]: the fraction of each segment during which each instrument class is heard (0..1)."""
    out = np.zeros((len(bounds), len(INSTRUMENTS)), dtype=np.float32)
    index = {c: i for i, c in enumerate(INSTRUMENTS)}
    for i, (t0, t1) in enumerate(bounds):
        if mask[i] and t1 > t0:
            for s in meta["sources"]:
                if s.get("sounding") and s.get("instrument") in index:
                    c = index[s["instrument"]]
                    out[i, c] = min(1.0, out[i, c] + overlap(s.get("intervals", []), t0, t1) / (t1 - t0))
    return out


def segment_truth(meta: dict, bounds: np.ndarray, mask: np.ndarray, theta: float) -> dict[str, np.ndarray]:
    bpm = segment_bpm(meta, bounds, mask)
    return {"bpm": bpm, "rhythm": change_labels(bpm, mask, theta), "sources": segment_sources(meta, bounds, mask)}
