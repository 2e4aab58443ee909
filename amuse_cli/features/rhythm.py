"""Per-segment tempo (spectral-flux onsets + autocorrelation tempogram) and the Amuse rhythm label.

Label (Amuse paper): 1 for segment i when |bpm_i - bpm_{i-1}| >= theta * mean BPM of the clip's
valid segments; 0 for the first segment and for padding.

Estimating each short segment's tempo on its own often lands on different metrical levels
(beat, half beat, two beats) in neighbouring segments, which reads as a tempo change. So the
*ratio* between neighbouring segments is measured instead, by sliding one segment's tempogram
over the other's on a log-BPM axis (a tempo change shifts every periodicity by the same factor),
and the absolute level is chosen once per clip: where the chained tempograms, weighted by a
log-normal prior around 120 BPM (librosa's tempo prior), agree most.
"""
from __future__ import annotations

import numpy as np

ONSET_HOP = 256            # samples between onset-envelope frames (16 ms at 16 kHz)
ONSET_FFT = 1024           # samples per spectral-flux frame (64 ms at 16 kHz)
ONSET_MELS = 64            # mel bands of the spectral flux
MIN_SEGMENT_FRAC = 0.5     # a trailing partial segment counts when it covers >= half a segment
BPM_MIN, OCTAVES = 40.0, 3     # tempo axis: 40..320 BPM
BINS_PER_OCTAVE = 36           # ~2 % per bin
MAX_RATIO_OCTAVES = 0.9        # largest tempo change between neighbouring segments (x1.87)
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.0   # log-normal tempo prior: centre and spread
TEMPO_GRID = BPM_MIN * 2 ** (np.arange(OCTAVES * BINS_PER_OCTAVE) / BINS_PER_OCTAVE)


def segment_bounds(duration: float, seconds: float, count: int) -> tuple[np.ndarray, np.ndarray]:
    """[count, 2] (start, end) in seconds and a validity mask; the first segment is always valid."""
    starts = np.arange(count) * seconds
    ends = np.minimum(starts + seconds, duration)
    mask = (ends - starts) >= MIN_SEGMENT_FRAC * seconds
    mask[0] = True
    ends = np.where(mask, np.maximum(ends, starts), starts)
    return np.stack([starts, ends], axis=1), mask


def tempogram(env: np.ndarray, frames_per_s: float) -> np.ndarray:
    """Autocorrelation of an onset envelope sampled at TEMPO_GRID (>= 0; zeros for silence)."""
    import librosa
    if len(env) < 4 or not np.any(env - env.mean()):
        return np.zeros(len(TEMPO_GRID))
    ac = librosa.autocorrelate(env - env.mean())
    ac = ac / ac[0]
    lags = 60.0 * frames_per_s / TEMPO_GRID
    return np.clip(np.interp(lags, np.arange(len(ac)), ac, right=0.0), 0.0, None)


def tempo_shift(a: np.ndarray, b: np.ndarray) -> int:
    """Bins by which b's tempogram is a's moved up the log-BPM axis (0 when either is flat).

    Cosine similarity of the overlapping parts, for every shift up to MAX_RATIO_OCTAVES; ties go
    to the smaller shift.
    """
    if not a.any() or not b.any():
        return 0
    n, limit = len(a), int(MAX_RATIO_OCTAVES * BINS_PER_OCTAVE)
    dots = np.correlate(b, a, mode="full")[n - 1 - limit:n + limit]     # shift s at index s + limit
    ca, cb = np.concatenate([[0], np.cumsum(a * a)]), np.concatenate([[0], np.cumsum(b * b)])
    shifts = np.arange(-limit, limit + 1)
    # overlap for shift s >= 0: a[0:n-s] with b[s:n]; for s < 0: a[-s:n] with b[0:n+s]
    na = np.where(shifts >= 0, ca[n - np.maximum(shifts, 0)], ca[n] - ca[np.maximum(-shifts, 0)])
    nb = np.where(shifts >= 0, cb[n] - cb[np.maximum(shifts, 0)], cb[n + np.minimum(shifts, 0)])
    score = dots / (np.sqrt(na * nb) + 1e-9)
    best = np.flatnonzero(score >= score.max() - 1e-9)
    return int(shifts[best[np.argmin(np.abs(shifts[best]))]])


def onset_envelope(audio: np.ndarray, sr: int) -> np.ndarray:
    """Spectral flux (librosa.onset.onset_strength's recipe: log-mel, 80 dB range, positive
    differences averaged over bands), computed with torch; frames every ONSET_HOP samples."""
    import torch

    wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    with torch.inference_mode():
        half = ONSET_FFT // 2     # centred frames, as librosa (reflect padding)
        mode = "reflect" if len(wave) > half else "constant"
        wave = torch.nn.functional.pad(wave[None, None], (half, half), mode=mode)[0, 0]
        frames = wave.unfold(0, ONSET_FFT, ONSET_HOP) * torch.hann_window(ONSET_FFT)
        power = torch.view_as_real(torch.fft.rfft(frames)).pow(2).sum(-1)        # [frames, bins]
        mel = power @ torch.from_numpy(_mel_basis(sr)).T                          # [frames, mels]
        db = 10.0 * torch.log10(mel.clamp(min=1e-10))
        db = torch.maximum(db, db.max() - 80.0)
        flux = torch.relu(db[1:] - db[:-1]).mean(dim=1)
    return np.concatenate([[0.0], flux.numpy()]).astype(np.float32)


_MEL = {}


def _mel_basis(sr: int) -> np.ndarray:
    if sr not in _MEL:
        import librosa
        _MEL[sr] = librosa.filters.mel(sr=sr, n_fft=ONSET_FFT, n_mels=ONSET_MELS).astype(np.float32)
    return _MEL[sr]


def estimate_bpm(audio: np.ndarray, sr: int, bounds: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float32 [S]: tempo of each valid segment (0 for padding and for a silent clip)."""
    out = np.zeros(len(bounds), dtype=np.float32)
    valid = np.flatnonzero(mask)
    if not np.any(audio) or len(valid) == 0:
        return out
    env = onset_envelope(audio, sr)
    fps = sr / ONSET_HOP
    curves = [tempogram(env[int(round(bounds[i, 0] * fps)):int(round(bounds[i, 1] * fps))], fps) for i in valid]
    shifts = [tempo_shift(a, b) for a, b in zip(curves[:-1], curves[1:])]
    offsets = np.concatenate([[0], np.cumsum(shifts, dtype=int)]).astype(int)
    prior = np.exp(-0.5 * ((np.log2(TEMPO_GRID) - np.log2(PRIOR_BPM)) / PRIOR_OCTAVES) ** 2)
    best, best_score = None, -1.0
    for start in range(-offsets.min(), len(TEMPO_GRID) - offsets.max()):
        pos = start + offsets
        score = sum(c[p] * prior[p] for c, p in zip(curves, pos))
        if score > best_score:
            best, best_score = pos, score
    if best is None:   # changes too large for the axis: fall back to the first segment at the prior
        best = np.clip(int(np.argmax(prior)) + offsets, 0, len(TEMPO_GRID) - 1)
    out[valid] = TEMPO_GRID[best]
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
