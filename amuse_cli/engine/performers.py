"""`amuse pretrain`'s performer part: the detector and the crop network (models/detector.py) fitted on the
boxes, classes and playing intervals of a synthetic set's ground truth (features.truth.box_truth).

The detector learns centres, sizes and the setting from single frames (flipped left-right half the
time). The crop network learns from the true boxes, jittered the way a detector errs, and from boxes
where no performer stands: class and "a performer is here" from the crop, playing from the crop's motion
against the neighbouring sampled frames. Held-out videos report detection recall and precision (IoU >=
0.5), class accuracy, playing balanced accuracy, and how often the whole scene (PerformerScene) finds
the right number of performers.
"""
from __future__ import annotations

import time

import torch
from torch.nn import functional as F
from torchvision.ops import box_iou

from amuse_cli.models.detector import PerformerScene, centre_targets, crop_stack, decode, detector_loss

FRAME_BATCH = 32          # frames per detector step
VIDEO_BATCH = 4           # videos per crop-network step (every box of every frame)
NEGATIVES = 1.0           # background boxes per true box
JITTER = (0.08, 0.12)     # true boxes shifted by up to this share of their size, scaled by up to this share


def _flip(frames: torch.Tensor, boxes: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
    flipped = [torch.stack([1 - b[:, 2], b[:, 1], 1 - b[:, 0], b[:, 3]], 1) if len(b) else b for b in boxes]
    return frames.flip(-1), flipped


def _detector_epoch(model, opt, frames, truth, indoor, pairs, seed, train: bool):
    gen = torch.Generator().manual_seed(seed)
    order = pairs[torch.randperm(len(pairs), generator=gen)] if train else pairs
    total, steps = 0.0, 0
    for chunk in order.split(FRAME_BATCH):
        img = frames[chunk[:, 0], chunk[:, 1]]
        boxes = [torch.from_numpy(truth[v][t]["boxes"]) for v, t in chunk.tolist()]
        if train and torch.rand(1, generator=gen).item() < 0.5:
            img, boxes = _flip(img, boxes)
        heat, size, offset, indoor_logit = model.detector(img)
        grid = heat.shape[-1]
        parts = detector_loss(heat, size, offset, centre_targets(boxes, grid))
        parts["indoor"] = F.binary_cross_entropy_with_logits(indoor_logit, indoor[chunk[:, 0]])
        loss = sum(parts.values())
        if train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.detector.parameters(), 5.0)
            opt.step()
        total, steps = total + loss.item(), steps + 1
    return total / max(steps, 1)


