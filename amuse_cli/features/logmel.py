"""Log-mel (Kaldi fbank, as AST/HTS-AT-style audio transformers take it) cut into per-frame windows."""
from __future__ import annotations

import numpy as np
import torch
from torchaudio.compliance import kaldi

LOG_FLOOR = float(np.log(np.finfo(np.float32).eps))  # fbank's value for silence; also the padding


def fbank(audio: np.ndarray, settings: dict) -> np.ndarray:
    """float32 [frames, n_mels]; frame i covers samples [i*hop, i*hop + win) (Kaldi snip_edges)."""
    sr = settings["sample_rate"]
    win = int(round(settings["win_ms"] * sr / 1000))
    if len(audio) < win:                      # shorter than one window: pad with silence
        audio = np.pad(audio, (0, win - len(audio)))
    wav = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))[None]
    with torch.inference_mode():
        out = kaldi.fbank(wav, sample_frequency=sr, frame_length=settings["win_ms"],
                          frame_shift=settings["hop_ms"], num_mel_bins=settings["n_mels"],
                          dither=0.0, window_type="hanning", use_energy=False)
    return out.numpy()


def frame_windows(mel: np.ndarray, times: np.ndarray, settings: dict, hops: int) -> np.ndarray:
    """float32 [T, n_mels, hops]: a window of `hops` fbank frames centred on each time (s).

    Window edges past the audio are padded with LOG_FLOOR (silence), so every window has the
    same shape and stays centred on its frame.
    """
    sr = settings["sample_rate"]
    hop = settings["hop_ms"] * sr / 1000
    win = settings["win_ms"] * sr / 1000
    centre = np.rint((times * sr - win / 2) / hop).astype(int)   # fbank frame centred nearest t
    start = centre - hops // 2
    padded = np.pad(mel, ((hops, hops), (0, 0)), constant_values=LOG_FLOOR)
    idx = start[:, None] + np.arange(hops)[None, :] + hops       # [T, hops] into `padded`
    idx = np.clip(idx, 0, len(padded) - 1)
    return np.ascontiguousarray(padded[idx].transpose(0, 2, 1))
