"""Rhythm and source branches: small temporal encoders per modality (stage 1, then frozen).

Each predicts the per-segment label (rhythm change 0/1, or number of active sources) from its
modality alone, trained with MSE; afterwards its per-time-step features join the QA fusion.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.models.inputs import audio_images, frame_images

VISUAL_SIZE = 32  # pixels: the branch looks at coarse motion and layout, not detail
LABELS = {"rhythm": "rhythm", "source": "sources"}  # branch kind -> dataset key of its target


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


class TemporalEncoder(nn.Module):
    """Per-step features [B, T, dim] of one modality, and a per-step label head."""

    def __init__(self, modality: str, dim: int):
        super().__init__()
        self.modality = modality
        self.step = StepConv(3 if modality == "visual" else 1, dim)
        self.time = nn.Sequential(nn.Conv1d(dim, dim, 3, padding=1), nn.GELU(),
                                  nn.Conv1d(dim, dim, 3, padding=1))
        self.head = nn.Linear(dim, 1)

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
        self.encoders = nn.ModuleDict({f"{k}_{m}": TemporalEncoder(m, dim) for k in kinds for m in modalities})
        self.dim = dim

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        return {name: enc(batch) for name, enc in self.encoders.items()}

    def loss(self, batch: dict) -> torch.Tensor:
        """Mean over encoders of the MSE between per-segment predictions and labels."""
        w = segment_weights(batch["frame_mask"], batch["segment_mask"])
        valid = batch["segment_mask"] & (w.sum(-1) > 0)
        losses = []
        for name, enc in self.encoders.items():
            pred = torch.bmm(w, enc.head(enc(batch))).squeeze(-1)  # [B, S]
            target = batch[LABELS[name.split("_")[0]]].float()
            losses.append(F.mse_loss(pred[valid], target[valid]) if valid.any() else pred.sum() * 0)
        return torch.stack(losses).mean()
