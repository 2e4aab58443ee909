"""Rhythm and source branches: small temporal encoders per modality (stage 1, then frozen).

Each predicts its per-segment labels from its modality alone: the rhythm change 0/1 (MSE), or the
number of active sources (MSE) and how much each instrument class is heard (binary cross-entropy,
targets 0..1). Afterwards their per-time-step features join the QA fusion. The class levels are
what teaches the audio stream timbre: QA answers alone are too few to learn 22 classes from.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.models.inputs import audio_images, frame_images

VISUAL_SIZE = 32  # pixels: the branch looks at coarse motion and layout, not detail
N_CLASSES = len(INSTRUMENTS)


class StepConv(nn.Module):
    """One image per time step -> a vector (3 strided convs, then left/middle/right pooling)."""

    def __init__(self, in_ch: int, dim: int):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, 16, 3, 2, 1), nn.GELU(), nn.Conv2d(16, 32, 3, 2, 1), nn.GELU(),
            nn.Conv2d(32, dim, 3, 2, 1), nn.GELU())
        self.out = nn.Linear(dim * 3, dim)

    def forward(self, x):
        return self.out(F.adaptive_avg_pool2d(self.conv(x), (1, 3)).flatten(1))


class SpectrumStep(nn.Module):
    """One log-mel window -> a vector: 1-D convs along frequency over its mean and peak spectrum.

    Timbre is a pattern along frequency that moves with pitch; the final max over frequency makes it
    shift-tolerant, coarse band averages keep where it sits. StepConv averages frequency away.
    """

    BANDS = 4   # coarse band averages; with the max and the mean over frequency: BANDS + 2 pools per channel

    def __init__(self, dim: int, width: int = 32):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(2, width, 5, padding=2), nn.GELU(), nn.MaxPool1d(2),
            nn.Conv1d(width, width * 2, 5, padding=2), nn.GELU(), nn.MaxPool1d(2),
            nn.Conv1d(width * 2, width * 2, 5, padding=2), nn.GELU())
        self.out = nn.Linear(width * 2 * (self.BANDS + 2), dim)

    def forward(self, x):  # [N, 1, mel, hops]
        h = self.conv(torch.cat([x.mean(-1), x.amax(-1)], 1))
        return self.out(torch.cat([h.amax(-1), h.mean(-1), F.adaptive_avg_pool1d(h, self.BANDS).flatten(1)], 1))


class TemporalEncoder(nn.Module):
    """Per-step features [B, T, dim] of one modality, and a per-step label head.

    kind rhythm: 1 output (change); kind source: 1 + N_CLASSES outputs (count, class levels).
    """

    def __init__(self, modality: str, dim: int, kind: str = "rhythm"):
        super().__init__()
        self.modality, self.kind = modality, kind
        self.step = (SpectrumStep(dim) if (modality, kind) == ("audio", "source")
                     else StepConv(3 if modality == "visual" else 1, dim))
        self.time = nn.Sequential(nn.Conv1d(dim, dim, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(dim, dim, 3, padding=1))
        self.head = nn.Linear(dim, 1 + (N_CLASSES if kind == "source" else 0))

    def forward(self, batch: dict) -> torch.Tensor:
        b, t = batch["frame_mask"].shape
        if self.modality == "visual":
            x = F.interpolate(frame_images(batch), size=(VISUAL_SIZE, VISUAL_SIZE), mode="bilinear",
                              antialias=True, align_corners=False)
        else:
            x = audio_images(batch, channels=1)
        steps = self.step(x).view(b, t, -1)
        return steps + self.time(steps.transpose(1, 2)).transpose(1, 2)


def segment_weights(frame_mask: torch.Tensor, segment_mask: torch.Tensor) -> torch.Tensor:
    """[B, S, T] averaging weights: frames are spread evenly over the clip, segments too."""
    t, s = frame_mask.shape[1], segment_mask.shape[1]
    nf = frame_mask.sum(1, keepdim=True).clamp(min=1).float()
    ns = segment_mask.sum(1, keepdim=True).clamp(min=1).float()
    seg = ((torch.arange(t, device=nf.device).float() + 0.5) / nf * ns).floor()  # [B, T]
    w = (seg[:, None, :] == torch.arange(s, device=nf.device).float()[None, :, None]) & frame_mask[:, None, :]
    w = w.float()
    return w / w.sum(-1, keepdim=True).clamp(min=1.0)


class RhythmSourceBranches(nn.Module):
    """The enabled encoders: {rhythm, source} x {audio, visual}."""

    def __init__(self, kinds: list[str], modalities: list[str], dim: int):
        super().__init__()
        self.encoders = nn.ModuleDict({f"{k}_{m}": TemporalEncoder(m, dim, k) for k in kinds for m in modalities})
        self.dim = dim

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return {name: enc(batch) for name, enc in self.encoders.items()}

    def segment_outputs(self, batch: dict) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """(valid [B, S], {encoder: its label head averaged over each valid segment's frames [segments, outputs]})."""
        w = segment_weights(batch["frame_mask"], batch["segment_mask"])
        valid = batch["segment_mask"] & (w.sum(-1) > 0)
        return valid, {name: torch.bmm(w, enc.head(enc(batch)))[valid] for name, enc in self.encoders.items()}

    def loss(self, batch: dict) -> torch.Tensor:
        """Mean over encoders of their per-segment losses (MSE on rhythm and counts, BCE on class levels)."""
        valid, outputs = self.segment_outputs(batch)
        losses = []
        for name, enc in self.encoders.items():
            pred = outputs[name]
            if not valid.any():
                losses.append(pred.sum() * 0)
            elif enc.kind == "rhythm":
                losses.append(F.mse_loss(pred[:, 0], batch["rhythm"][valid].float()))
            else:
                losses.append(F.mse_loss(pred[:, 0], batch["sources"][valid].float())
                              + F.binary_cross_entropy_with_logits(pred[:, 1:], batch["source_classes"][valid].float()))
        return torch.stack(losses).mean()
