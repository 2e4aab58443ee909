"""The musical-region branch (`model.rois`): per frame, the boxes a detector finds and a feature vector
pooled from each, as extra tokens (the Amuse paper pools YOLOv8 features of instrument regions).

Sources of boxes and features:
- `performers` (default where a perception file is loaded): the shipped performer detector
  (models/detector.py), trained on the synthetic generator's boxes; each box's feature is the crop
  network's embedding of its silhouette.
- `torchvision:<name>` (real videos): a torchvision detection model, e.g.
  `torchvision:fasterrcnn_mobilenet_v3_large_fpn` with its DEFAULT COCO weights (from the torch hub cache:
  download them once where there is a network), or `torchvision:<name>=<weights file>`; its person boxes
  (performers) and the 1024-d box-head features of each, the detector's own pooled region features.

Region tokens are frozen and question-independent: [B, T, R, 5 + D] = box (x0, y0, x1, y1 in 0..1), score,
feature; `pool_regions` turns them into one vector per frame for the gated fusion.
"""
from __future__ import annotations

import torch
from torch import nn

from amuse_cli.errors import ConfigError
from amuse_cli.models.detector import PerformerScene, crop_stack, decode

REGIONS = 6              # region tokens per frame (the strongest boxes)
PERSON = 1               # COCO label of a person in torchvision's detection models


class PerformerRegions(nn.Module):
    """Boxes of the performer detector and crop-network embeddings, per frame."""

    def __init__(self, scene: PerformerScene, regions: int = REGIONS):
        super().__init__()
        self.scene, self.regions = scene, regions
        self.dim = scene.crops.dim

    @torch.no_grad()
    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """frames [B, T, 3, H, W] uint8 -> region tokens [B, T, R, 5 + dim]."""
        b, t = frames.shape[:2]
        out = torch.zeros(b, t, self.regions, 5 + self.dim)
        heat, size, offset, _ = self.scene.detector(frames.flatten(0, 1))
        boxes = decode(heat, size, offset, score_min=0.1, top=self.regions)
        for i in range(b):
            for f in range(t):
                found = boxes[i * t + f]
                if not len(found) or not mask[i, f]:
                    continue
                idx = torch.full((len(found),), f, dtype=torch.long)
                *_, look = self.scene.crops(crop_stack(frames[i], found[:, :4], idx))
                out[i, f, :len(found)] = torch.cat([found, look], -1)
        return out


class TorchvisionRegions(nn.Module):
    """Person boxes of a torchvision detection model and its box-head features, per frame."""

    def __init__(self, spec: str, regions: int = REGIONS):
        super().__init__()
        import torchvision
        name, _, weights = spec.partition("=")
        builder = getattr(torchvision.models.detection, name, None)
        if builder is None:
            raise ConfigError(f"model.rois=torchvision:{name}: no such torchvision detection model; e.g. "
                              f"torchvision:fasterrcnn_mobilenet_v3_large_fpn")
        try:
            if weights and weights != "DEFAULT":
                self.model = builder(weights=None, weights_backbone=None)
                self.model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            else:
                self.model = builder(weights="DEFAULT")
        except (OSError, RuntimeError) as e:
            raise ConfigError(f"model.rois=torchvision:{spec}: cannot load its weights ({str(e)[:120]}); download "
                              f"them once with a network, or give a file: torchvision:{name}=<weights.pth>") from None
        self.model.eval().requires_grad_(False)
        self.regions = regions
        self.dim = self.model.roi_heads.box_head.fc7.out_features if hasattr(self.model.roi_heads.box_head, "fc7") \
            else 1024

    @torch.no_grad()
    def forward(self, frames: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        b, t, _, h, w = frames.shape
        out = torch.zeros(b, t, self.regions, 5 + self.dim)
        images = list(frames.flatten(0, 1).float().div(255.0))
        found = self.model(images)
        transformed, _ = self.model.transform(images)
        feats = self.model.backbone(transformed.tensors)
        scale = torch.tensor([w, h, w, h], dtype=torch.float32)
        for k, det in enumerate(found):
            keep = (det["labels"] == PERSON).nonzero().flatten()[: self.regions]
            if not len(keep) or not mask[k // t, k % t]:
                continue
            boxes = det["boxes"][keep]
            ratio = torch.tensor(transformed.image_sizes[k][::-1] * 2, dtype=torch.float32) / scale
            pooled = self.model.roi_heads.box_roi_pool({n: f[k:k + 1] for n, f in feats.items()}, [boxes * ratio],
                                                       [transformed.image_sizes[k]])
            vec = self.model.roi_heads.box_head(pooled)
            out[k // t, k % t, :len(keep)] = torch.cat([boxes / scale, det["scores"][keep, None], vec], -1)
        return out


def pool_regions(tokens: torch.Tensor) -> torch.Tensor:
    """Region tokens [B, T, R, 5 + D] -> one vector per frame [B, T, 2 * (5 + D)]: the score-weighted mean
    and the maximum over the frame's regions (a frame without regions gives zeros)."""
    score = tokens[..., 4:5]
    mean = (tokens * score).sum(2) / score.sum(2).clamp(min=1e-4)
    return torch.cat([mean, tokens.amax(2)], -1)


def build_regions(rois: str, perception: dict | None) -> nn.Module | None:
    """The region source `model.rois` names, frozen; None for `none`."""
    if rois == "none":
        return None
    if rois.startswith("torchvision:"):
        return TorchvisionRegions(rois.split(":", 1)[1])
    if rois == "performers":
        if not perception or "performers" not in perception:
            raise ConfigError("model.rois=performers needs a perception file with a performer detector in "
                              "model.weights (`make perception`), or model.rois=torchvision:<model> / none")
        scene = PerformerScene(slots=perception["config"]["slots"])
        scene.load_state_dict(perception["performers"])
        return PerformerRegions(scene.eval().requires_grad_(False))
    raise ConfigError(f"model.rois={rois!r}; use none, performers or torchvision:<detection model>[=<weights>]")
