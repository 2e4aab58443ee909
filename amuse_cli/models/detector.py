"""Finding performers in frames: a small centre-point detector, a crop network, and tracks across frames.

The stage world (and real video) puts performers anywhere, at any size, partly hiding each other, so the
scene is read performer by performer instead of by fixed image columns:

1. `PerformerDetector`: a frame -> a heatmap of performer centres, each centre's box size and sub-cell
   offset (CenterNet-style, stride 8), and the setting's indoor logit. Boxes are in 0..1 frame units.
2. `CropNet`: a box in one frame, read with its neighbouring sampled frames -> the instrument class (by
   silhouette), whether a performer is there at all, and whether it plays. Playing is read from motion:
   the crop of this frame and its absolute differences to the same box in the previous and next frames
   (one frame shows only a posture).
3. `link_tracks`: detections of every frame joined into performers (the stage is static, the camera
   moves a little), missing frames filled with the track's neighbouring boxes.

`PerformerScene` runs the three on a clip and writes models/scene.py's entity layout: up to `slots`
performers sorted left to right, per frame (present, centre x, playing, class probabilities). The same
boxes and crop embeddings are the region branch's tokens (`model.rois`).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.ops import roi_align

from amuse_cli.data.taxonomy import INSTRUMENTS

K = len(INSTRUMENTS)
DETECT_SIZE = 160          # detector input, pixels (square)
STRIDE = 8                 # heatmap cell, input pixels
CROP = (64, 40)            # crop network input rows x columns
MAX_DETECTIONS = 10        # per frame, after the heatmap's local maxima
SCORE_MIN = 0.3            # a centre below this is not a detection
LINK_DIST = 0.6            # detections join a track when centres are closer than this x box width


def _block(i: int, o: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(i, o, 3, stride, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True),
                         nn.Conv2d(o, o, 3, 1, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True))


class PerformerDetector(nn.Module):
    """uint8-range frames [N, 3, H, W] -> heat logits [N, 1, h, w], log size [N, 2, h, w], offset [N, 2, h, w],
    indoor logit [N] (h = w = DETECT_SIZE / STRIDE)."""

    def __init__(self, widths=(24, 48, 64, 96)):
        super().__init__()
        w = widths
        self.s2, self.s4, self.s8, self.s16 = _block(3, w[0], 2), _block(w[0], w[1], 2), _block(w[1], w[2], 2), \
            _block(w[2], w[3], 2)
        self.lateral = nn.Conv2d(w[3], w[2], 1)
        self.head = nn.Sequential(nn.Conv2d(w[2], w[2], 3, 1, 1), nn.ReLU(inplace=True), nn.Conv2d(w[2], 5, 1))
        nn.init.constant_(self.head[-1].bias[:1], -2.2)          # heat starts near 0.1 (focal-loss practice)
        self.indoor = nn.Linear(w[3], 1)
        self.register_buffer("mean", torch.tensor([0.45, 0.45, 0.45]).view(1, 3, 1, 1), persistent=False)

    def features(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(frames.float() / 255.0, size=(DETECT_SIZE, DETECT_SIZE), mode="bilinear",
                          antialias=True, align_corners=False) - self.mean
        s8 = self.s8(self.s4(self.s2(x)))
        s16 = self.s16(s8)
        return s8 + F.interpolate(self.lateral(s16), size=s8.shape[-2:], mode="nearest"), s16

    def forward(self, frames: torch.Tensor):
        s8, s16 = self.features(frames)
        out = self.head(s8)
        return out[:, :1], out[:, 1:3], out[:, 3:5], self.indoor(s16.mean((2, 3))).squeeze(-1)


def centre_targets(boxes: list[torch.Tensor], grid: int) -> dict[str, torch.Tensor]:
    """Per frame, its true boxes [n, 4] (x0, y0, x1, y1 in 0..1) -> heatmap (Gaussian bumps at centres),
    size and offset targets at the centre cells, and the mask of those cells."""
    n = len(boxes)
    heat = torch.zeros(n, 1, grid, grid)
    size = torch.zeros(n, 2, grid, grid)
    offset = torch.zeros(n, 2, grid, grid)
    mask = torch.zeros(n, 1, grid, grid)
    yy, xx = torch.meshgrid(torch.arange(grid).float(), torch.arange(grid).float(), indexing="ij")
    for i, b in enumerate(boxes):
        for x0, y0, x1, y1 in b.tolist():
            cx, cy = (x0 + x1) / 2 * grid, (y0 + y1) / 2 * grid
            w, h = max(x1 - x0, 1e-3), max(y1 - y0, 1e-3)
            sigma = max(0.6, min(w, h) * grid / 5)
            ix, iy = min(grid - 1, max(0, int(cx))), min(grid - 1, max(0, int(cy)))
            bump = torch.exp(-((xx - ix) ** 2 + (yy - iy) ** 2) / (2 * sigma ** 2))
            heat[i, 0] = torch.maximum(heat[i, 0], bump)
            size[i, :, iy, ix] = torch.tensor([w, h]).log()
            offset[i, :, iy, ix] = torch.tensor([cx - ix, cy - iy])
            mask[i, 0, iy, ix] = 1.0
    return {"heat": heat, "size": size, "offset": offset, "mask": mask}


def detector_loss(heat, size, offset, targets: dict) -> dict[str, torch.Tensor]:
    """CenterNet's penalty-reduced focal loss on the heatmap, L1 on log size and offset at centres."""
    p = torch.sigmoid(heat).clamp(1e-4, 1 - 1e-4)
    t = targets["heat"]
    pos = (t > 0.999).float()
    focal = -(pos * (1 - p) ** 2 * p.log() + (1 - pos) * (1 - t) ** 4 * p ** 2 * (1 - p).log()).sum()
    m = targets["mask"]
    count = m.sum().clamp(min=1.0)
    return {"heat": focal / count,
            "size": (F.l1_loss(size, targets["size"], reduction="none") * m).sum() / count,
            "offset": (F.l1_loss(offset, targets["offset"], reduction="none") * m).sum() / count}


