"""A recipe's annotation splits: the train/val/test files, and where a release ships no val file
(v2.0; `data.val: null`) a val split carved from the train file by video.

The carve keeps together what must not sit on both sides: a video and its `<id>_flip` mirror (one
performance; with the original in train and its mirror in val, val would grade a near-copy of a
training video) and the two videos an `unmatch_audio` question joins. Groups ordered by a seeded
hash of their ids go to val until the fraction of videos is reached, so the same train file gives
the same val videos every time, for every training seed; the run records them in val-split.json.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.releases import file_sha256
from amuse_cli.errors import AmuseError, ConfigError

VAL_FRACTION = 0.1   # data.val: null and no data.val_fraction: this share of the train videos is val
VAL_SEED = 0         # ... chosen by this seed (data.val_seed): the same videos for every training seed
FLIP = "_flip"   # v2.0: <id>_flip is <id> mirrored left-right


def split_file(cfg: dict, split: str) -> Path:
    if split not in ("train", "val", "test"):
        raise AmuseError(f"unknown split {split!r}; use train, val or test (or --annotations FILE)")
    if not cfg["data"][split]:
        raise AmuseError(f"data.{split} is null: no file; for val that means carved from data.train "
                         f"(datasets.train_val)")
    return Path(cfg["data"]["root"]) / cfg["data"][split]


def _load(cfg: dict, path: Path):
    skipped: list[str] = []
    recs = load_annotations(path, strict=cfg["data"]["strict"], free_text=cfg["data"]["free_text"], skipped=skipped)
    if skipped:
        print(f"warning: skipped {len(skipped)} bad records of {path} (data.strict=false); first: {skipped[0]}",
              flush=True)
    return recs


def carves_val(cfg: dict) -> bool:
    """data.val: null: the release ships no validation file (v2.0), so val is carved from train."""
    return not cfg["data"]["val"]


def load_split(cfg: dict, split: str | None = None, path: str | Path | None = None):
    """QA records of a split (or of an explicit file), with the recipe's strictness; with data.val:
    null, train and val are the two parts of the train file (train_val)."""
    if path is None and split in ("train", "val") and carves_val(cfg):
        train, val, _ = train_val(cfg)
        return train if split == "train" else val
    return _load(cfg, Path(path) if path else split_file(cfg, split))


def train_val(cfg: dict) -> tuple[list, list, dict | None]:
    """(train records, val records, how val was carved or None when data.val names a file)."""
    if not carves_val(cfg):
        return load_split(cfg, "train"), load_split(cfg, "val"), None
    path = split_file(cfg, "train")
    fraction = cfg["data"].get("val_fraction")
    seed = cfg["data"].get("val_seed")
    fraction = VAL_FRACTION if fraction is None else fraction
    seed = VAL_SEED if seed is None else seed
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise ConfigError(f"data.val_fraction={fraction!r}: the share of train videos carved out as val; "
                          f"give a number between 0 and 1, e.g. data.val_fraction=0.1")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"data.val_seed={seed!r} must be an integer, e.g. data.val_seed=0")
    train, val, info = carve_val(_load(cfg, path), float(fraction), seed)
    return train, val, {"carved_from": str(path), "sha256": file_sha256(path), **info}


def _scene(video_id: str) -> str:
    """v2.0's `<id>_flip` is `<id>` mirrored: one scene, which must not sit in two splits."""
    return video_id[:-len(FLIP)] if video_id.endswith(FLIP) else video_id


def video_groups(records) -> dict[str, set[str]]:
    """Videos that must share a split, keyed by their smallest scene id: a video with its `_flip`
    mirror, and the videos an unmatch_audio question joins (its frames' and its audio's)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for r in records:
        first, *others = (_scene(v) for v in r.videos)
        for other in others:
            a, b = find(first), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
        find(first)
    groups: dict[str, set[str]] = {}
    for r in records:
        for v in r.videos:
            groups.setdefault(find(_scene(v)), set()).add(v)
    return groups


def _rank(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def carve_val(records, fraction: float, seed: int) -> tuple[list, list, dict]:
    """Split `records` by video: groups (video_groups) ordered by a seeded hash of their key go to
    val until `fraction` of the videos are there. The hash of the ids, not a shuffle over the file's
    order, decides: the same train videos and seed give the same val videos every time, whatever
    the order of the records and whatever the training seed."""
    groups = video_groups(records)
    total = sum(len(g) for g in groups.values())
    want, val_videos = fraction * total, set()
    for key in sorted(groups, key=lambda k: _rank(seed, k)):
        if len(val_videos) >= want:
            break
        val_videos |= groups[key]
    val = [r for r in records if r.video_id in val_videos]
    train = [r for r in records if r.video_id not in val_videos]
    info = {"fraction": fraction, "seed": seed,
            "rule": "videos grouped with their _flip mirror and any unmatch_audio partner; groups ordered by "
                    "sha256(f'{seed}:{group}') go to val until the fraction of videos is reached",
            "videos": {"train": total - len(val_videos), "val": len(val_videos)},
            "questions": {"train": len(train), "val": len(val)}, "val_videos": sorted(val_videos)}
    return train, val, info
