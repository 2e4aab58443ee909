"""Scene heads: what the visual and audio streams report per frame, in models/scene.py's layout.

The visual head reads the visual stream's final map column by column (one performer per column:
present, centre inside the column, playing, class); the audio head reads each log-mel window's
features (per class: heard, loudness, onsets, pitch, pitched; and the voice-over); the clip's
background comes from the visual map. `amuse pretrain` fits streams and heads on the ground truth
of a separate synthetic set (features.truth.scene_truth); QA training then keeps them frozen.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.models.scene import CLASS_FEATS, COL_FEATS
from amuse_cli.models.temporal import SpectrumStep

K = len(INSTRUMENTS)


class VisualSceneHead(nn.Module):
    """Final visual map [N, h, w, C] -> per-column logits [N, columns, 3 + K] and indoor logit [N]."""

    def __init__(self, dim: int, columns: int, hidden: int = 128):
        super().__init__()
        self.columns = columns
        self.mix = nn.Sequential(nn.LayerNorm(dim * 2), nn.Linear(dim * 2, hidden), nn.GELU())
        self.out = nn.Linear(hidden, len(COL_FEATS) + K)
        self.indoor = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = x.permute(0, 3, 1, 2)                                         # [N, C, h, w]
        cols = torch.cat([m.mean(2), m.amax(2)], 1)                       # over rows: [N, 2C, w]
        cols = F.interpolate(cols, size=self.columns, mode="linear", align_corners=False)
        return self.out(self.mix(cols.transpose(1, 2))), self.indoor(m.mean((2, 3))).squeeze(-1)


class ClassBands(nn.Module):
    """Per-class band envelopes over the window's time axis -> per-class temporal facts [N, K, 5].

    Pooled spectra (the spectral encoder, the Swin map) keep which timbres sound but lose *when*:
    how many notes a class plays in a mixture (rhythm) is a count of attacks in its own bands.
    A convolution over time with the mel bands as channels gives each class an energy and an
    onset envelope; their mean, peak, upward variation and soft onset count go to that class.
    """

    def __init__(self, mels: int):
        super().__init__()
        self.bands = nn.Conv1d(mels, 2 * K, kernel_size=3, padding=1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        x = self.bands(windows.squeeze(1))                            # [N, 2K, A]
        energy, onset = x[:, :K], x[:, K:]
        rise = torch.relu(energy[..., 1:] - energy[..., :-1]).mean(-1)
        return torch.stack([energy.mean(-1), energy.amax(-1), rise, torch.relu(onset).mean(-1),
                            torch.sigmoid(onset).mean(-1)], -1)


class FrameTagger(nn.Module):
    """Each log-mel frame's spectrum, with its two neighbours, -> per-class evidence over the window,
    pooled (peak, mean, soft peak) into a correction of the class logits [N, K, 5].

    The spectral encoder reads the window's mean and peak spectrum, in which two instruments playing
    in turn blur into one; frame by frame they stay apart. With 18,000 sound-only scenes the head's
    heard F1 on its own training windows (0.77) had come within 0.06 of held-out windows: capacity,
    not data, was then the limit; with it the held-out F1 rose 0.710 -> 0.721, the questions did not
    move (README, Pretrained perception), so the shipped file has none. Its last layer starts at zero,
    so a head it joins starts as it was.
    """

    def __init__(self, mels: int, width: int):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(mels, width, 3, padding=1), nn.GELU(),
                                 nn.Conv1d(width, width, 3, padding=1), nn.GELU(), nn.Conv1d(width, K, 1))
        self.out = nn.Sequential(nn.LayerNorm(3), nn.Linear(3, len(CLASS_FEATS)))
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        z = self.net(windows.squeeze(1))                                  # [N, K, A]
        soft_peak = torch.logsumexp(z, -1) - math.log(z.shape[-1])
        return self.out(torch.stack([z.amax(-1), z.mean(-1), soft_peak], -1))


class AudioSceneHead(nn.Module):
    """Audio stream features per window [N, D] + the window's log-mel -> per-class logits [N, K, 5]
    and a voice-over logit [N].

    The log-mel also goes through a spectral encoder (the source branch's SpectrumStep: convolutions
    along frequency, shift-tolerant, so a timbre is recognised at any pitch): resized to a square
    Swin input, 22 timbres in a mixture are learnt far more slowly (held-out heard F1 0 after 12
    epochs, against 0.5 for the spectral encoder). Per-class band envelopes (ClassBands) add when
    each class attacks, which the pooled features lose. `frame_tagger` > 0 adds a FrameTagger of that
    width (a perception file records it as config.frame_tagger).
    """

    def __init__(self, dim: int, hidden: int = 256, spectral: int = 128, mels: int = 128, frame_tagger: int = 0):
        super().__init__()
        self.spectral = SpectrumStep(spectral, width=48)
        self.class_bands = ClassBands(mels)
        self.mix = nn.Sequential(nn.LayerNorm(dim + spectral), nn.Linear(dim + spectral, hidden), nn.GELU())
        self.out = nn.Linear(hidden, K * len(CLASS_FEATS) + 1)
        self.per_class = nn.Sequential(nn.LayerNorm(5), nn.Linear(5, len(CLASS_FEATS)))
        self.frames = FrameTagger(mels, frame_tagger) if frame_tagger else None

    def forward(self, feats: torch.Tensor, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.out(self.mix(torch.cat([feats, self.spectral(windows)], -1)))
        classes = y[:, :-1].view(len(y), K, len(CLASS_FEATS)) + self.per_class(self.class_bands(windows))
        if self.frames is not None:
            classes = classes + self.frames(windows)
        return classes, y[:, -1]


def scene_from_logits(col_logits, indoor_logit, class_logits, voice_logit, b: int, t: int) -> dict:
    """Head outputs for B*T frames -> the scene tensors (probabilities and values) the reasoner reads."""
    c = col_logits.shape[1]
    col = col_logits.view(b, t, c, -1).transpose(1, 2)                    # [B, C, T, 3 + K]
    offset = torch.arange(c, device=col.device, dtype=col.dtype).view(1, c, 1)
    cols = torch.cat([torch.sigmoid(col[..., :1]), ((offset + torch.sigmoid(col[..., 1])) / c).unsqueeze(-1),
                      torch.sigmoid(col[..., 2:3]), col[..., 3:].softmax(-1)], -1)
    classes, voice = audio_scene(class_logits, voice_logit, b, t)
    glob = torch.stack([voice, torch.sigmoid(indoor_logit).view(b, t)], -1)
    return {"cols": cols, "classes": classes, "glob": glob}


def audio_scene(class_logits, voice_logit, b: int, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Audio head outputs for B*T windows -> classes [B, K, T, 5] (heard, loudness, onsets, pitch,
    pitched) and the voice-over probability [B, T]."""
    cls = class_logits.view(b, t, K, -1).transpose(1, 2)
    classes = torch.stack([torch.sigmoid(cls[..., 0]), cls[..., 1], cls[..., 2], cls[..., 3],
                           torch.sigmoid(cls[..., 4])], -1)
    return classes, torch.sigmoid(voice_logit).view(b, t)


