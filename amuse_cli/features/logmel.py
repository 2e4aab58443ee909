"""Log-mel (Kaldi fbank, as AST/HTS-AT-style audio transformers take it) cut into per-frame windows."""
from __future__ import annotations

import numpy as np
import torch
from torchaudio.compliance import kaldi

LOG_FLOOR = float(np.log(np.finfo(np.float32).eps))  # fbank's value for silence; also the padding


def _samples(ms: float, sr: int) -> int:
    return int(sr * ms / 1000)   # Kaldi truncates frame length and shift to whole samples


def fbank(audio: np.ndarray, settings: dict) -> np.ndarray:
    """float32 [frames, n_mels]; frame i covers samples [i*hop, i*hop + win) (Kaldi snip_edges)."""
    sr = settings["sample_rate"]
    win = _samples(settings["win_ms"], sr)
    if len(audio) < win:                      # shorter than one window: pad with silence
        audio = np.pad(audio, (0, win - len(audio)))
    wav = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    with torch.inference_mode():
        out = kaldi.fbank(wav, sample_frequency=sr, frame_length=settings["win_ms"],
                          frame_shift=settings["hop_ms"], num_mel_bins=settings["n_mels"],
                          dither=0.0, window_type="hanning", use_energy=False)
    return out.numpy()


def windows_at(audio: np.ndarray, times: np.ndarray, settings: dict, hops: int) -> np.ndarray:
    """float32 [T, n_mels, hops]: the fbank frames of each window, computed only where needed.

    Kaldi frames are computed frame by frame (DC offset, pre-emphasis and window inside each
    frame), so fbank over a window's samples equals the same rows of fbank over the whole clip;
    a 60 s clip sampled at 8 frames of 1 s analyses 8 s of audio instead of 60.
    """
    sr = settings["sample_rate"]
    hop, win = _samples(settings["hop_ms"], sr), _samples(settings["win_ms"], sr)
    n_frames = 1 + (len(audio) - win) // hop if len(audio) >= win else 0
    start = np.rint((times * sr - win / 2) / hop).astype(int) - hops // 2
    out = np.full((len(times), hops, settings["n_mels"]), LOG_FLOOR, dtype=np.float32)
    for k, s in enumerate(start):
        a, b = max(s, 0), min(s + hops, n_frames)          # frames inside the clip
        if b <= a:
            continue
        samples = audio[a * hop:(b - 1) * hop + win]
        out[k, a - s:b - s] = fbank(samples, settings)[:b - a]
    return np.ascontiguousarray(out.transpose(0, 2, 1))
