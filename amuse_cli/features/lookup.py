"""The feature cache a recipe needs: `open_cache(cfg)`, or an error with the command that builds it.

The cache is the one `amuse extract-features` writes for exactly these settings (its folder name
holds their hash); anything else (missing, incomplete, other settings) is refused with the command
that builds the right one. Arrays are read per video through a memory map, so memory does not grow
with the dataset.
"""
from __future__ import annotations

import shlex
from pathlib import Path

import numpy as np
import yaml

from amuse_cli import config
from amuse_cli.errors import AmuseError
from amuse_cli.features import cache as store
from amuse_cli.features.settings import (CACHE_FORMAT, cache_dir, data_root, dataset_name, extraction_settings,
                                         settings_hash)
from amuse_cli.paths import DEFAULT_RECIPE


def _override(key: str, value) -> str:
    """`key=value` as one shell word that parse_overrides reads back as `value`."""
    text = yaml.dump(value, Dumper=config.RecipeDumper, default_flow_style=True, width=1 << 30).strip()
    if text.endswith("\n..."):  # the end-of-document marker after a plain scalar
        text = text[:-len("\n...")]
    return shlex.quote(f"{key}={text}")


def build_command(cfg: dict) -> str:
    """The `amuse extract-features` command that builds cfg's cache, ready to paste: the recipe the
    command line named (config.SOURCE); without one (a run folder's config.yaml, reloaded by `amuse eval`)
    recipes/<name>.yaml, else the default recipe. data.root and features.cache are always spelled out,
    and so is every other data/features setting in which cfg differs from that recipe."""
    recipe = cfg.get(config.SOURCE)
    if recipe is None:
        named = Path("recipes") / f"{cfg['name']}.yaml"
        recipe = str(named) if named.is_file() or not Path(DEFAULT_RECIPE).is_file() else DEFAULT_RECIPE
    words = ["amuse", "extract-features", shlex.quote(str(recipe)),
             _override("data.root", cfg["data"]["root"]), _override("features.cache", cfg["features"]["cache"])]
    try:
        raw = config.read_recipe(recipe)
    except AmuseError:
        raw = None  # the recipe is gone or broken: the two paths are all we can say
    for section in ("data", "features") if raw is not None else ():
        base = {**config.DEFAULTS[section], **(raw.get(section) if isinstance(raw.get(section), dict) else {})}
        words += [_override(f"{section}.{k}", v) for k, v in cfg[section].items()
                  if k not in ("root", "cache") and base.get(k) != v]
    return " ".join(words)


class FeatureCache:
    """A finished cache: its manifest, array shapes, and per-video arrays by video_id."""

    def __init__(self, path: Path, manifest: dict):
        self.path, self.manifest = path, manifest
        self.shapes = manifest["shapes"]
        self.settings = manifest["settings"]
        self.videos = {v: r for v, r in manifest["videos"].items() if r.get("status") == "ok"}
        self.failed = {v: r.get("reason", "") for v, r in manifest["videos"].items() if r.get("status") != "ok"}

    def __contains__(self, video_id: str) -> bool:
        return video_id in self.videos

    def arrays(self, video_id: str) -> dict[str, np.ndarray]:
        if video_id not in self.videos:
            why = self.failed.get(video_id, "not in the dataset's videos/ folder when the cache was built")
            raise AmuseError(f"video {video_id} is not in the cache {self.path} ({why})")
        return store.read_video(self.path, video_id)


def _differences(manifest: dict, b: dict) -> str:
    """What differs between a cache's manifest and the settings wanted: settings, else the format."""
    a = manifest.get("settings") or {}
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if not keys:   # the same settings, computed by another version of the extraction
        return f"cache format {manifest.get('cache_format', 'unknown')}; this version reads format {CACHE_FORMAT}"
    return ", ".join(f"features.{k}={b.get(k)!r} (cache has {a.get(k)!r})" for k in keys[:4])


def open_cache(cfg: dict) -> FeatureCache:
    """The cache matching cfg's `features:` and data.root, or AmuseError with the command to build it."""
    path = cache_dir(cfg)
    settings = extraction_settings(cfg)
    cmd = build_command(cfg)
    manifest = store.read_manifest(path)
    if manifest is None:
        others = sorted(Path(cfg["features"]["cache"]).glob(f"{dataset_name(cfg)}-*/{store.MANIFEST}"))
        for other in others:
            old = store.read_manifest(other.parent) or {}
            if old.get("settings") and old.get("data_root") == data_root(cfg):
                raise AmuseError(f"the cache {other.parent} was built with other settings "
                                 f"({_differences(old, settings)}); build one for this recipe: {cmd}")
        raise AmuseError(f"no feature cache at {path}; build it: {cmd}")
    if manifest.get("settings_hash") != settings_hash(settings) or manifest.get("settings") != settings:
        raise AmuseError(f"the cache {path} was built with other settings "
                         f"({_differences(manifest, settings)}); rebuild it: {cmd}")
    if not manifest.get("complete"):
        done = len(manifest.get("videos", {}))
        raise AmuseError(f"the cache {path} is incomplete ({done} videos recorded; the run was interrupted); "
                         f"resume it: {cmd}")
    return FeatureCache(path, manifest)
