"""`amuse pretrain`: fit the visual and audio streams and their scene heads on frame-level truth.

The paper starts from ImageNet/AudioSet-pretrained Swin-V2/HTS-AT and trains only adapters, norms
and heads on QA. amuse-tiny has no such weights, and 2,000 QA answers cannot teach 22 timbres and
looks from scratch, so its streams are pretrained here on a *separate* synthetic set (other seeds,
no QA): per frame, which class stands in each image column and whether it plays, per log-mel
window which classes are heard, how loudly, with how many onsets and at what pitch, the
voice-over and the background (features.truth.scene_truth). The result is one small file that
`model.weights=<file>` loads; QA training then keeps it frozen (norms aside for the gated head).
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from amuse_cli.engine import checkpoint, seeding
from amuse_cli.errors import AmuseError
from amuse_cli.features.lookup import open_cache
from amuse_cli.features.truth import box_truth, first_meta, read_meta, scene_truth
from amuse_cli.models.amuse import PERCEPTION, preset
from amuse_cli.models.inputs import audio_images
from amuse_cli.models.perception import (AudioSceneHead, VisualSceneHead, audio_loss, audio_map, head_logits,
                                         pooled, scene_loss, stream_maps)
from amuse_cli.models.swin import SwinStream, build_swin

VAL_FRACTION = 0.1   # videos held out to report how well each part is learnt
WINDOW_BATCH = 64    # log-mel windows per step when the audio head is refit alone


def read_perception_file(path: str) -> dict:
    from amuse_cli.models.amuse import read_perception
    return read_perception(path) or {}


def open_set(cfg: dict):
    """The cache of the pretraining set (pretrain.root), checked to have frame-level ground truth."""
    root = Path(cfg["pretrain"]["root"])
    if not (root / cfg["data"]["meta"]).is_dir():
        raise AmuseError(f"pretrain.root={root} has no {cfg['data']['meta']}/ ground truth; make the set: "
                         f"amuse synth --out {root} --videos 500 --seed 1 --questions-per-video 1")
    return open_cache({**cfg, "data": {**cfg["data"], "root": str(root)}})


def load_set(cfg: dict, columns: int, image_size: int) -> dict[str, torch.Tensor]:
    """Frames (resized once to the stream's size), log-mels and scene truth of every cached video."""
    cache, root = open_set(cfg), Path(cfg["pretrain"]["root"])
    frames = cache.shapes["frames"][0]
    out = {k: [] for k in ("frames", "logmel", "frame_mask", "cols", "classes", "glob")}
    for video_id in sorted(cache.videos):
        arrays = cache.arrays(video_id)
        img = torch.from_numpy(np.array(arrays["frames"]))
        if img.shape[-1] != image_size:  # what SwinStream.prepare would do per batch, done once
            img = F.interpolate(img.float(), size=(image_size, image_size), mode="bilinear", antialias=True,
                                align_corners=False).round().clamp(0, 255).to(torch.uint8)
        out["frames"].append(img)
        out["logmel"].append(torch.from_numpy(np.array(arrays["logmel"], dtype=np.float32)))
        out["frame_mask"].append(torch.from_numpy(np.array(arrays["frame_mask"])))
        truth = scene_truth(read_meta(root / cfg["data"]["meta"] / f"{video_id}.json"), frames, columns,
                            cfg["features"]["audio_window_s"])
        for k, v in truth.items():
            out[k].append(torch.from_numpy(v))
    return {k: torch.stack(v) for k, v in out.items()}


def set_origin(meta_dir: Path) -> dict:
    """Which generator and seed made the pretraining set (read from one of its meta files)."""
    meta = first_meta(meta_dir)
    if meta is None:
        return {}
    return {"generator": meta.get("generator"), "world": meta.get("world", "classic"),
            "set_seed": (meta.get("seed") or [None])[0]}


def load_performer_set(cfg: dict) -> tuple[torch.Tensor, torch.Tensor, list, torch.Tensor]:
    """Full-size frames [N, T, 3, H, W] uint8, frame masks, per-frame box truth and indoor labels of
    every cached video of the pretraining set (the detector and crop network read the cache's frames)."""
    cache, root = open_set(cfg), Path(cfg["pretrain"]["root"])
    frames, masks, truth, indoor = [], [], [], []
    for video_id in sorted(cache.videos):
        arrays = cache.arrays(video_id)
        frames.append(torch.from_numpy(np.array(arrays["frames"])))
        masks.append(torch.from_numpy(np.array(arrays["frame_mask"])))
        meta = read_meta(root / cfg["data"]["meta"] / f"{video_id}.json")
        truth.append(box_truth(meta, frames[-1].shape[0], cfg["features"]["audio_window_s"]))
        indoor.append(float(meta["background"] == "indoor"))
    return torch.stack(frames), torch.stack(masks), truth, torch.tensor(indoor)


@torch.no_grad()
def heard_f1(class_logits: torch.Tensor, truth: dict, frame_mask: torch.Tensor) -> float:
    """F1 of "class heard in this window" over every (window, class)."""
    b, t = frame_mask.shape
    heard = truth["classes"].transpose(1, 2).reshape(b * t, class_logits.shape[1], -1)[..., 0] > 0.5
    said = class_logits[..., 0] > 0
    tp = (said & heard).sum().item()
    return 2 * tp / max(1, said.sum().item() + heard.sum().item())


@torch.no_grad()
def scores(logits, truth: dict, frame_mask: torch.Tensor) -> dict[str, float]:
    """Held-out accuracy of each part: column presence, class and playing; heard F1 per class."""
    cols_l, _, classes_l, _ = logits
    b, t = frame_mask.shape
    cols = truth["cols"].transpose(1, 2).reshape(b * t, cols_l.shape[1], -1)
    present = cols[..., 0] > 0.5
    return {"present_acc": ((cols_l[..., 0] > 0) == present).float().mean().item(),
            "class_acc": (cols_l[..., 3:].argmax(-1) == cols[..., 3:].argmax(-1))[present].float().mean().item(),
            "playing_acc": ((cols_l[..., 2] > 0) == (cols[..., 2] > 0.5))[present].float().mean().item(),
            "heard_f1": heard_f1(classes_l, truth, frame_mask)}


def refit_audio(data, audio, head, audio_size, train_idx, val_idx, pc, seed, progress, start, draws=None) -> dict:
    """Fit the audio scene head alone on the frozen audio stream, window by window.

    Which of 22 timbres sound in a mixture is the slowest part to learn, and the audio-visual
    questions depend on it. Trained jointly with the streams for 16 epochs the head stops at
    held-out heard F1 0.577; 24 more epochs of the head alone on the frozen stream reach 0.654
    (measured on data/pretrain2k's 200 held-out videos; a head trained alone from scratch, 0.60 after
    16 epochs, did worse than continuing). `draws` (engine/audio_draws.py: sound-only scenes) join the
    training videos; the held-out videos stay the pretraining set's own.
    """
    audio.eval()
    keys = ("logmel", "frame_mask", "classes", "glob")
    pool = {k: data[k][train_idx] for k in keys}
    if draws is not None:
        pool = {k: torch.cat([pool[k].to(draws[k].dtype), draws[k]]) for k in keys}
    held = {k: data[k][val_idx] for k in keys}

    def stream_features(videos):
        out = []
        with torch.no_grad():                               # the stream is frozen: its features once
            for idx in torch.arange(len(videos["logmel"])).split(32):
                a, _ = audio_map(audio, {k: videos[k][idx] for k in ("logmel", "frame_mask")}, audio_size)
                out.append(pooled(a).view(len(idx), -1, a.shape[-1] * 2))
        return torch.cat(out) if out else torch.zeros(0)

    feats, held_feats = stream_features(pool), stream_features(held)
    n = len(pool["logmel"])
    per_batch = max(1, WINDOW_BATCH // data["logmel"].shape[1])
    opt = torch.optim.AdamW(head.parameters(), lr=pc["lr"], weight_decay=0.01)
    steps = pc["audio_epochs"] * max(1, -(-n // per_batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=pc["lr"], total_steps=steps, pct_start=0.1)

    def run(videos, video_feats, idx):
        video = {k: videos[k][idx] for k in ("logmel", "frame_mask")}
        classes, voice = head(video_feats[idx].flatten(0, 1), audio_images(video, channels=1))
        truth = {k: videos[k][idx] for k in ("classes", "glob")}
        return (classes, voice), audio_loss(classes, voice, truth, video["frame_mask"]), truth

    report = {}
    for epoch in range(pc["audio_epochs"]):
        head.train()
        order = torch.randperm(n, generator=torch.Generator().manual_seed(seed + 1000 + epoch))
        for idx in order.split(per_batch):
            _, parts, _ = run(pool, feats, idx)
            loss = sum(parts.values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(head.parameters(), 1.0)
            opt.step()
            sched.step()
        if len(val_idx):
            head.eval()
            with torch.no_grad():
                (classes, _), _, truth = run(held, held_feats, torch.arange(len(val_idx)))
            report = {"heard_f1": round(heard_f1(classes, truth, held["frame_mask"]), 4)}
        if progress:
            print(f"audio epoch {epoch + 1}/{pc['audio_epochs']} held out {report} ({time.time() - start:.0f} s)",
                  flush=True)
    return report


def pretrain(cfg: dict, out: str | Path, progress: bool = True) -> Path:
    """Pretrain per cfg (model size, features, `pretrain:` section); writes `out` and returns it."""
    pc, seed = cfg["pretrain"], cfg["seed"] or 0
    seeding.seed_everything(seed)
    torch.set_flush_denormal(True)
    m = cfg["model"]
    p = preset(m.get("size", "base"), backbone=m.get("backbone"), image_size=m.get("image_size"),
               audio_size=m.get("audio_size"))
    columns = pc["columns"]
    start = time.time()
    if pc["audio_draws"] and pc["audio_epochs"]:          # a bad draws setting fails before hours of work
        from amuse_cli.engine.audio_draws import draw_spec
        draw_spec(cfg)
    data = load_set(cfg, columns, p["image_size"])
    n = len(data["frames"])
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_val = max(1, int(n * VAL_FRACTION)) if n > 1 else 0
    val_idx, train_idx = order[:n_val], order[n_val:]
    visual = SwinStream(build_swin(p["backbone"]), p["image_size"], False)
    audio = SwinStream(build_swin(p["backbone"]), p["audio_size"], False)
    earlier = read_perception_file(pc["init"]) if pc["init"] else {}
    # a frame tagger once added stays; pretrain.frame_tagger adds one to a file without
    frame_tagger = int(earlier.get("config", {}).get("frame_tagger", 0)) or int(pc["frame_tagger"])
    heads = (VisualSceneHead(visual.dims[-1], columns),
             AudioSceneHead(audio.dims[-1] * 2, mels=cfg["features"]["n_mels"], frame_tagger=frame_tagger))
    modules = (visual, audio, *heads)
    init_trained_on = None
    if pc["init"]:                                  # continue from an earlier file (e.g. audio refit only)
        init_trained_on = earlier.get("trained_on")
        for name, mod in zip(("visual", "audio", "scene_visual", "scene_audio"), modules):
            missing, unexpected = mod.load_state_dict(earlier[name], strict=False)
            if unexpected or any(not k.startswith("frames.") for k in missing):
                raise AmuseError(f"pretrain.init={pc['init']} does not fit this model ({name}: "
                                 f"{(unexpected or missing)[0]}); make it again with `amuse pretrain`")
    params = [q for mod in modules for q in mod.parameters()]
    opt = torch.optim.AdamW(params, lr=pc["lr"], weight_decay=0.01)
    steps = max(1, pc["epochs"] * max(1, -(-len(train_idx) // pc["batch_size"])))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=pc["lr"], total_steps=steps, pct_start=0.1)

    def run(idx):
        video = {k: data[k][idx] for k in ("frames", "logmel", "frame_mask")}
        logits = head_logits(*heads, *stream_maps(visual, audio, video, p["audio_size"]))
        truth = {k: data[k][idx] for k in ("cols", "classes", "glob")}
        return logits, scene_loss(*logits, truth, video["frame_mask"]), truth

    print(f"pretraining {p['backbone']} streams ({p['image_size']} px frames, {p['audio_size']} px log-mels) and "
          f"scene heads on {len(train_idx)} videos of {pc['root']} ({n_val} held out), {pc['epochs']} epochs",
          flush=True)
    report = {}
    for epoch in range(pc["epochs"]):
        for mod in modules:
            mod.train()
        total, batches = 0.0, 0
        shuffled = train_idx[torch.randperm(len(train_idx), generator=torch.Generator().manual_seed(seed + epoch))]
        for idx in shuffled.split(pc["batch_size"]):
            _, parts, _ = run(idx)
            loss = sum(parts.values())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            total, batches = total + loss.item(), batches + 1
        if n_val:
            for mod in modules:
                mod.eval()
            with torch.no_grad():
                logits, _, truth = run(val_idx)
            report = {k: round(v, 4) for k, v in scores(logits, truth, data["frame_mask"][val_idx]).items()}
        if progress:
            print(f"epoch {epoch + 1}/{pc['epochs']} loss {total / max(batches, 1):.4f} held out {report} "
                  f"({time.time() - start:.0f} s)", flush=True)
    if n_val and not report:                        # no joint epochs (init only): score what was loaded
        for mod in modules:
            mod.eval()
        with torch.no_grad():
            logits, _, truth = run(val_idx)
        report = {k: round(v, 4) for k, v in scores(logits, truth, data["frame_mask"][val_idx]).items()}
    if pc["audio_epochs"]:
        from amuse_cli.engine.audio_draws import audio_draws
        draws = audio_draws(cfg, progress)
        report = {**report, **refit_audio(data, audio, heads[1], p["audio_size"], train_idx, val_idx, pc, seed,
                                          progress, start, draws)}
    performers = None
    carried = earlier.get("performers")
    if carried is not None and not (pc["detector_epochs"] or pc["crop_epochs"]):   # kept from pretrain.init
        from amuse_cli.models.detector import PerformerScene
        performers = PerformerScene(slots=pc["slots"])
        performers.load_state_dict(carried)
        report = {**report, **{k: v for k, v in earlier.get("held_out", {}).items()
                               if k.startswith(("det_", "crop_", "playing_", "count_"))}}
    elif pc["detector_epochs"] or pc["crop_epochs"]:
        from amuse_cli.engine.performers import train_performers
        from amuse_cli.models.detector import PerformerScene
        del data                                        # the full-size frames take its place in memory
        init = PerformerScene(slots=pc["slots"])
        if carried is not None:
            init.load_state_dict(carried)
        performers, found = train_performers(*load_performer_set(cfg), train_idx, val_idx, pc, seed, progress,
                                             start, model=init)
        report = {**report, **found}
    state = {"kind": PERCEPTION,
             "config": {"backbone": p["backbone"], "image_size": p["image_size"], "audio_size": p["audio_size"],
                        "columns": columns, "frames": int(cfg["features"]["frames"]),
                        **({"frame_tagger": frame_tagger} if frame_tagger else {}),
                        **({"slots": pc["slots"]} if performers is not None else {})},
             "trained_on": {"root": str(pc["root"]), "videos": len(train_idx), "epochs": pc["epochs"],
                            "audio_epochs": pc["audio_epochs"], "init": pc["init"], "seed": seed,
                            "seconds": round(time.time() - start, 1), "init_trained_on": init_trained_on,
                            "detector_epochs": pc["detector_epochs"], "crop_epochs": pc["crop_epochs"],
                            "audio_draws": pc["audio_draws"], "audio_draws_seed": pc["audio_draws_seed"],
                            **set_origin(Path(pc["root"]) / cfg["data"]["meta"])},
             "held_out": report,
             **{name: mod.state_dict() for name, mod in zip(("visual", "audio", "scene_visual", "scene_audio"),
                                                             modules)},
             **({"performers": performers.state_dict()} if performers is not None else {})}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.save(state, out)
    return out
