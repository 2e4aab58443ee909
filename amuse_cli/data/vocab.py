"""Question vocabulary: built from the train split, saved with a run, `<pad>`=0 and `<unk>`=1."""
from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

PAD, UNK = "<pad>", "<unk>"


class Vocab:
    def __init__(self, words: Iterable[str]):
        self.words = [PAD, UNK] + sorted(set(words) - {PAD, UNK})
        self.index = {w: i for i, w in enumerate(self.words)}

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

    def unknown(self, words: list[str]) -> list[str]:
        return [w for w in words if w not in self.index]

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.words, indent=0) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "Vocab":
        words = json.loads(Path(path).read_text(encoding="utf-8"))
        v = cls([])
        v.words, v.index = words, {w: i for i, w in enumerate(words)}
        return v
