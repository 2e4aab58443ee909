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


def first_meta(meta_dir: str | Path) -> dict | None:
    """One meta file of a set (the first by name), which says how the whole set was generated; None if none."""
    first = next(iter(sorted(Path(meta_dir).glob("*.json"))), None)
    return None if first is None else read_meta(first)


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


# --- Scene tokens: what perception must see, per frame (the reasoning head's input, models/scene.py) ---

LOUD_REF_DB, LOUD_SCALE_DB = 40.0, 20.0   # loudness_db (about -28..-10 dB) -> about 0.6..1.5
ONSETS_PER_WINDOW = 4.0                    # note onsets in a 1 s window -> about 0..2
PITCH_REF, PITCH_SCALE = 60.0, 12.0        # MIDI pitch -> octaves around middle C


def frame_times(duration: float, frames: int) -> np.ndarray:
    """Centres of `frames` evenly spread samples, as the cache takes them."""
    return (np.arange(frames) + 0.5) * duration / frames


def _entity_slots(meta: dict, times: np.ndarray, columns: int, layout: str) -> list[tuple[int, dict, np.ndarray]]:
    """(slot, source, centre x per frame) of the on-screen performers in `layout`:
    "slots": performers left to right by mean centre, one per slot (the first `columns`);
    "columns": the image column of its mean centre, floor(x * C); two in one column (the stage world): the
    one in front."""
    from amuse_cli.synth.worlds import performer_boxes
    placed = [(src, (b[:, 0] + b[:, 2]) / 2) for src, b in performer_boxes(meta, times)]
    placed.sort(key=lambda p: float(p[1].mean()))
    if layout == "slots":
        return [(i, src, xs) for i, (src, xs) in enumerate(placed[:columns])]
    taken: dict[int, tuple[dict, np.ndarray]] = {}
    for src, xs in placed:
        c = min(columns - 1, max(0, int(float(xs.mean()) * columns)))
        if c not in taken or src.get("stage", {}).get("depth", 0) < taken[c][0].get("stage", {}).get("depth", 0):
            taken[c] = (src, xs)
    return [(c, src, xs) for c, (src, xs) in sorted(taken.items())]


def scene_truth(meta: dict, frames: int, columns: int, window_s: float = 1.0,
                layout: str = "columns") -> dict[str, np.ndarray]:
    """Per-frame scene of a synthetic video, laid out as models/scene.py's tokens.

    cols    [C, T, 3 + K]: present, centre x (0..1, in that frame), seen playing (fraction of the
            window; mimes too), class one-hot; per entity of `layout` (_entity_slots: "columns" for the
            Swin streams' column heads, "slots" for performers found in the frames);
    classes [K, T, 5]: heard (fraction of the window), loudness, onsets, mean pitch, pitched flag;
    glob    [T, 2]: voice-over (fraction of the window), indoor.
    """
    from amuse_cli.models.scene import CLASS_FEATS, COL_FEATS, GLOBAL_FEATS
    k_classes = len(INSTRUMENTS)
    index = {c: i for i, c in enumerate(INSTRUMENTS)}
    times = frame_times(meta["duration"], frames)
    cols = np.zeros((columns, frames, len(COL_FEATS) + k_classes), np.float32)
    classes = np.zeros((k_classes, frames, len(CLASS_FEATS)), np.float32)
    glob = np.zeros((frames, len(GLOBAL_FEATS)), np.float32)
    for c, s, xs in _entity_slots(meta, times, columns, layout):
        for t, centre in enumerate(times):
            seen = overlap(s.get("seen_playing", s.get("intervals", [])), centre - window_s / 2,
                           centre + window_s / 2) / window_s
            cols[c, t, :3] = (1.0, xs[t], seen)
            cols[c, t, 3 + index[s["instrument"]]] = 1.0
    for s in meta["sources"]:
        k = index[s["instrument"]]
        loud = ((s["loudness_db"] if s["loudness_db"] is not None else -LOUD_REF_DB) + LOUD_REF_DB) / LOUD_SCALE_DB
        if not s.get("sounding"):
            continue
        onsets = sorted({n["t"] for n in s.get("notes", [])})       # a chord is one onset
        for t, centre in enumerate(times):
            t0, t1 = centre - window_s / 2, centre + window_s / 2
            active = overlap(s.get("intervals", []), t0, t1) / window_s
            if active > 0:
                notes = [n for n in s.get("notes", []) if t0 <= n["t"] < t1]
                heard = classes[k, t]
                heard[0] = min(1.0, heard[0] + active)
                heard[1] = max(heard[1], loud)
                heard[2] += sum(t0 <= o < t1 for o in onsets) / ONSETS_PER_WINDOW
                if s.get("register") is not None and notes:
                    heard[3] = (np.mean([n["pitch"] for n in notes]) - PITCH_REF) / PITCH_SCALE
                    heard[4] = 1.0
    for t, centre in enumerate(times):
        glob[t, 0] = overlap(meta["voiceover"].get("intervals", []), centre - window_s / 2,
                             centre + window_s / 2) / window_s
        glob[t, 1] = float(meta["background"] == "indoor")
    return {"cols": cols, "classes": classes, "glob": glob}


def box_truth(meta: dict, frames: int, window_s: float = 1.0) -> list[dict]:
    """Per sampled frame, what a performer detector should find: boxes [n, 4] (x0, y0, x1, y1 in 0..1),
    class index [n], seen playing [n] (fraction of the window around the frame)."""
    index = {c: i for i, c in enumerate(INSTRUMENTS)}
    times = frame_times(meta["duration"], frames)
    from amuse_cli.synth.worlds import performer_boxes
    placed = performer_boxes(meta, times)
    out = []
    for t, centre in enumerate(times):
        out.append({
            "boxes": np.array([b[t] for _, b in placed], np.float32).reshape(-1, 4),
            "classes": np.array([index[s["instrument"]] for s, _ in placed], np.int64),
            "playing": np.array([overlap(s.get("seen_playing", s.get("intervals", [])), centre - window_s / 2,
                                         centre + window_s / 2) / window_s for s, _ in placed], np.float32),
        })
    return out
