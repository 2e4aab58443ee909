"""Per-segment tempo (spectral-flux onsets, autocorrelation x Fourier tempogram) and the Amuse rhythm label.

Label (Amuse paper): 1 for segment i when |bpm_i - bpm_{i-1}| >= theta * mean BPM of the clip's
valid segments; 0 for the first segment and for padding.

Estimating each short segment's tempo on its own often lands on different metrical levels
(beat, half beat, two beats) in neighbouring segments, which reads as a tempo change. So:
- each segment's tempogram multiplies the onset envelope's autocorrelation (peaks at the tempo
  and its sub-multiples) by its Fourier magnitude (peaks at the tempo and its multiples): mostly the
  metrical levels really played remain, so a tempo and its double no longer look alike;
- one Viterbi path over the clip picks every segment's tempo bin: salience times a log-normal prior
  around 120 BPM (librosa's), how well neighbouring tempograms match when slid by the path's step on
  the log-BPM axis (a tempo change moves every periodicity by the same factor, so the same metrical
  level is followed across a change, up to x2.2), a cost per change and more for an octave switch;
- the clip as a whole sets how far a single segment is trusted: a segment speaks in proportion to how
  periodic it is (its tempogram's peak against the clip's most periodic segment), and the costs of a
  change and of an octave switch grow with how unlike each other neighbouring segments are at their
  best alignment (dotted, syncopated, tied or sparse melodies), so an octave flip needs strong evidence
  on both sides where the music is irregular, while clean pieces keep their near-octave changes;
- a segment next to a change of the path may hold the change itself: local tempograms over the
  segment say where it turns from one tempo to the other, and the segment takes the time-weighted
  mean of the two, as its truth does.
Measured on soundfont-rendered pieces by bench/rhythm.py (README: "Rhythm labels on real
instrument recordings").
"""
from __future__ import annotations

import numpy as np

ONSET_HOP = 256            # samples between onset-envelope frames (16 ms at 16 kHz)
ONSET_FFT = 1024           # samples per spectral-flux frame (64 ms at 16 kHz)
ONSET_MELS = 64            # mel bands of the spectral flux
ONSET_BANDS = 4            # tempograms of this many groups of mel bands, summed
MIN_SEGMENT_FRAC = 0.5     # a trailing partial segment counts when it covers >= half a segment
BPM_MIN, OCTAVES = 30.0, 4     # tempo axis: 30..480 BPM (wide, so a pattern and its octave both fit)
BINS_PER_OCTAVE = 36           # ~2 % per bin
FOURIER = "hann"               # tempogram = autocorrelation x Hann-windowed Fourier magnitude ("": ACF only)
MAX_RATIO_OCTAVES = 1.15       # largest tempo change between neighbouring segments (x2.2)
STAY_BINS = 1                  # steps of <= 1 bin (~2 %) are the same tempo
CHANGE_COST = 1.5              # log-score cost of one tempo change on the path
OCTAVE_COST, OCTAVE_WIDTH = 0.5, 0.06   # more for a step within ~0.06 octave of x2 or x0.5 (Gaussian)
IRREGULAR_GAIN = 10.0, 120.0   # change and octave costs x (1 + gain x the clip's irregularity): the
                               # octave surcharge is ~0.7 in a clean piece (irregularity ~0.01), ~6 at 0.1