def _bce(logit, target, w):
    return (F.binary_cross_entropy_with_logits(logit, target, reduction="none") * w).sum() / w.sum().clamp(min=1.0)


def scene_loss(col_logits, indoor_logit, class_logits, voice_logit, truth: dict, frame_mask) -> dict:
    """Per-part losses against features.truth.scene_truth arrays (batched: cols [B, C, T, 3+K], ...)."""
    return {**visual_loss(col_logits, indoor_logit, truth, frame_mask),
            **audio_loss(class_logits, voice_logit, truth, frame_mask)}


def visual_loss(col_logits, indoor_logit, truth: dict, frame_mask) -> dict:
    """Per image column: present, centre, playing, class; the background."""
    b, t = frame_mask.shape
    m = frame_mask.reshape(-1).float()                                    # [N]
    cols = truth["cols"].transpose(1, 2).reshape(b * t, -1, truth["cols"].shape[-1])   # [N, C, 3+K]
    present = cols[..., 0]
    col_m = m[:, None].expand_as(present)
    c = cols.shape[1]
    within = cols[..., 1] * c - torch.arange(c, device=cols.device, dtype=cols.dtype)   # centre inside column
    pw = present * col_m
    losses = {
        "present": _bce(col_logits[..., 0], present, col_m),
        "x": (F.l1_loss(torch.sigmoid(col_logits[..., 1]), within.clamp(0, 1), reduction="none") * pw).sum()
        / pw.sum().clamp(min=1.0),
        "playing": _bce(col_logits[..., 2], (cols[..., 2] > 0.5).float(), pw),
        "class": (F.cross_entropy(col_logits[..., 3:].flatten(0, 1), cols[..., 3:].argmax(-1).flatten(),
                                  reduction="none") * pw.flatten()).sum() / pw.sum().clamp(min=1.0),
        "indoor": _bce(indoor_logit, truth["glob"][..., 1].reshape(-1), m),
    }
    return losses


