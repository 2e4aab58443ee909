"""Per-segment tempo from librosa's beat tracker and the Amuse rhythm-change label.

Label (Amuse paper): 1 for segment i when |bpm_i - bpm_{i-1}| >= theta * mean BPM of the clip's
valid segments; 0 for the first segment and for padding.
"""
from __future__ import annotations

import numpy as np

ONSET_HOP = 256            # samples between onset-envelope frames (16 ms at 16 kHz)
MIN_SEGMENT_FRAC = 0.5     # a trailing partial segment counts when it covers >= half a segment


def segment_bounds(duration: float, seconds: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """[count, 2] (start, end) in seconds and a validity mask; the first segment is always valid."""
    starts = np.arange(count) * seconds
    ends = np.minimum(starts + seconds, duration)
    mask = (ends - starts) >= MIN_SEGMENT_FRAC * seconds
    mask[0] = True
    ends = np.where(mask, np.maximum(ends, starts), starts)
    return np.stack([starts, ends], axis=1), mask


def estimate_bpm(audio: np.ndarray, sr: int, bounds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float32 [S]: librosa's tempo estimate over each valid segment's onset envelope (0 elsewhere)."""
    import librosa  # heavy import, only where beats are tracked

    out = np.zeros(len(bounds), dtype=np.float32)
    if not np.any(audio):
        return out
    env = librosa.onset.onset_strength(y=audio, sr=sr, hop_length=ONSET_HOP)
    fps = sr / ONSET_HOP
    for i, (t0, t1) in enumerate(bounds):
        if not mask[i]:
            continue
        seg = env[int(round(t0 * fps)):int(round(t1 * fps))]
        if len(seg) < 4 or not np.any(seg):
            continue
        tempo = librosa.feature.tempo(onset_envelope=seg, sr=sr, hop_length=ONSET_HOP,
                                      ac_size=max(t1 - t0, 1.0))
        out[i] = float(np.atleast_1d(tempo)[0])
    return out


def change_labels(bpm: np.ndarray, mask: np.ndarray, theta: float) -> np.ndarray:
    """float32 [S] 0/1 rhythm-change labels."""
    out = np.zeros(len(bpm), dtype=np.float32)
    valid = np.flatnonzero(mask)
    if len(valid) < 2:
        return out
    mean = float(np.mean(bpm[valid]))
    for prev, cur in zip(valid[:-1], valid[1:]):
        out[cur] = float(abs(bpm[cur] - bpm[prev]) >= theta * mean and mean > 0)
    return out