SALIENCE_WEIGHT, SALIENCE_FLOOR = 1.0, 0.05   # log(salience x prior + floor) per segment
MATCH_WEIGHT, MATCH_FLOOR = 3.0, 1e-3         # log(cosine of neighbours' tempograms at the path's step)
SPLIT_WINDOW_S, SPLIT_STEP_S = 2.0, 0.25   # local tempograms that locate a change inside a segment
SPLIT_MIN_SHARE = 0.2          # smaller shares are the window leaning over a boundary change, not a split
MIX_OCTAVE_GUARD = 0.12        # no split towards a neighbour within 0.12 octave of a double or half
PRIOR_BPM, PRIOR_OCTAVES = 120.0, 1.5   # log-normal tempo prior: centre and spread
LEVEL_WEIGHT = 8.0             # cost x squared distance of neighbours' metrical profiles at the path's two tempi
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
    """Periodicity of an onset envelope at TEMPO_GRID (>= 0; zeros for silence): its autocorrelation
    (peaks at the tempo and every sub-multiple) times its Fourier magnitude (peaks at the tempo and
    every multiple), so that mostly the tempo itself, and metrical levels really played, remain."""
    import librosa
    if len(env) < 4 or not np.any(env - env.mean()):
        return np.zeros(len(TEMPO_GRID))
    x = env - env.mean()
    ac = librosa.autocorrelate(x)
    ac = ac / ac[0]
    lags = 60.0 * frames_per_s / TEMPO_GRID
    acf = np.clip(np.interp(lags, np.arange(len(ac)), ac, right=0.0), 0.0, None)
    if not FOURIER:
        return acf
    re_im = _fourier_basis(len(x), frames_per_s) @ x
    dft = np.hypot(re_im[:len(TEMPO_GRID)], re_im[len(TEMPO_GRID):])
    dft = dft / (dft.max() + 1e-12)
    return acf * dft


_BASIS = {}


def _fourier_basis(frames: int, frames_per_s: float) -> np.ndarray:
    """[2 x tempi, frames] windowed cosines then sines at TEMPO_GRID (cached per segment length; real
    float64, as a complex64 x float64 product finds no BLAS path and is 1000x slower)."""
    key = (frames, frames_per_s, FOURIER, len(TEMPO_GRID), float(TEMPO_GRID[0]))
    if key not in _BASIS:
        t = np.arange(frames) / frames_per_s
        w = np.hanning(frames) if FOURIER == "hann" else np.ones(frames)
        phase = 2 * np.pi * np.outer(TEMPO_GRID / 60.0, t)
        _BASIS[key] = np.ascontiguousarray(np.vstack([np.cos(phase) * w, np.sin(phase) * w]))
    return _BASIS[key]