@torch.no_grad()
def decode(heat, size, offset, score_min: float = SCORE_MIN, top: int = MAX_DETECTIONS) -> list[torch.Tensor]:
    """Heatmaps -> per frame [n, 5] boxes (x0, y0, x1, y1 in 0..1, score), local maxima above score_min."""
    grid = heat.shape[-1]
    p = torch.sigmoid(heat)
    peaks = (p == F.max_pool2d(p, 3, 1, 1)).float() * p
    out = []
    for i in range(len(p)):
        scores, idx = peaks[i, 0].flatten().topk(min(top, grid * grid))
        keep = scores >= score_min
        scores, idx = scores[keep], idx[keep]
        iy, ix = idx // grid, idx % grid
        cx = (ix.float() + offset[i, 0].flatten()[idx]) / grid
        cy = (iy.float() + offset[i, 1].flatten()[idx]) / grid
        w, h = size[i, 0].flatten()[idx].exp(), size[i, 1].flatten()[idx].exp()
        out.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, scores], -1))
    return out


class CropNet(nn.Module):
    """Crops [N, 9, *CROP] (this frame's crop, |this - previous|, |next - this|) -> (class logits [N, K],
    performer logit [N], playing logit [N], embedding [N, dim])."""

    def __init__(self, dim: int = 96):
        super().__init__()
        self.still = nn.Sequential(_block(3, 24, 2), _block(24, 48, 2), _block(48, dim, 2))
        self.motion = nn.Sequential(_block(6, 16, 2), _block(16, 32, 2), _block(32, 48, 2))
        self.cls = nn.Linear(dim, K + 1)
        self.play = nn.Sequential(nn.Linear(dim + 48 * 2, 64), nn.ReLU(inplace=True), nn.Linear(64, 1))
        self.dim = dim

    def forward(self, crops: torch.Tensor):
        still = self.still(crops[:, :3])
        look = still.mean((2, 3))
        m = self.motion(crops[:, 3:])
        move = torch.cat([m.mean((2, 3)), m.amax((2, 3))], -1)
        c = self.cls(look)
        return c[:, :K], c[:, K], self.play(torch.cat([look, move], -1)).squeeze(-1), look


def crop_stack(frames: torch.Tensor, boxes: torch.Tensor, index: torch.Tensor,
               prev_boxes: torch.Tensor | None = None, next_boxes: torch.Tensor | None = None) -> torch.Tensor:
    """Crops for boxes [n, 4] (0..1) in frames[index] of one clip (frames [T, 3, H, W] uint8) with their
    motion against frames index-1 and index+1 (the clip's edge frames use their one neighbour twice)
    -> [n, 9, *CROP] in 0..1. The neighbours are cut at the same performer's box in those frames where
    given (prev_boxes / next_boxes, e.g. its track), so the camera's pan and zoom do not read as motion."""
    t, _, h, w = frames.shape
    img = frames.float() / 255.0
    scale = torch.tensor([w, h, w, h], dtype=img.dtype)
    prev = (index - 1).clamp(min=0)
    nxt = (index + 1).clamp(max=t - 1)
    prev = torch.where(index == 0, nxt, prev)
    nxt = torch.where(index == t - 1, prev, nxt)

    prev_boxes = boxes if prev_boxes is None else torch.where((index == 0)[:, None], next_boxes, prev_boxes)
    next_boxes = boxes if next_boxes is None else torch.where((index == t - 1)[:, None], prev_boxes, next_boxes)

    def cut(which, where):
        rois = torch.cat([which.float()[:, None], where[:, :4] * scale], 1)
        return roi_align(img, rois, CROP, spatial_scale=1.0, sampling_ratio=2, aligned=True)

    here = cut(index, boxes)
    return torch.cat([here, (here - cut(prev, prev_boxes)).abs(), (cut(nxt, next_boxes) - here).abs()], 1)


