"""Question transformer: word ids -> token features and a pooled question vector."""
from __future__ import annotations

import torch
from torch import nn


class QuestionEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_tokens: int, dim: int, layers: int = 1, heads: int = 4):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0)
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)

    def forward(self, ids: torch.Tensor):
        """ids [B, L] (0 = pad) -> tokens [B, L, D], pad mask [B, L] (true = pad), pooled [B, D]."""
        pad = ids == 0
        pad = pad & ~pad.all(dim=1, keepdim=True)  # an empty question still attends somewhere
        x = self.embed(ids) + self.pos[:, : ids.shape[1]]
        x = self.norm(self.encoder(x, src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return x, pad, pooled
