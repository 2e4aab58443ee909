"""From a resolved recipe to DataLoaders: annotation splits, the vocabulary, the cache, samplers.

Training batches group `train.questions_per_video` questions of one video, so the model encodes
each video once per batch (its backbones dominate the cost); the grouping is reshuffled every
epoch from (seed, epoch) alone, sharded by rank like DistributedSampler, and reproducible on resume.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.taxonomy import ANSWER_IDS, ANSWERS, TEMPLATE_IDS
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import seeding
from amuse_cli.errors import AmuseError
from amuse_cli.models.inputs import ModelSpec

MEMO_BYTES = 1 << 30  # per process (and per DataLoader worker): decoded arrays kept in memory


def split_file(cfg: dict, split: str) -> Path:
    if split not in ("train", "val", "test"):
        raise AmuseError(f"unknown split {split!r}; use train, val or test (or --annotations FILE)")
    return Path(cfg["data"]["root"]) / cfg["data"][split]


def load_split(cfg: dict, split: str | None = None, path: str | Path | None = None):
    """QA records of a split (or of an explicit file), with the recipe's strictness."""
    skipped: list[str] = []
    recs = load_annotations(path or split_file(cfg, split), strict=cfg["data"]["strict"],
                            free_text=cfg["data"]["free_text"], skipped=skipped)
    if skipped:
        print(f"warning: skipped {len(skipped)} bad records of {path or split_file(cfg, split)} "
              f"(data.strict=false); first: {skipped[0]}", flush=True)
    return recs


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
    """Adds `video`: an integer per distinct video_id, so a batch can share work between questions."""

    def __init__(self, ds):
        self.ds = ds
        ds.cache = MemoCache(ds.cache)
        ids = {}
        self.video = [ids.setdefault(ds.records[p].video_id, len(ids)) for p in ds.positions]

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        item = self.ds[i]
        item["video"] = torch.tensor(self.video[i], dtype=torch.int64)
        return item


MEDIA_KEYS = ("frames", "logmel")


class WithScenes(Dataset):
    """Items whose frames and log-mels are replaced by the model's per-video scene (`model.scene`).

    A frozen perception gives the same scene for every question of a video, so it runs once per
    video before training instead of once per question and epoch, and batches stop carrying frames.
    """

    def __init__(self, ds: WithVideo, scenes: dict[str, dict]):
        self.ds, self.scenes, self.video = ds, scenes, ds.video

    def __len__(self):
        return len(self.ds)

    def __getitem__(self, i):
        inner = self.ds.ds
        rec = inner.records[inner.positions[i]]
        item = {k: v for k, v in inner.item(i, skip=MEDIA_KEYS).items()}
        item.update(self.scenes[rec.video_id])
        item["video"] = torch.tensor(self.video[i], dtype=torch.int64)
        return item


@torch.no_grad()
def with_scenes(ds: WithVideo, model, device, batch_videos: int = 16) -> Dataset:
    """`ds` with precomputed scenes when the model reads a frozen scene (grounded head), else `ds`."""
    if not getattr(model, "grounded", False):
        return ds
    inner = ds.ds
    first: dict[str, int] = {}
    for i, p in enumerate(inner.positions):
        first.setdefault(inner.records[p].video_id, i)
    was_training = model.training
    model.eval()
    scenes = {}
    ids = list(first)
    for k in range(0, len(ids), batch_videos):
        chunk = ids[k:k + batch_videos]
        items = [inner[first[v]] for v in chunk]
        video = {key: torch.stack([it[key] for it in items]).to(device) for key in ("frames", "logmel", "frame_mask",
                                                                                    "segment_mask")}
        for key, value in model.scene(video).items():
            for v, row in zip(chunk, value.cpu()):
                scenes.setdefault(v, {})[key] = row
    model.train(was_training)
    return WithScenes(ds, scenes)


