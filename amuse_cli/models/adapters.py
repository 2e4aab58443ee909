"""Cross-modal adapter: stream X attends over partner Y, a small MLP, added through a zero-init gate."""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

PARTNER_GRID = 4  # partner maps are pooled to at most 4x4 tokens: attention cost stays small


def map_tokens(x: torch.Tensor, grid: int = PARTNER_GRID) -> torch.Tensor:
    """Channel-last map [N, h, w, C] -> at most grid*grid pooled tokens [N, g*g, C]."""
    h, w = x.shape[1:3]
    y = F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), (min(h, grid), min(w, grid)))
    return y.flatten(2).transpose(1, 2)


class CrossModalAdapter(nn.Module):
    """x + gate * MLP(Attention(norm(x), partner)); gate starts at 0 so a backbone starts unchanged."""

    def __init__(self, dim: int, partner_dim: int, heads: int = 4, ratio: float = 0.5):
        super().__init__()
        heads = max(1, min(heads, dim // 16))
        self.norm = nn.LayerNorm(dim)
        self.partner = nn.Sequential(nn.LayerNorm(partner_dim), nn.Linear(partner_dim, dim))
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        hidden = max(8, int(dim * ratio))
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.gate = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor, partner: torch.Tensor, partner_pad: torch.Tensor | None = None):
        """x: [N, h, w, C] map; partner: [N, m, D] tokens (partner_pad: [N, m] true = ignore)."""
        n, h, w, c = x.shape
        q = self.norm(x.reshape(n, h * w, c))
        kv = self.partner(partner)
        out, _ = self.attn(q, kv, kv, key_padding_mask=partner_pad, need_weights=False)
        return x + self.gate * self.mlp(out).reshape(n, h, w, c)
