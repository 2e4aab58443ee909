"""From a resolved recipe to torch Datasets: the cached arrays per question, the video index a batch
shares work by, and precomputed scenes for a frozen perception (splits: engine/splits.py).

A v2.0 `unmatch_audio` question plays another video's sound over this video's frames: its item
takes the frames from its own video and every audio-derived array (AUDIO_ARRAYS) from the named
one, and both videos must be cached.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from amuse_cli.data.taxonomy import ANSWER_IDS, ANSWERS, TEMPLATE_IDS
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine.splits import FLIP, load_split, split_file  # noqa: F401 (the last two: their old home)
from amuse_cli.errors import AmuseError
from amuse_cli.features.lookup import FeatureCache
from amuse_cli.models.inputs import ModelSpec
from amuse_cli.models.sentence import record_text, sentence_table

FLOAT32 = ("logmel",)  # float16 on disk, float32 for the model
MEMO_BYTES = 1 << 30  # per process (and per DataLoader worker): decoded arrays kept in memory
# Arrays computed from the soundtrack (features/extract.py), with the mask of the label segments
# they fill: an unmatch_audio question reads these from the video whose audio it plays.
AUDIO_ARRAYS = ("logmel", "rhythm", "bpm", "sources", "source_classes", "segment_mask")


class MemoCache:
    """A feature cache whose per-video arrays stay in memory (LRU, bounded): questions of a video
    are read together, and a demo-size cache fits in RAM whole."""

    def __init__(self, cache, budget_bytes: int = MEMO_BYTES):
        self.cache, self.budget, self.used = cache, budget_bytes, 0
        self.memo: OrderedDict[str, dict] = OrderedDict()

    def __getattr__(self, name):
        return getattr(self.cache, name)

    def __contains__(self, video_id) -> bool:
        return video_id in self.cache

    def arrays(self, video_id: str) -> dict:
        if video_id in self.memo:
            self.memo.move_to_end(video_id)
            return self.memo[video_id]
        arrays = {k: np.array(v) for k, v in self.cache.arrays(video_id).items()}  # copy out of the mmap
        self.memo[video_id] = arrays
        self.used += sum(a.nbytes for a in arrays.values())
        while self.used > self.budget and len(self.memo) > 1:
            _, old = self.memo.popitem(last=False)
            self.used -= sum(a.nbytes for a in old.values())
        return arrays


class WithVideo(Dataset):
    """Adds `video`: an integer per distinct (frames, audio) pair of video ids, so a batch can share
    work between questions that see and hear the same thing."""

    def __init__(self, ds):
        self.ds = ds
        ids = {}
        self.video = [ids.setdefault(media_key(ds.records[p]), len(ids)) for p in ds.positions]

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        item = self.ds[i]
        item["video"] = torch.tensor(self.video[i], dtype=torch.int64)
        return item


def media_key(rec) -> tuple[str, str]:
    """What a question sees and hears: (its video, the video of its audio)."""
    return rec.video_id, rec.audio_id


MEDIA_KEYS = ("frames", "logmel")


class WithScenes(Dataset):
    """Items whose frames and log-mels are replaced by the model's per-video scene (`model.scene`).

    A frozen perception gives the same scene for every question of a video, so it runs once per
    video before training instead of once per question and epoch, and batches stop carrying frames.
    """

    def __init__(self, ds: WithVideo, scenes: dict[tuple, dict], keep_media: bool = False):
        self.ds, self.scenes, self.video = ds, scenes, ds.video
        self.skip = () if keep_media else MEDIA_KEYS     # gated models with region tokens still read frames

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        inner = self.ds.ds
        rec = inner.records[inner.positions[i]]
        item = {k: v for k, v in inner.item(i, skip=self.skip).items()}
        item.update(self.scenes[media_key(rec)])
        item["video"] = torch.tensor(self.video[i], dtype=torch.int64)
        return item


@torch.no_grad()
def with_scenes(ds: WithVideo, model, device, batch_videos: int = 16) -> Dataset:
    """`ds` with what a frozen part of the model computes per video (`model.video_inputs`: the grounded
    head's scene, the gated model's region tokens), computed once per video; else `ds`."""
    grounded = getattr(model, "grounded", False)
    if not grounded and getattr(model, "regions", None) is None:
        return ds
    inner = ds.ds
    first: dict[tuple, int] = {}
    for i, p in enumerate(inner.positions):
        first.setdefault(media_key(inner.records[p]), i)
    was_training = model.training
    model.eval()
    scenes = {}
    ids = list(first)
    for k in range(0, len(ids), batch_videos):
        chunk = ids[k:k + batch_videos]
        items = [inner[first[v]] for v in chunk]
        video = {key: torch.stack([it[key] for it in items]).to(device) for key in ("frames", "logmel", "frame_mask",
                                                                                    "segment_mask")}
        for key, value in model.video_inputs(video).items():
            for v, row in zip(chunk, value.cpu()):
                scenes.setdefault(v, {})[key] = row
    model.train(was_training)
    return WithScenes(ds, scenes, keep_media=not grounded)


def _not_cached(cache, rec) -> list[str]:
    return [v for v in rec.videos if v not in cache]


def why_missing(cache, rec) -> str:
    """`video X: reason` for the first of the record's videos the cache lacks, with the fix for a mirror."""
    video = _not_cached(cache, rec)[0]
    role = " (its unmatch_audio: the question plays that video's sound)" if video == rec.audio_from else ""
    why = cache.failed.get(video, "not extracted: no such file in data.videos")
    if video.endswith(FLIP) and video not in cache.failed:
        why += (f"; {video} is v2.0's mirrored copy of {video[:-len(FLIP)]}, made at extraction when an "
                f"annotation file of the recipe names it: run extract-features with recipes/music-avqa-v2.yaml "
                f"(or a recipe whose data.train/val/test name it)")
    return f"video {video}{role}: {why}"


