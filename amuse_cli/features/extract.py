"""One video -> the arrays of docs/INTERFACES.md section 2 (frames, log-mel windows, segment labels)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from amuse_cli import media, registry
from amuse_cli.errors import AmuseError
from amuse_cli.features import logmel, rhythm
from amuse_cli.features.settings import window_hops
from amuse_cli.features.sources import empty_labels
from amuse_cli.features.truth import segment_truth


def source_labeler(settings: dict):
    return registry.get("source_labeler", settings["source_method"], "features.source_method")(settings)


def check_settings(settings: dict) -> None:
    """Fail before any work on what no video can fix: the labeler method and the tagger weights."""
    source_labeler(settings)


def extract_with_info(path: str | Path, settings: dict, meta: dict | None = None,
                      strict_sources: bool = True, flip: bool = False) -> tuple[dict, dict]:
    """Arrays for one video plus what the manifest records about it (durations, audio, truth).

    strict_sources=False: a labeler that needs ground truth gives zeros when there is none.
    flip: the video mirrored left-right (v2.0's `<id>_flip` made from `<id>`; the audio is mono).
    """
    labeler = source_labeler(settings)
    sr = settings["sample_rate"]
    clip = media.decode(path, settings["frames"], settings["frame_size"], sr, settings["clip_seconds"])
    if flip:
        clip.frames = np.ascontiguousarray(clip.frames[..., ::-1])     # [T, 3, H, W]: mirror W
    no_truth = getattr(labeler, "needs_meta", False) and meta is None
    if no_truth and strict_sources:
        raise AmuseError(f"features.source_method={settings['source_method']} needs the synthetic ground "
                         f"truth (meta/<video_id>.json) for {path}; on real videos use "
                         f"features.source_method=tagger features.tagger_weights=<Cnn14 .pth>")
    windows = logmel.windows_at(clip.audio, clip.frame_times, settings, window_hops(settings))
    # Label segments stop where the video stops: padding past its end carries no rhythm.
    bounds, seg_mask = rhythm.segment_bounds(min(clip.duration, clip.video_duration),
                                             settings["segment_seconds"], settings["segments"])
    bpm = rhythm.estimate_bpm(clip.audio, sr, bounds, seg_mask)
    counts, levels = (empty_labels(len(bounds)) if no_truth
                      else labeler(clip.audio, sr, bounds, seg_mask, meta))
    arrays = {
        "frames": clip.frames,
        "logmel": windows.astype(np.float16),
        "frame_mask": clip.frame_mask,
        "rhythm": rhythm.change_labels(bpm, seg_mask, settings["rhythm_theta"]),
        "bpm": bpm,
        "sources": counts.astype(np.float32),
        "source_classes": levels.astype(np.float32),
        "segment_mask": seg_mask,
    }
    info = {"duration": round(clip.duration, 3), "video_duration": round(clip.video_duration, 3),
            "has_audio": clip.has_audio, "segments": int(seg_mask.sum())}
    if meta is not None:
        truth = segment_truth(meta, bounds, seg_mask, settings["rhythm_theta"])
        valid = seg_mask
        said, true = arrays["rhythm"][valid] > 0, truth["rhythm"][valid] > 0
        info["truth"] = {
            "rhythm_agree": int(np.sum(truth["rhythm"][valid] == arrays["rhythm"][valid])),
            "rhythm_tp": int(np.sum(said & true)), "rhythm_fp": int(np.sum(said & ~true)),
            "rhythm_fn": int(np.sum(~said & true)),
            "bpm_abs_err": float(np.sum(np.abs(truth["bpm"][valid] - bpm[valid]))),
            "sources_agree": int(np.sum(truth["sources"][valid] == arrays["sources"][valid])),
            "bpm_true": [round(float(b), 2) for b in truth["bpm"][valid]],
        }
    return arrays, info


def extract_video(path: str | Path, settings: dict, meta: dict | None = None,
                  flip: bool = False) -> dict[str, np.ndarray]:
    """The cached arrays of one video (as `amuse predict` needs them), shapes from settings.array_shapes.

    Source labels are training targets only, so without ground truth the `meta` labeler gives zeros
    here instead of failing (the cache, built for training, does fail).
    """
    return extract_with_info(path, settings, meta, strict_sources=False, flip=flip)[0]
