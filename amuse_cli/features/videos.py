"""Which videos a dataset has: its video folders (`data.videos`, one or several), and the mirrored
copies its annotations ask for.

MUSIC-AVQA ships its videos in more than one folder (the real recordings and the synthetic ones of
the original release); v2.0's annotations also name `<id>_flip` videos, a horizontally flipped copy
of `<id>` made for its balanced left/right questions and not always shipped as a file. Where no file
of that name exists, the copy is made at extraction from `<id>` by mirroring its frames (the cache
holds mono audio, so the copy's sound is the original's). The copy is made whenever an annotation
file of the recipe names it, whichever folder of this run or of an earlier run into the same cache
holds `<id>`. v2.0 clips cut from one YouTube video are named `<id>_#02` ... (data/v2clips.py); their
flips `<id>_#02_flip`. A question's videos include the one its `unmatch_audio` names.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from amuse_cli.errors import AmuseError

VIDEO_SUFFIXES = (".mp4", ".mkv", ".webm", ".mov", ".avi")
FLIP_SUFFIX = "_flip"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class VideoSource:
    """Where a video_id's features come from: a file, mirrored horizontally when `flip`."""
    path: Path
    flip: bool = False


def video_folders(cfg: dict) -> list[Path]:
    """data.videos (a folder name or a list of them) under data.root."""
    names = cfg["data"]["videos"]
    names = [names] if isinstance(names, str) else list(names or [])
    if not names:
        raise AmuseError("data.videos is empty; give the videos folder (or a list: data.videos=[Real,Synthetic])")
    return [Path(cfg["data"]["root"]) / n for n in names]


def find_video(folders: list[Path], video_id: str) -> Path | None:
    """The file of video_id in the first folder holding it, with any known suffix."""
    for folder in folders:
        for suffix in VIDEO_SUFFIXES:
            path = folder / f"{video_id}{suffix}"
            if path.is_file():
                return path
    return None


def video_source(folders: list[Path], video_id: str) -> VideoSource:
    """The file of one video_id (any known suffix), or `<id>`'s mirrored for an `<id>_flip` with no
    file of its own; AmuseError naming the folders otherwise."""
    path = find_video(folders, video_id)
    if path is not None:
        return VideoSource(path)
    if video_id.endswith(FLIP_SUFFIX):
        base = find_video(folders, video_id[:-len(FLIP_SUFFIX)])
        if base is not None:
            return VideoSource(base, flip=True)
    raise AmuseError(f"video {video_id} not found in {', '.join(map(str, folders))} "
                     f"(looked for {'/'.join(VIDEO_SUFFIXES)}); check --videos")


def _files(folders: list[Path], cfg: dict) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in folders:
        if not folder.is_dir():
            raise AmuseError(f"videos folder {folder} not found; set data.root (or --data) to a dataset holding "
                             f"{folder.name}/, or run `amuse synth --out {cfg['data']['root']}`")
        for p in sorted(folder.iterdir()):
            if p.suffix.lower() not in VIDEO_SUFFIXES or not p.is_file():
                continue
            if p.stem in found and found[p.stem].parent != p.parent:
                raise AmuseError(f"video {p.stem} is in two folders ({found[p.stem]} and {p}); "
                                 f"keep one, or list only one folder in data.videos")
            found.setdefault(p.stem, p)
    if not found:
        raise AmuseError(f"no videos ({', '.join(VIDEO_SUFFIXES)}) in {', '.join(map(str, folders))}; "
                         f"check data.root / data.videos")
    return found


def annotation_files(cfg: dict) -> dict[str, Path]:
    """The recipe's annotation file per split (data.val: null carves val from train: no file)."""
    return {split: Path(cfg["data"]["root"]) / cfg["data"][split] for split in SPLITS if cfg["data"][split]}


def missing_annotation_files(cfg: dict) -> list[str]:
    """One line per annotation file of the recipe that does not exist."""
    return [f"data.{split}: annotation file {path} not found; download it (docs/real-data.md) or set "
            f"data.{split}=<file under data.root>" for split, path in annotation_files(cfg).items()
            if not path.is_file()]


def annotation_video_ids(cfg: dict) -> set[str]:
    """Every video_id the recipe's train/val/test files name, with the videos whose audio their
    `unmatch_audio` records play (files that do not exist are skipped)."""
    from amuse_cli.data.annotations import UNMATCH_KEY
    ids: set[str] = set()
    for split, path in annotation_files(cfg).items():
        if not path.is_file():
            continue
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise AmuseError(f"{path}: unreadable annotations ({e}); fix the file or data.{split}") from None
        for r in rows if isinstance(rows, list) else ():
            if isinstance(r, dict):
                ids.update(str(r[k]) for k in ("video_id", UNMATCH_KEY) if r.get(k) not in (None, ""))
    return ids


def flip_base(video_id: str) -> str | None:
    return video_id[:-len(FLIP_SUFFIX)] if video_id.endswith(FLIP_SUFFIX) else None


def list_videos(cfg: dict, earlier: list[Path] = ()) -> dict[str, VideoSource]:
    """video_id -> its source, sorted by id: every file of every folder, plus each `<id>_flip` the
    annotations name that has no file but whose `<id>` has one, in these folders or in `earlier`
    ones (folders an earlier run extracted into the same cache)."""
    files = _files(video_folders(cfg), cfg)
    videos = {v: VideoSource(p) for v, p in files.items()}
    earlier = [Path(f) for f in earlier if Path(f).is_dir()]
    for vid in annotation_video_ids(cfg):
        base = flip_base(vid)
        if base is None or vid in files:
            continue
        path = files.get(base) or find_video(earlier, base)
        if path is not None and find_video(earlier, vid) is None:
            videos[vid] = VideoSource(path, flip=True)
    return dict(sorted(videos.items()))