def _jitter(boxes: torch.Tensor, gen=None, shift=None, scale=None):
    """Boxes moved by `shift` and scaled by `scale` (drawn when not given: the way a detector errs)."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    shift = (torch.rand(len(boxes), 2, generator=gen) * 2 - 1) * JITTER[0] if shift is None else shift
    scale = 1 + (torch.rand(len(boxes), 2, generator=gen) * 2 - 1) * JITTER[1] if scale is None else scale
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + shift[:, 0] * w
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + shift[:, 1] * h
    w, h = w * scale[:, 0], h * scale[:, 1]
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1), shift, scale


def _negatives(boxes: torch.Tensor, n: int, gen) -> torch.Tensor:
    """Boxes of performer-like shapes overlapping no true box by IoU >= 0.2."""
    out = []
    for _ in range(20 * max(n, 1)):
        if len(out) >= n:
            break
        h = 0.25 + 0.4 * torch.rand(1, generator=gen).item()
        w = h * (0.4 + 0.3 * torch.rand(1, generator=gen).item())
        x0, y0 = (torch.rand(2, generator=gen) * torch.tensor([1 - w, 1 - h])).tolist()
        cand = torch.tensor([[x0, y0, x0 + w, y0 + h]])
        if not len(boxes) or box_iou(cand, boxes).max() < 0.2:
            out.append(cand[0])
    return torch.stack(out) if out else torch.zeros(0, 4)


def _crop_batch(frames, truth, videos, gen, train: bool):
    """Crops and labels of every true box (jittered when training) and as many background boxes."""
    crops, cls, there, play, weight = [], [], [], [], []
    for v in videos:
        t_count = frames.shape[1]
        for t in range(t_count):
            tr = truth[v][t]
            boxes = torch.from_numpy(tr["boxes"])
            # the same performer's true boxes in the neighbouring frames, jittered alike (as a track's are)
            near = [torch.from_numpy(truth[v][max(0, min(t_count - 1, t + d))]["boxes"]) for d in (-1, 1)]
            pos, shift, scale = _jitter(boxes, gen) if train and len(boxes) else (boxes, None, None)
            if shift is not None:
                near = [_jitter(b, shift=shift, scale=scale)[0] for b in near]
            neg = _negatives(boxes, int(round(NEGATIVES * max(len(boxes), 1))), gen)
            allb = torch.cat([pos, neg]).clamp(-0.1, 1.1)
            if not len(allb):
                continue
            idx = torch.full((len(allb),), t, dtype=torch.long)
            prev, nxt = (torch.cat([b, neg]).clamp(-0.1, 1.1) for b in near)
            crops.append(crop_stack(frames[v], allb, idx, prev, nxt))
            cls.append(torch.cat([torch.from_numpy(tr["classes"]), torch.zeros(len(neg), dtype=torch.long)]))
            there.append(torch.cat([torch.ones(len(pos)), torch.zeros(len(neg))]))
            p = torch.from_numpy(tr["playing"])
            play.append(torch.cat([(p > 0.5).float(), torch.zeros(len(neg))]))
            # a window half inside a playing interval is unsure: weigh labels by how clear they are
            weight.append(torch.cat([(2 * (p - 0.5)).abs().clamp(min=0.2), torch.zeros(len(neg))]))
    return torch.cat(crops), torch.cat(cls), torch.cat(there), torch.cat(play), torch.cat(weight)


def _crop_epoch(model, opt, frames, truth, videos, seed, train: bool):
    gen = torch.Generator().manual_seed(seed)
    order = videos[torch.randperm(len(videos), generator=gen)] if train else videos
    total, steps, hits = 0.0, 0, {"cls": [0, 0], "play": [0, 0, 0, 0]}
    for chunk in order.split(VIDEO_BATCH):
        crops, cls, there, play, weight = _crop_batch(frames, truth, chunk.tolist(), gen, train)
        if train and torch.rand(1, generator=gen).item() < 0.5:
            crops = crops.flip(-1)
        logits, performer, playing, _ = model.crops(crops)
        pos = there > 0.5
        parts = {"class": F.cross_entropy(logits[pos], cls[pos]) if pos.any() else logits.sum() * 0,
                 "performer": F.binary_cross_entropy_with_logits(performer, there),
                 "playing": (F.binary_cross_entropy_with_logits(playing, play, reduction="none") * weight).sum()
                 / weight.sum().clamp(min=1.0)}
        loss = sum(parts.values())
        if train:
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.crops.parameters(), 5.0)
            opt.step()
        else:
            hits["cls"][0] += (logits[pos].argmax(-1) == cls[pos]).sum().item()
            hits["cls"][1] += pos.sum().item()
            sure = pos & (weight > 0.5)
            said = playing > 0
            hits["play"][0] += (said & (play > 0.5) & sure).sum().item()
            hits["play"][1] += ((play > 0.5) & sure).sum().item()
            hits["play"][2] += (~said & (play < 0.5) & sure).sum().item()
            hits["play"][3] += ((play < 0.5) & sure).sum().item()
        total, steps = total + loss.item(), steps + 1
    report = {}
    if not train:
        c, p = hits["cls"], hits["play"]
        report = {"crop_class_acc": round(c[0] / max(c[1], 1), 4),
                  "playing_balanced_acc": round((p[0] / max(p[1], 1) + p[2] / max(p[3], 1)) / 2, 4)}
    return total / max(steps, 1), report


@torch.no_grad()
def evaluate_scene(model: PerformerScene, frames, truth, masks, videos) -> dict:
    """Detection recall/precision at IoU 0.5 per frame, and clips where the performer count is right."""
    model.eval()
    found = true = right = 0
    counted = 0
    for v in videos.tolist():
        heat, size, offset, _ = model.detector(frames[v])
        dets = decode(heat, size, offset)
        for t, d in enumerate(dets):
            gt = torch.from_numpy(truth[v][t]["boxes"])
            if len(d) and len(gt):
                iou = box_iou(d[:, :4], gt)
                right += (iou.max(0).values >= 0.5).sum().item()
            found, true = found + len(d), true + len(gt)
        scene = model.clip(frames[v], masks[v])
        counted += int((scene["cols"][:, 0, 0] > 0.5).sum().item() == len(truth[v][0]["boxes"]))
    return {"det_recall": round(right / max(true, 1), 4), "det_precision": round(right / max(found, 1), 4),
            "count_acc": round(counted / max(len(videos), 1), 4)}


def train_performers(frames: torch.Tensor, masks: torch.Tensor, truth: list, indoor: torch.Tensor, train_idx,
                     val_idx, pc: dict, seed: int, progress: bool, start: float,
                     model: PerformerScene | None = None) -> tuple[PerformerScene, dict]:
    """Fit the detector (pretrain.detector_epochs) then the crop network (pretrain.crop_epochs)."""
    torch.manual_seed(seed)
    model = model or PerformerScene(slots=pc["slots"])
    t = frames.shape[1]
    pairs = torch.tensor([(int(v), f) for v in train_idx for f in range(t) if masks[v, f]])
    val_pairs = torch.tensor([(int(v), f) for v in val_idx for f in range(t) if masks[v, f]])
    report = {}
    for name, epochs, params, run in (
            ("detector", pc["detector_epochs"], model.detector.parameters(),
             lambda opt, e, train: (_detector_epoch(model, opt, frames, truth, indoor, pairs if train else val_pairs,
                                                    seed + e, train), {})),
            ("crops", pc["crop_epochs"], model.crops.parameters(),
             lambda opt, e, train: _crop_epoch(model, opt, frames, truth, train_idx if train else val_idx,
                                               seed + 100 + e, train))):
        if not epochs:
            continue
        opt = torch.optim.AdamW(params, lr=pc["performer_lr"], weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        for e in range(epochs):
            model.train()
            loss, _ = run(opt, e, True)
            sched.step()
            model.eval()
            with torch.no_grad():
                val_loss, part = run(None, e, False) if len(val_idx) else (float("nan"), {})
            report.update(part)
            if progress:
                print(f"{name} epoch {e + 1}/{epochs} loss {loss:.4f} held out {val_loss:.4f} {part} "
                      f"({time.time() - start:.0f} s)", flush=True)
    if len(val_idx):
        report.update(evaluate_scene(model, frames, truth, masks, val_idx))
    return model, report
