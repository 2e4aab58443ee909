"""Question vocabulary, built from the train split and saved with a run (`vocab.json`): the words
(`<pad>`=0, `<unk>`=1) and the pieces a word is read by.

Why pieces: a rephrasing never seen in training asks with words the word list lacks ("audible",
"violins"); most of their character n-grams are known ("<au", "ible>", "violi"), so a model can
still read them (models/pieces.py) where a word id alone gives `<unk>`. Pieces are fastText's: the
lower-cased word between boundary marks, cut into every n-gram with n = 3..5, plus the whole marked
word. The piece list holds the n-grams of the train split's words and of the names answers and
placeholders use (taxonomy: instruments, left/middle/right, leftest/rightest, ...), which a model
binds question words to; an n-gram found in neither gets UNKNOWN_PIECE, which models read as zero.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from amuse_cli.data.taxonomy import ANSWERS, PLACEHOLDERS

PAD, UNK = "<pad>", "<unk>"
UNKNOWN_PIECE = 1        # piece id of an n-gram the train split never shows (0 pads)
NGRAMS = (3, 5)          # shortest and longest piece, in characters, boundary marks included
MAX_PIECES = 48          # pieces kept per word: "acoustic_guitar" has 43; longer words lose their last
NAMES = tuple(dict.fromkeys(w for a in ANSWERS for w in a.split())) + tuple(
    dict.fromkeys(v for values in PLACEHOLDERS.values() for v in values))


def word_pieces(word: str, ngrams: tuple[int, int] = NGRAMS) -> list[str]:
    """'Violin' -> ['<vi', 'vio', ..., 'olin>', '<violin>']: n-grams of '<violin>', then the whole."""
    marked = f"<{word.lower()}>"
    grams = [marked[i:i + n] for n in range(ngrams[0], ngrams[1] + 1) for i in range(len(marked) - n + 1)]
    return list(dict.fromkeys(grams + [marked]))


class Vocab:
    def __init__(self, words: Iterable[str], pieces: Iterable[str] | None = None,
                 ngrams: tuple[int, int] = NGRAMS, max_pieces: int = MAX_PIECES):
        self.words = [PAD, UNK] + sorted(set(words) - {PAD, UNK})
        self.index = {w: i for i, w in enumerate(self.words)}
        self.ngrams, self.max_pieces = tuple(ngrams), max_pieces
        if pieces is None:      # the words' own pieces and the names'
            pieces = {p for w in self.words[2:] + list(NAMES) for p in word_pieces(w, self.ngrams)}
        self.pieces = [PAD, UNK] + sorted(set(pieces) - {PAD, UNK})
        self.piece_index = {p: i for i, p in enumerate(self.pieces)}
        self._read: dict[str, list[int]] = {}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, records) -> "Vocab":
        return cls(w for r in records for w in r.tokens)

    def encode(self, words: list[str], length: int | None = None) -> list[int]:
        """Word ids, padded (or cut) to `length` when given."""
        ids = [self.index.get(w, 1) for w in words]
        if length is not None:
            ids = (ids + [0] * length)[:length]
        return ids

    def piece_ids(self, word: str) -> list[int]:
        """`max_pieces` ids of the word's pieces (UNKNOWN_PIECE for one the vocabulary lacks), 0-padded."""
        if word not in self._read:      # a dataset reads the same few hundred words every epoch
            ids = [self.piece_index.get(p, UNKNOWN_PIECE) for p in word_pieces(word, self.ngrams)][:self.max_pieces]
            self._read[word] = ids + [0] * (self.max_pieces - len(ids))
        return list(self._read[word])

    def encode_pieces(self, words: list[str], length: int | None = None) -> list[list[int]]:
        """[words][max_pieces] piece ids, padded (or cut) to `length` words when given."""
        rows = [self.piece_ids(w) for w in words]
        if length is not None:
            rows = (rows + [[0] * self.max_pieces] * length)[:length]
        return rows

    def unknown(self, words: list[str]) -> list[str]:
        return [w for w in words if w not in self.index]

    def save(self, path: str | Path) -> None:
        body = {"words": self.words, "pieces": {"ngrams": list(self.ngrams), "max_per_word": self.max_pieces,
                                                "list": self.pieces}}
        Path(path).write_text(json.dumps(body, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        """A run's vocabulary; a file of an earlier version (a bare word list) gets its words' pieces."""
        body = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(body, list):
            body = {"words": body}
        words, pieces = body["words"], body.get("pieces") or {}
        v = cls(words[2:], pieces.get("list"), tuple(pieces.get("ngrams", NGRAMS)),
                pieces.get("max_per_word", MAX_PIECES))
        v.words, v.index = words, {w: i for i, w in enumerate(words)}   # ids exactly as saved
        if "list" in pieces:
            v.pieces, v.piece_index = pieces["list"], {p: i for i, p in enumerate(pieces["list"])}
        return v