def check_videos(cfg: dict, cache, records, what: str) -> int:
    """How many of `records` have no usable video in the cache (missing or failed). Without
    data.skip_missing any is an error naming the first; with it, the count is printed (never silent)."""
    missing = [r for r in records if r.video_id not in cache]
    if not missing:
        return 0
    videos = sorted({r.video_id for r in missing})
    first = missing[0]
    why = cache.failed.get(first.video_id, "not extracted: no such file in data.videos")
    if not cfg["data"]["skip_missing"]:
        raise AmuseError(f"{len(missing)} {what} questions refer to {len(videos)} videos missing from the cache "
                         f"{cache.path}, first {first.key} (video {first.video_id}: {why}); extract or fix them, "
                         f"or skip them with data.skip_missing=true")
    print(f"warning: skipping {len(missing)} of {len(records)} {what} questions: {len(videos)} videos missing "
          f"or failed (first {first.video_id}: {why}; data.skip_missing=true)", flush=True)
    return len(missing)


def dataset(cfg: dict, records, cache, vocab: Vocab) -> WithVideo:
    from amuse_cli.data.dataset import AVQADataset
    return WithVideo(AVQADataset(records, cache, vocab, max_tokens=cfg["data"]["max_tokens"],
                                 skip_missing=cfg["data"]["skip_missing"]))


def spec(cfg: dict, cache, vocab: Vocab) -> ModelSpec:
    return ModelSpec(shapes=cache.shapes, vocab_size=len(vocab), max_tokens=cfg["data"]["max_tokens"],
                     n_answers=len(ANSWERS), n_templates=len(TEMPLATE_IDS), words=tuple(vocab.words))


class GroupedBatchSampler(Sampler):
    """Batches of `per_video` questions per video, shuffled from (seed, epoch), the rank's share only."""

    def __init__(self, videos: list[int], batch_size: int, per_video: int, seed: int, rank: int = 0,
                 world: int = 1):
        self.videos, self.batch_size, self.per_video = videos, batch_size, max(1, per_video)
        self.seed, self.rank, self.world, self.epoch = seed, rank, world, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _batches(self) -> list[list[int]]:
        """Rounds over the videos: each takes its next group; a batch holds `batch_size // per_video`
        distinct videos (a constant count keeps the encoders' input shapes few)."""
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(len(self.videos), generator=g).tolist()
        queues: dict[int, list[list[int]]] = {}
        for i in order:
            q = queues.setdefault(self.videos[i], [[]])
            if len(q[-1]) == self.per_video:
                q.append([])
            q[-1].append(i)
        per_batch = max(1, self.batch_size // self.per_video)
        batches = []
        while queues:
            vids = list(queues)
            vids = [vids[i] for i in torch.randperm(len(vids), generator=g).tolist()]
            for k in range(0, len(vids), per_batch):
                batches.append([i for v in vids[k:k + per_batch] for i in queues[v].pop(0)])
            queues = {v: q for v, q in queues.items() if q}
        batches = [batches[i] for i in torch.randperm(len(batches), generator=g).tolist()]
        n = len(batches) // self.world if self.world > 1 else len(batches)  # equal steps on every rank
        return batches[self.rank::self.world][:n]

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def loader(ds: WithVideo, batch_size: int, per_video: int, seed: int, workers: int, rank: int = 0,
           world: int = 1) -> DataLoader:
    sampler = GroupedBatchSampler(ds.video, batch_size, per_video, seed, rank, world)
    return DataLoader(ds, batch_sampler=sampler, num_workers=workers, worker_init_fn=seeding.worker_init,
                      generator=torch.Generator().manual_seed(seed), persistent_workers=False)


def eval_loader(ds: WithVideo, batch_size: int, workers: int, rank: int = 0, world: int = 1) -> DataLoader:
    """Every question once, grouped by video (shared encodings), each rank a share of the batches."""
    order = sorted(range(len(ds)), key=lambda i: ds.video[i])
    batches = [order[k:k + batch_size] for k in range(0, len(order), batch_size)][rank::world]
    return DataLoader(ds, batch_sampler=batches, num_workers=workers, worker_init_fn=seeding.worker_init)


def template_answer_ids(records) -> tuple[torch.Tensor, torch.Tensor]:
    """(template index or -1, answer index) per record: what the answer prior counts."""
    return (torch.tensor([TEMPLATE_IDS.get(r.template, -1) for r in records]),
            torch.tensor([ANSWER_IDS[r.answer] for r in records]))
