"""Fusion and head: each branch pooled over time, gated by sigmoid(its question encoding), summed."""
from __future__ import annotations

import torch
from torch import nn


class Branch(nn.Module):
    """A branch's per-step features -> temporal context -> question-guided pooling over time."""

    def __init__(self, in_dim: int, dim: int, q_dim: int, frames: int, heads: int = 4, gated: bool = True):
        super().__init__()
        self.proj = nn.Sequential(nn.LayerNorm(in_dim), nn.Linear(in_dim, dim))
        self.time = nn.Parameter(torch.zeros(1, frames, dim))  # when things happen matters (Temporal)
        self.context = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True,
                                                  norm_first=True)
        # late fusion has no question-guided pooling or gate (and DDP wants every parameter used)
        self.query = nn.Linear(q_dim, dim) if gated else None
        self.gate = nn.Linear(q_dim, dim) if gated else None

    def forward(self, x, mask, q):
        """x [B, T, in], mask [B, T] (true = real frame), q [B, Dq] -> pooled [B, dim], gate [B, dim]."""
        h = self.context(self.proj(x) + self.time[:, : x.shape[1]], src_key_padding_mask=~mask)
        if self.query is None:  # plain mean over the clip's frames
            score = torch.zeros(h.shape[:2], device=h.device, dtype=h.dtype)
        else:
            score = (h @ self.query(q).unsqueeze(-1)).squeeze(-1) / h.shape[-1] ** 0.5
        att = score.masked_fill(~mask, float("-inf")).softmax(-1)
        return (att.unsqueeze(-1) * h).sum(1), (torch.sigmoid(self.gate(q)) if self.gate is not None else None)


class QuestionGatedFusion(nn.Module):
    """Sum over branches of sigmoid(W_b q) * pool_b, then an MLP over [fused, q] -> answer logits.

    gated=False is late fusion (LAVisH-style): plain mean pooling, no gates, the question joins at the head.
    """

    def __init__(self, branches: dict[str, int], dim: int, q_dim: int, frames: int, n_answers: int,
                 gated: bool = True):
        super().__init__()
        self.gated = gated
        self.branches = nn.ModuleDict({n: Branch(d, dim, q_dim, frames, gated=gated) for n, d in branches.items()})
        self.head = nn.Sequential(nn.LayerNorm(dim + q_dim), nn.Linear(dim + q_dim, dim), nn.GELU(),
                                  nn.Linear(dim, n_answers))

    def forward(self, feats: dict[str, torch.Tensor], mask: torch.Tensor, q: torch.Tensor):
        mask = mask | (~mask).all(1, keepdim=True)  # a clip with no valid frame still pools
        fused = 0
        for name, branch in self.branches.items():
            pooled, gate = branch(feats[name], mask, q)
            fused = fused + (gate * pooled if self.gated else pooled)
        return self.head(torch.cat([fused, q], dim=-1))
