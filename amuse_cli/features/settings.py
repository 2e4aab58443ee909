"""The extraction settings (the recipe's `features:` section) and the hash that names their cache."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from amuse_cli.data.taxonomy import INSTRUMENTS

CACHE_FORMAT = 4          # bump when the files or any computation change: old caches stop matching
NOT_SETTINGS = ("cache", "device")  # where the cache lives or the tagger runs does not change what is in it


def extraction_settings(cfg: dict) -> dict:
    """Every key of `features:` that changes the cached arrays."""
    return {k: v for k, v in sorted(cfg["features"].items()) if k not in NOT_SETTINGS}


def settings_hash(settings: dict) -> str:
    """8 hex digits over the settings and the cache format."""
    blob = json.dumps({"cache_format": CACHE_FORMAT, **settings}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


def dataset_name(cfg: dict) -> str:
    return Path(cfg["data"]["root"]).resolve().name


def data_root(cfg: dict) -> str:
    return str(Path(cfg["data"]["root"]).resolve())


def cache_dir(cfg: dict) -> Path:
    """`<features.cache>/<basename of data.root>-<hash8>/`, the hash over the settings and the resolved
    data root: two datasets whose folders share a name never share a cache."""
    key = json.dumps({"settings": settings_hash(extraction_settings(cfg)), "data_root": data_root(cfg)})
    return Path(cfg["features"]["cache"]) / f"{dataset_name(cfg)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def window_hops(settings: dict) -> int:
    """A: log-mel hops per frame window (audio_window_s at hop_ms)."""
    return max(1, int(round(settings["audio_window_s"] * 1000.0 / settings["hop_ms"])))


def array_shapes(settings: dict) -> dict[str, list[int]]:
    """Shape of every cached array (the same for every video: short clips are padded)."""
    t, size, s = settings["frames"], settings["frame_size"], settings["segments"]
    return {"frames": [t, 3, size, size], "logmel": [t, settings["n_mels"], window_hops(settings)],
            "frame_mask": [t], "rhythm": [s], "bpm": [s], "sources": [s],
            "source_classes": [s, len(INSTRUMENTS)], "segment_mask": [s]}