def link_tracks(detections: list[torch.Tensor], min_frames: float = 0.4) -> list[torch.Tensor]:
    """Per-frame detections [n_t, 5] -> tracks [T, 5] (a box and score per frame; frames where the
    performer was not detected hold the nearest detected box with score 0), kept when detected in at
    least `min_frames` of the frames. Greedy: strongest detections first, each joins the nearest track
    whose last box centre is within LINK_DIST of its width."""
    t = len(detections)
    tracks: list[list] = []
    for f, dets in enumerate(detections):
        free = list(range(len(tracks)))
        for d in sorted(dets.tolist(), key=lambda d: -d[4]):
            cx, width = (d[0] + d[2]) / 2, max(d[2] - d[0], 1e-3)
            best, dist = None, LINK_DIST
            for k in free:
                last = tracks[k][-1][1]
                gap = abs((last[0] + last[2]) / 2 - cx) / width + abs((last[1] + last[3]) / 2 - (d[1] + d[3]) / 2) / (
                    d[3] - d[1] + 1e-3)
                if gap < dist:
                    best, dist = k, gap
            if best is None:
                tracks.append([(f, d)])
            else:
                tracks[best].append((f, d))
                free.remove(best)
    out = []
    for tr in tracks:
        if len(tr) < min_frames * t:
            continue
        boxes = torch.zeros(t, 5)
        seen = {f: d for f, d in tr}
        frames = sorted(seen)
        for f in range(t):
            near = min(frames, key=lambda g: abs(g - f))
            boxes[f, :4] = torch.tensor(seen[near][:4])
            boxes[f, 4] = seen[f][4] if f in seen else 0.0
        out.append(boxes)
    return out


class PerformerScene(nn.Module):
    """Detector + crop network -> the entity layout of models/scene.py for whole clips."""

    def __init__(self, slots: int = 6):
        super().__init__()
        self.slots = slots
        self.detector = PerformerDetector()
        self.crops = CropNet()

    @torch.no_grad()
    def clip(self, frames: torch.Tensor, mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """One clip's frames [T, 3, H, W] uint8 and frame mask [T] -> cols [slots, T, 3 + K], indoor [T],
        boxes [slots, T, 5], embeddings [slots, T, dim]."""
        t = int(mask.sum().item()) or 1
        heat, size, offset, indoor = self.detector(frames[:t])
        tracks = link_tracks(decode(heat, size, offset))
        tracks.sort(key=lambda b: -b[:, 4].mean().item())
        tracks = sorted(tracks[: self.slots], key=lambda b: ((b[:, 0] + b[:, 2]) / 2).mean().item())
        total = frames.shape[0]
        cols = torch.zeros(self.slots, total, 3 + K)
        boxes = torch.zeros(self.slots, total, 5)
        emb = torch.zeros(self.slots, total, self.crops.dim)
        for s, tr in enumerate(tracks):
            idx = torch.arange(t)
            box = tr[:, :4]
            shifted = (box[(idx - 1).clamp(min=0)], box[(idx + 1).clamp(max=t - 1)])
            cls, performer, play, look = self.crops(crop_stack(frames[:t], box, idx, *shifted))
            there = torch.maximum(tr[:, 4], torch.sigmoid(performer))
            cols[s, :t, 0] = there
            cols[s, :t, 1] = ((tr[:, 0] + tr[:, 2]) / 2).clamp(0, 1)
            cols[s, :t, 2] = torch.sigmoid(play)
            cols[s, :t, 3:] = cls.softmax(-1).mean(0, keepdim=True).expand(t, -1)   # one class per performer
            boxes[s, :t] = tr
            emb[s, :t] = look
        glob_indoor = torch.zeros(total)
        glob_indoor[:t] = torch.sigmoid(indoor).mean()
        return {"cols": cols, "indoor": glob_indoor, "boxes": boxes, "embeddings": emb}
