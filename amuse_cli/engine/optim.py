"""Optimisers and learning-rate schedules selectable by name in recipes (`optim:`, `sched:`)."""
from __future__ import annotations

import math

import torch

from amuse_cli.registry import register


@register("optim", "adamw")
def adamw(params, *, lr: float = 1.0e-4, weight_decay: float = 0.01, betas: list = (0.9, 0.999)):
    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas))


@register("optim", "adam")
def adam(params, *, lr: float = 1.0e-4, weight_decay: float = 0.0, betas: list = (0.9, 0.999)):
    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, betas=tuple(betas))


@register("optim", "sgd")
def sgd(params, *, lr: float = 1.0e-2, momentum: float = 0.9, weight_decay: float = 0.0):
    return torch.optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)


def _warmup(step: int, warmup_steps: int) -> float:
    return (step + 1) / warmup_steps if step < warmup_steps else 1.0


@register("sched", "cosine")
def cosine(optimizer, total_steps: int, *, warmup_steps: int = 0, min_lr_ratio: float = 0.01):
    """Linear warm-up, then cosine decay to min_lr_ratio x the base rate, stepped per batch."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return _warmup(step, warmup_steps)
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return min_lr_ratio + (1 - min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


@register("sched", "step")
def step(optimizer, total_steps: int, *, step_size: int = 1000, gamma: float = 0.1, warmup_steps: int = 0):
    """Multiply the rate by gamma every step_size batches (after warm-up)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _warmup(s, warmup_steps) * gamma ** (s // step_size))


@register("sched", "constant")
def constant(optimizer, total_steps: int, *, warmup_steps: int = 0):
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: _warmup(s, warmup_steps))