def audio_loss(class_logits, voice_logit, truth: dict, frame_mask) -> dict:
    """Per log-mel window and class: heard, loudness, onsets, pitch, pitched; the voice-over."""
    b, t = frame_mask.shape
    m = frame_mask.reshape(-1).float()                                    # [N]
    losses = {"voice": _bce(voice_logit, (truth["glob"][..., 0].reshape(-1) > 0.5).float(), m)}
    cls = truth["classes"].transpose(1, 2).reshape(b * t, K, -1)           # [N, K, 5]
    heard = cls[..., 0]
    hm = (heard > 0.5).float() * m[:, None]
    # a class is heard in few windows: weigh the positives up, or "never heard" is a comfortable minimum
    losses["heard"] = _bce(class_logits[..., 0], (heard > 0.5).float(), m[:, None].expand_as(heard) * (1 + 2 * heard))
    for i, name in ((1, "loudness"), (2, "onsets")):
        losses[name] = (F.smooth_l1_loss(class_logits[..., i], cls[..., i], reduction="none", beta=0.1) * hm).sum() \
            / hm.sum().clamp(min=1.0)
    pm = hm * cls[..., 4]
    losses["pitch"] = (F.smooth_l1_loss(class_logits[..., 3], cls[..., 3], reduction="none", beta=0.1) * pm).sum() \
        / pm.sum().clamp(min=1.0)
    losses["pitched"] = _bce(class_logits[..., 4], cls[..., 4], hm)
    return losses


def stream_maps(visual, audio, video: dict, audio_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Final normed maps of the visual and audio SwinStreams for every frame of `video` (no adapters),
    and the standardised log-mel windows [N, 1, M, A] the spectral encoder reads."""
    from amuse_cli.models.inputs import frame_images
    v = visual.prepare(frame_images(video))
    for stage in visual.stages:
        v = stage(v)
    return (visual.norm(v), *audio_map(audio, video, audio_size))


def audio_map(audio, video: dict, audio_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(final normed map of the audio SwinStream, standardised log-mel windows [N, 1, M, A])."""
    from amuse_cli.models.inputs import audio_images
    windows = audio_images(video, channels=1)
    a = audio.prepare(F.interpolate(windows, size=(audio_size, audio_size), mode="bilinear", align_corners=False)
                      .expand(-1, 3, -1, -1), imagenet_norm=False)
    for stage in audio.stages:
        a = stage(a)
    return audio.norm(a), windows


def pooled(a: torch.Tensor) -> torch.Tensor:
    """The audio scene head's stream input: a map [N, h, w, C] averaged and maxed over space [N, 2C]."""
    return torch.cat([a.mean((1, 2)), a.amax((1, 2))], -1)


def head_logits(scene_visual: VisualSceneHead, scene_audio: AudioSceneHead, v: torch.Tensor, a: torch.Tensor,
                windows: torch.Tensor):
    """(column logits, indoor logit, class logits, voice logit) from the final maps."""
    cols, indoor = scene_visual(v)
    classes, voice = scene_audio(pooled(a), windows)
    return cols, indoor, classes, voice