def check_videos(cfg: dict, cache, records, what: str) -> int:
    """How many of `records` lack a usable video in the cache (theirs or the one whose audio they
    play: missing or failed). Without data.skip_missing any is an error naming the first; with it,
    the count is printed (never silent)."""
    missing = [r for r in records if _not_cached(cache, r)]
    if not missing:
        return 0
    videos = sorted({v for r in missing for v in _not_cached(cache, r)})
    first = missing[0]
    if not cfg["data"]["skip_missing"]:
        raise AmuseError(f"{len(missing)} {what} questions refer to {len(videos)} videos missing from the cache "
                         f"{cache.path}, first {first.key} ({why_missing(cache, first)}); extract or fix them, "
                         f"or skip them with data.skip_missing=true")
    print(f"warning: skipping {len(missing)} of {len(records)} {what} questions: {len(videos)} videos missing "
          f"or failed (first {why_missing(cache, first)}; data.skip_missing=true)", flush=True)
    return len(missing)


def dataset(cfg: dict, records, cache, vocab: Vocab) -> WithVideo:
    """The recipe's dataset over `records`, a video's arrays kept in memory while its questions are read
    (with model.sentence, each question's sentence vector, kept beside the feature cache)."""
    sentences = sentence_table(cfg["model"].get("sentence", "none"), [record_text(r) for r in records],
                               Path(cache.path) / "sentences")
    return WithVideo(AVQADataset(records, MemoCache(cache), vocab, max_tokens=cfg["data"]["max_tokens"],
                                 skip_missing=cfg["data"]["skip_missing"], sentences=sentences))


def spec(cfg: dict, shapes: dict, vocab: Vocab) -> ModelSpec:
    """What a model is built for: the cached arrays' shapes (`cache.shapes`, or `array_shapes(settings)`
    where no cache exists, as in `amuse predict`), the vocabulary and the answer set."""
    return ModelSpec(shapes=shapes, vocab_size=len(vocab), max_tokens=cfg["data"]["max_tokens"],
                     n_answers=len(ANSWERS), n_templates=len(TEMPLATE_IDS), words=tuple(vocab.words), vocab=vocab)


class AVQADataset(Dataset):
    """One item per QA record: the video's cached arrays plus question, answer and template ids.

    Records whose video is not cached raise AmuseError naming it, unless skip_missing=True (then
    they are dropped and counted in `self.skipped`). `sentences` (models/sentence.py's table: a row
    per record, the vectors) adds each question's `sentence` vector.
    """

    def __init__(self, records, cache: FeatureCache | MemoCache, vocab, max_tokens: int = 14,
                 skip_missing: bool = False, sentences=None):
        self.cache, self.vocab, self.max_tokens, self.sentences = cache, vocab, max_tokens, sentences
        missing = [r for r in records if _not_cached(cache, r)]
        if missing and not skip_missing:
            r = missing[0]
            raise AmuseError(f"{len(missing)} questions refer to videos missing from the cache {cache.path}, "
                             f"first {r.key} ({why_missing(cache, r)}); fix or remove those videos, "
                             f"or skip them (skip_missing)")
        self.positions = [i for i, r in enumerate(records) if not _not_cached(cache, r)]
        self.records = records
        self.skipped = len(missing)

    def __len__(self) -> int:
        return len(self.positions)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return self.item(i)

    def media(self, rec, skip: tuple[str, ...] = ()) -> dict:
        """The cached arrays a question reads: its video's, with the audio-derived ones from the
        video its unmatch_audio names."""
        if len(skip) >= len(self.cache.shapes):
            return {}
        arrays = self.cache.arrays(rec.video_id)
        if rec.audio_from is not None:
            heard = self.cache.arrays(rec.audio_from)
            arrays = {**arrays, **{k: heard[k] for k in AUDIO_ARRAYS if k in heard}}
        return arrays

    def item(self, i: int, skip: tuple[str, ...] = ()) -> dict[str, torch.Tensor]:
        """Item i without the arrays named in `skip` (they are then not even read)."""
        index = self.positions[i]
        rec = self.records[index]
        item = {}
        for k, v in self.media(rec, skip).items():
            if k not in self.cache.shapes or k in skip:
                continue
            item[k] = torch.from_numpy(v.astype(np.float32) if k in FLOAT32 else v)
        item["question"] = torch.tensor(self.vocab.encode(rec.tokens, self.max_tokens), dtype=torch.int64)
        item["pieces"] = torch.tensor(self.vocab.encode_pieces(rec.tokens, self.max_tokens), dtype=torch.int64)
        item["answer"] = torch.tensor(ANSWER_IDS[rec.answer], dtype=torch.int64)
        item["template"] = torch.tensor(TEMPLATE_IDS.get(rec.template, -1), dtype=torch.int64)
        item["index"] = torch.tensor(index, dtype=torch.int64)
        if self.sentences is not None:
            rows, vectors = self.sentences
            item["sentence"] = vectors[rows[index]]
        return item