def shift_scores(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of the overlapping parts of a and b for every shift of b up the log-BPM axis
    by -limit..limit bins (index s + limit), limit = MAX_RATIO_OCTAVES; zeros when either is flat."""
    n, limit = len(a), int(MAX_RATIO_OCTAVES * BINS_PER_OCTAVE)
    if not a.any() or not b.any():
        return np.zeros(2 * limit + 1)
    dots = np.correlate(b, a, mode="full")[n - 1 - limit:n + limit]     # shift s at index s + limit
    ca, cb = np.concatenate([[0], np.cumsum(a * a)]), np.concatenate([[0], np.cumsum(b * b)])
    shifts = np.arange(-limit, limit + 1)
    # overlap for shift s >= 0: a[0:n-s] with b[s:n]; for s < 0: a[-s:n] with b[0:n+s]
    na = np.where(shifts >= 0, ca[n - np.maximum(shifts, 0)], ca[n] - ca[np.maximum(-shifts, 0)])
    nb = np.where(shifts >= 0, cb[n] - cb[np.maximum(shifts, 0)], cb[n + np.minimum(shifts, 0)])
    return dots / (np.sqrt(na * nb) + 1e-9)


def tempo_shift(a: np.ndarray, b: np.ndarray) -> int:
    """Bins by which b's tempogram is a's moved up the log-BPM axis (0 when either is flat); ties go
    to the smaller shift."""
    score = shift_scores(a, b)
    if not score.any():
        return 0
    limit = len(score) // 2
    shifts = np.arange(-limit, limit + 1)
    best = np.flatnonzero(score >= score.max() - 1e-9)
    return int(shifts[best[np.argmin(np.abs(shifts[best]))]])


def onset_envelope(audio: np.ndarray, sr: int, bands: int = 1) -> np.ndarray:
    """Spectral flux (librosa.onset.onset_strength's recipe: log-mel, 80 dB range, positive
    differences averaged over bands), computed with torch; frames every ONSET_HOP samples.
    bands > 1: [bands, frames], the flux of each of `bands` equal groups of mel bands."""
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
        diff = torch.relu(db[1:] - db[:-1])
        if bands > 1:
            flux = torch.stack([g.mean(dim=1) for g in diff.chunk(bands, dim=1)])      # [bands, frames-1]
            return np.concatenate([np.zeros((bands, 1)), flux.numpy()], axis=1).astype(np.float32)
        flux = diff.mean(dim=1)
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
    fps = sr / ONSET_HOP
    envs = onset_envelope(audio, sr, ONSET_BANDS).reshape(ONSET_BANDS, -1)
    path = tempo_path(segment_curves(envs, fps, bounds, valid))
    out[valid] = split_tempo(envs, fps, bounds, valid, path)
    return out


def segment_curves(envs: np.ndarray, fps: float, bounds: np.ndarray, valid: np.ndarray) -> list[np.ndarray]:
    """The tempogram of each valid segment: its bands' tempograms weighted by their share of the flux."""
    curves = []
    for i in valid:
        part = envs[:, int(round(bounds[i, 0] * fps)):int(round(bounds[i, 1] * fps))]
        weight = part.sum(axis=1) / max(float(part.sum()), 1e-12)
        curves.append(sum(w * tempogram(e, fps) for w, e in zip(weight, part)))
    return curves


def split_tempo(envs: np.ndarray, fps: float, bounds: np.ndarray, valid: np.ndarray,
                path: np.ndarray) -> np.ndarray:
    """Tempo of each segment when a change falls inside it: the time-weighted mean of the path's tempo
    and a neighbour's (the segment's truth), split where local tempograms (SPLIT_WINDOW_S, every
    SPLIT_STEP_S) turn from favouring one tempo to the other. Near-octave neighbours are left alone:
    a tempogram cannot tell a tempo from its double's subdivisions."""
    bpm = TEMPO_GRID[path].astype(np.float64)
    out = bpm.copy()
    for k, i in enumerate(valid):
        times = np.arange(bounds[i, 0] + SPLIT_STEP_S / 2, bounds[i, 1], SPLIT_STEP_S)
        curves = None                                          # local tempograms, made once per segment
        for j in (k - 1, k + 1):
            step = abs(int(path[j]) - int(path[k])) if 0 <= j < len(path) else 0
            if step <= STAY_BINS + 1 or abs(step / BINS_PER_OCTAVE - 1) <= MIX_OCTAVE_GUARD or not len(times):
                continue
            if curves is None:
                curves = [_local_tempogram(envs, fps, t) for t in times]
            s = np.array([[c[max(0, b - 1):b + 2].max() for b in (path[k], path[j])] for c in curves])
            lead = (s[:, 1] - s[:, 0]) / (s.sum(axis=1) + 1e-9)     # > 0 where the neighbour's tempo leads
            lead = lead if j < k else lead[::-1]                     # from the side the neighbour is on
            gains = [lead[:m].sum() - lead[m:].sum() for m in range(len(lead) + 1)]
            share = int(np.argmax(gains)) / len(lead)
            if share >= SPLIT_MIN_SHARE:
                out[k] += share * (bpm[j] - bpm[k])
    return out


def _local_tempogram(envs: np.ndarray, fps: float, t: float) -> np.ndarray:
    """The tempogram of the SPLIT_WINDOW_S of onsets centred on t (s), bands weighted by their flux."""
    half = int(round(SPLIT_WINDOW_S * fps / 2))
    c = int(round(t * fps))
    part = envs[:, max(0, c - half):c + half]
    part = np.pad(part, ((0, 0), (0, 2 * half - part.shape[1])))
    weight = part.sum(axis=1) / max(float(part.sum()), 1e-12)
    return sum(w * tempogram(e, fps) for w, e in zip(weight, part))


def level_profiles(c: np.ndarray) -> np.ndarray:
    """[tempi, 3]: the tempogram at half, once and twice every tempo, unit norm (zeros where flat).

    Where a tempo doubles, the tempogram's peaks move by an octave but keep their heights relative
    to the beat (the same beat, subdivisions and accents, played faster); a slow part's eighths sit
    where the fast part's beat sits, but with a stronger peak an octave below and a weaker one an
    octave above. The whole-tempogram cosine (shift_scores) hardly tells these apart; this does."""
    o = BINS_PER_OCTAVE
    z = np.zeros(o)
    v = np.stack([np.concatenate([z, c[:-o]]), c, np.concatenate([c[o:], z])], axis=1)
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(norm > 1e-12, v / np.maximum(norm, 1e-12), 0.0)


def tempo_path(curves: list[np.ndarray]) -> np.ndarray:
    """The tempo bin of every segment: the Viterbi path that best explains the segments' tempograms.

    A path scores each segment's salience at its bin (times the tempo prior), how well neighbouring
    tempograms match when shifted by the step the path takes (a tempo change moves every periodicity
    by the same factor, so the same metrical level is followed across a change), how alike the
    neighbours' metrical profiles are at the path's two tempi (level_profiles: a near-double change
    keeps the profile, while staying put across it compares a slow part's eighths with a fast part's
    beat), a cost per change and more for an octave switch: one segment alone does not jump a level.
    Each segment's evidence is weighted by its confidence, and the costs by the clip's irregularity
    (clip_weights).
    """
    n = len(TEMPO_GRID)
    limit = int(MAX_RATIO_OCTAVES * BINS_PER_OCTAVE)
    prior = np.exp(-0.5 * ((np.log2(TEMPO_GRID) - np.log2(PRIOR_BPM)) / PRIOR_OCTAVES) ** 2)
    q = np.arange(n)
    step = q[None, :] - q[:, None]                        # [from p, to q]: q - p
    reach = np.abs(step) <= limit
    shifts = [shift_scores(a, b) for a, b in zip(curves[:-1], curves[1:])]
    confidence, irregular = clip_weights(curves, shifts)
    octave = np.exp(-0.5 * ((np.abs(step) / BINS_PER_OCTAVE - 1) / OCTAVE_WIDTH) ** 2)
    change_cost = np.where(np.abs(step) > STAY_BINS, CHANGE_COST * (1 + IRREGULAR_GAIN[0] * irregular), 0.0)
    change_cost = change_cost + OCTAVE_COST * (1 + IRREGULAR_GAIN[1] * irregular) * octave

    def emission(k):
        c = curves[k]
        c = c / c.max() if c.max() > 0 else np.ones(n)
        return confidence[k] * SALIENCE_WEIGHT * np.log(c * prior + SALIENCE_FLOOR)
    score = emission(0)
    back = []
    for k in range(1, len(curves)):
        trust = min(confidence[k - 1], confidence[k])      # a transition is as sure as its weaker side
        match = MATCH_WEIGHT * np.log(np.clip(shifts[k - 1][np.clip(step + limit, 0, 2 * limit)], MATCH_FLOOR, None))
        trans = trust * match - change_cost
        if LEVEL_WEIGHT > 0:
            pa, pb = level_profiles(curves[k - 1]), level_profiles(curves[k])
            trans = trans - trust * LEVEL_WEIGHT * 2 * (1 - pa @ pb.T)
        cand = np.where(reach, score[:, None] + trans, -np.inf)
        arg = np.argmax(cand, axis=0)
        back.append(arg)
        score = cand[arg, q] + emission(k)
    path = [int(np.argmax(score))]
    for arg in reversed(back):
        path.append(int(arg[path[-1]]))
    return np.array(path[::-1])


def clip_weights(curves: list[np.ndarray], shifts: list[np.ndarray]) -> tuple[np.ndarray, float]:
    """(confidence of every segment, irregularity of the clip), both 0..1.

    Confidence: the segment's tempogram peak over the clip's highest (a bar of whole notes or of rests
    has little periodicity; its argmax is noise and must not move the path). Irregularity: 1 - the
    median over neighbours of their best shifted cosine (shift_scores): a clean piece repeats its
    pattern (near 0, even across a tempo change), a melody of dotted, tied, syncopated and sparse notes
    does not, and there one segment's favourite metrical level says less."""
    peaks = np.array([float(c.max()) for c in curves])
    confidence = peaks / peaks.max() if peaks.max() > 0 else np.ones(len(curves))
    best = [float(s.max()) for s in shifts]
    return confidence, (1.0 - float(np.median(best))) if best else 0.0


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
