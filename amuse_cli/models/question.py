"""Question transformer: word ids (and piece ids) -> token features and a pooled question vector.

`n_pieces` > 0 reads each token also by its character n-grams (models/pieces.py), so a word training
never showed still has a vector (`model.question: pieces`); 0 reads word ids alone (`words`).
`sentence="minilm"` adds a learnt projection of the question's sentence vector (models/sentence.py)
to the pooled vector, which the gated fusion reads.
"""
from __future__ import annotations

import torch
from torch import nn

from amuse_cli.errors import ConfigError
from amuse_cli.models.pieces import PieceEmbedding
from amuse_cli.models.sentence import sense

QUESTIONS = ("words", "pieces")     # model.question


def piece_count(question: str, vocab) -> int:
    """How many piece ids the encoder embeds for `model.question` (0: words alone)."""
    if question not in QUESTIONS:
        raise ConfigError(f"model.question={question!r}; use one of {', '.join(QUESTIONS)}")
    if question == "words":
        return 0
    if vocab is None:
        raise ConfigError("model.question=pieces needs the run's vocabulary with its pieces (ModelSpec.vocab)")
    return len(vocab.pieces)


class QuestionEncoder(nn.Module):
    def __init__(self, vocab_size: int, max_tokens: int, dim: int, layers: int = 1, heads: int = 4,
                 n_pieces: int = 0, sentence: str = "none"):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, dim, padding_idx=0) if not n_pieces else None
        self.tokens = PieceEmbedding(vocab_size, n_pieces, dim) if n_pieces else None
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, dim))
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.sentence = sense(sentence, dim)

    def forward(self, ids: torch.Tensor, pieces: torch.Tensor | None = None, sentence: torch.Tensor | None = None):
        """ids [B, L] (0 = pad), pieces [B, L, P] (read by pieces only), sentence [B, 384] (with a
        sentence encoder only) -> tokens [B, L, D], pad mask [B, L] (true = pad), pooled [B, D]."""
        pad = ids == 0
        pad = pad & ~pad.all(dim=1, keepdim=True)  # an empty question still attends somewhere
        if self.tokens is None:
            x = self.embed(ids)
        elif pieces is None:
            raise ConfigError("model.question=pieces reads the batch's `pieces` (engine/datasets.py); this "
                              "batch has none")
        else:
            x = self.tokens(ids, pieces)[0]
        x = self.norm(self.encoder(x + self.pos[:, : ids.shape[1]], src_key_padding_mask=pad))
        keep = (~pad).unsqueeze(-1).float()
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        if self.sentence is not None:
            pooled = self.sentence.add(pooled, sentence)
        return x, pad, pooled
