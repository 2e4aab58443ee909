"""Turn a Dataset batch (docs/INTERFACES.md §2) into model inputs."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.nn import functional as F


@dataclass(frozen=True)
class ModelSpec:
    """What the engine tells a builder about its inputs (positional argument of every builder)."""
    shapes: dict            # cache.shapes: {"frames": [T,3,H,W], "logmel": [T,M,A], "rhythm": [S], ...}
    vocab_size: int
    max_tokens: int
    n_answers: int
    n_templates: int
    words: tuple = ()       # the vocabulary, id order (the grounded head binds instrument/position words)
    vocab: object = None    # data.vocab.Vocab: reads any word by its pieces (model.question: pieces)

    @property
    def frames(self) -> int:
        return int(self.shapes["frames"][0])


def frame_images(batch: dict) -> torch.Tensor:
    """uint8 frames [B, T, 3, H, W] -> floats in [0, 1], [B*T, 3, H, W]."""
    return batch["frames"].flatten(0, 1).float().div_(255.0)


def audio_images(batch: dict, size: int | None = None, channels: int = 3) -> torch.Tensor:
    """log-mel windows [B, T, M, A] -> per-clip standardised images [B*T, channels, size, size]."""
    x = batch["logmel"].float()
    m = batch["frame_mask"].to(x.dtype)[:, :, None, None].expand_as(x)
    count = m.sum(dim=(1, 2, 3), keepdim=True).clamp(min=1.0)
    mean = (x * m).sum(dim=(1, 2, 3), keepdim=True) / count
    var = (((x - mean) * m) ** 2).sum(dim=(1, 2, 3), keepdim=True) / count
    x = ((x - mean) / (var.sqrt() + 1e-5) * m).flatten(0, 1).unsqueeze(1)
    if size is not None:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.expand(-1, channels, -1, -1)
