"""Reading questions by their pieces (`model.question: pieces`): token vectors from character
n-grams, and soft links from tokens to the names of scene entities by the similarity of their pieces.

Why: a word id says nothing about a word training never showed (`<unk>`), so a rephrasing with new
words loses its meaning, and a word table that binds only the exact names ("violin") misses
"violins", "violinist" or "vilon". Here a token is the mean of its pieces' vectors (data/vocab.py:
n = 3..5 with word boundaries, the whole word one more piece; a piece training never showed reads
as zero, so a word with few known pieces is a faint vector) plus a vector per known word. The names
tokens can refer to (instrument classes, thirds, leftmost/rightmost) are read by the same pieces,
and a token links to a name by the cosine of their piece vectors: a soft pointer learnt end to end,
where an exact name starts at cosine 1 and a word sharing most of its pieces close to it.

Training drops a word's own vector now and then (`word_dropout`), so pieces must carry the meaning
alone as they do for a new word, and some pieces (`piece_dropout`), as a new word knows only some.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.data.vocab import UNKNOWN_PIECE

UNK_ID = 1              # word id of <unk> (data/vocab.py)
WORD_DROPOUT = 0.3      # chance a training token is read by its pieces alone (its word id -> <unk>)
PIECE_DROPOUT = 0.2     # chance a training piece is read as unknown (zero)
TOKEN_DROPOUT = 0.0     # chance a training token is read as wholly unknown (word and pieces)
LINK_SCALE = 30.0       # initial sharpness of the cosine links (logits = scale * cosine)
LINK_THRESHOLD = 0.6    # initial cosine a token needs to link to a name rather than to none


def drop_words(ids: torch.Tensor, p: float) -> torch.Tensor:
    """Word ids with a share p of the real words replaced by <unk> (training only: the caller decides)."""
    if p <= 0:
        return ids
    drop = torch.rand(ids.shape, device=ids.device) < p
    return torch.where(drop & (ids > 0), torch.full_like(ids, UNK_ID), ids)


class PieceEmbedding(nn.Module):
    """(word ids [..., L], piece ids [..., L, P]) -> token vectors [..., L, D] and piece vectors."""

    def __init__(self, n_words: int, n_pieces: int, dim: int, word_dropout: float = WORD_DROPOUT,
                 piece_dropout: float = PIECE_DROPOUT, words: bool = True, token_dropout: float = TOKEN_DROPOUT):
        super().__init__()
        self.word = nn.Embedding(n_words, dim, padding_idx=0) if words else None
        self.piece = nn.Embedding(n_pieces, dim, padding_idx=0)
        self.word_dropout, self.piece_dropout, self.token_dropout = word_dropout, piece_dropout, token_dropout

    def pieces(self, pieces: torch.Tensor, dropout: bool = True) -> torch.Tensor:
        """Mean over a word's pieces, unknown ones counted as zero vectors (so faint when few are known)."""
        if dropout and self.training and self.piece_dropout > 0:
            drop = torch.rand(pieces.shape, device=pieces.device) < self.piece_dropout
            pieces = torch.where(drop & (pieces > 0), torch.full_like(pieces, UNKNOWN_PIECE), pieces)
        known = (pieces > UNKNOWN_PIECE).unsqueeze(-1)
        total = (pieces > 0).sum(-1, keepdim=True).clamp(min=1)
        return (self.piece(pieces) * known).sum(-2) / total

    def forward(self, ids: torch.Tensor, pieces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(token vectors, piece vectors), both [..., L, D]; the piece vectors are what links compare."""
        if self.training and self.token_dropout > 0:     # the whole word unknown: read from its context
            drop = (torch.rand(ids.shape, device=ids.device) < self.token_dropout) & (ids > 0)
            ids = torch.where(drop, torch.full_like(ids, UNK_ID), ids)
            pieces = torch.where(drop.unsqueeze(-1) & (pieces > 0), torch.full_like(pieces, UNKNOWN_PIECE), pieces)
        by_pieces = self.pieces(pieces)
        if self.word is None:
            return by_pieces, by_pieces
        ids = drop_words(ids, self.word_dropout) if self.training else ids
        return self.word(ids) + by_pieces, by_pieces


class NameLinks(nn.Module):
    """Soft pointers from tokens to N names: softmax over [scale * cos(token, name)] + [none].

    Rows sum to at most 1 (the rest: the token names nothing). A learnt projection shapes the space
    the cosines are taken in; scale and the 'none' level are learnt, the latter per token (a word such
    as 'the' learns never to link)."""

    def __init__(self, dim: int, scale: float = LINK_SCALE, threshold: float = LINK_THRESHOLD):
        super().__init__()
        self.proj = nn.Linear(dim, dim, bias=False)
        nn.init.eye_(self.proj.weight)
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale)))
        self.none = nn.Linear(dim, 1)
        nn.init.zeros_(self.none.weight)
        nn.init.constant_(self.none.bias, threshold)

    def forward(self, tokens: torch.Tensor, names: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """tokens [B, L, D] (piece vectors), names [N, D], pad [B, L] (true = padding) -> links [B, L, N]."""
        t = F.normalize(self.proj(tokens), dim=-1, eps=1e-6)
        n = F.normalize(self.proj(names), dim=-1, eps=1e-6)
        scale = self.log_scale.exp()
        logits = torch.cat([t @ n.t(), self.none(t)], -1) * scale
        return logits.softmax(-1)[..., :-1] * (~pad).unsqueeze(-1).to(tokens.dtype)


def nth_linked(links: torch.Tensor, nth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The nth name mentioned, in question order: (its distribution over names [B, N], token weights
    [B, L]). A token names something with probability p_t = its links' sum; token t is the (nth+1)th
    name with probability p_t * P(exactly nth names before t), counted over the tokens before it as
    independent draws. With one-hot links this is exactly the nth named word."""
    named = links.sum(-1).clamp(max=1)                                   # [B, L]
    before = F.one_hot(torch.zeros_like(named[:, 0], dtype=torch.long), nth + 1).to(links.dtype)
    exactly_nth = []
    for t in range(links.shape[1]):
        exactly_nth.append(before[:, nth])
        p = named[:, t:t + 1]
        before = before * (1 - p) + F.pad(before[:, :-1], (1, 0)) * p  # one more name, or not
    at_nth = torch.stack(exactly_nth, 1)                                 # P(exactly nth names before t)
    return torch.einsum("bl,bln->bn", at_nth, links), at_nth * named
