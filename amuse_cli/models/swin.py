"""Swin-V2 backbones from torchvision, run stage by stage so adapters can sit between stages.

`weights`: none (train from scratch), DEFAULT (torchvision's ImageNet weights, read from the torch
hub cache: nothing is downloaded at run time) or a path to a state dict. Pretrained backbones are
frozen except their norms; untrained ones train fully.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models import swin_transformer as tvs

from amuse_cli.errors import ConfigError

ARCHS = {
    "swin_v2_t": (tvs.swin_v2_t, tvs.Swin_V2_T_Weights),
    "swin_v2_s": (tvs.swin_v2_s, tvs.Swin_V2_S_Weights),
    "swin_v2_b": (tvs.swin_v2_b, tvs.Swin_V2_B_Weights),
}
# The CPU configuration: same classes (SwinTransformerBlockV2 + PatchMergingV2), small width and depth.
TINY = dict(patch_size=[4, 4], embed_dim=32, depths=[1, 1, 1], num_heads=[2, 4, 8], window_size=[4, 4])
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _weights_file(arch: str, weights: str) -> Path:
    if weights != "DEFAULT":
        path = Path(weights)
        if not path.is_file():
            raise ConfigError(f"backbone weights file {path} not found (model.weights); "
                              f"give a state-dict file, DEFAULT or none")
        return path
    url = ARCHS[arch][1].DEFAULT.url
    path = Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)
    if not path.is_file():
        raise ConfigError(f"model.weights=DEFAULT needs {path}; amuse downloads nothing at run time: "
                          f"fetch {url} there, or set model.weights=none")
    return path


def build_swin(arch: str, weights: str = "none") -> tvs.SwinTransformer:
    """A torchvision SwinTransformer (V2 blocks); `arch` is tiny or swin_v2_t/s/b."""
    if arch == "tiny":
        net = tvs.SwinTransformer(**TINY, stochastic_depth_prob=0.0, num_classes=1,
                                  block=tvs.SwinTransformerBlockV2, downsample_layer=tvs.PatchMergingV2)
    elif arch in ARCHS:
        net = ARCHS[arch][0](weights=None)
    else:
        raise ConfigError(f"unknown backbone {arch!r} at 'model.backbone'; use tiny, {', '.join(ARCHS)}")
    if str(weights).lower() != "none":
        if arch == "tiny" and weights == "DEFAULT":
            raise ConfigError("model.backbone=tiny has no DEFAULT weights; use model.weights=none or a file")
        state = torch.load(_weights_file(arch, weights), map_location="cpu", weights_only=True)
        missing, _ = net.load_state_dict(state, strict=False)
        if missing:
            raise ConfigError(f"weights {weights} do not fit backbone {arch} (missing {missing[0]}); "
                              f"check model.backbone and model.weights")
    return net


class SwinStream(nn.Module):
    """One modality through a Swin-V2: images -> per-stage channel-last maps [N, h, w, C]."""

    def __init__(self, net: tvs.SwinTransformer, image_size: int, pretrained: bool):
        super().__init__()
        feats = list(net.features)
        self.embed = feats[0]
        # stage i = its blocks followed by the patch merging that precedes the next stage
        self.stages = nn.ModuleList(nn.Sequential(*feats[i:i + 2]) if i + 1 < len(feats) else feats[i]
                                    for i in range(1, len(feats), 2))
        self.norm = net.norm
        self.image_size = image_size
        grid = image_size // net.features[0][0].stride[0]
        # Swin has no absolute position: location questions need one (zero-init keeps pretrained maps)
        self.pos = nn.Parameter(torch.zeros(1, grid, grid, net.features[0][0].out_channels))
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.dims = [self._out_channels(stage) for stage in self.stages]  # channels after each stage
        if pretrained:  # frozen except norms
            for name, p in net.named_parameters():
                p.requires_grad = "norm" in name

    @staticmethod
    def _out_channels(stage: nn.Module) -> int:
        last = stage[-1]
        if isinstance(last, tvs.PatchMergingV2):
            return last.reduction.out_features
        return last.norm1.normalized_shape[0]  # a stage's last block

    def prepare(self, images: torch.Tensor, imagenet_norm: bool = True) -> torch.Tensor:
        """[N, 3, H, W] floats (in [0, 1] when imagenet_norm) -> resized to image_size, embedded."""
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            images = F.interpolate(images, size=(self.image_size, self.image_size), mode="bilinear",
                                   antialias=True, align_corners=False)
        if imagenet_norm:
            images = (images - self.mean) / self.std
        x = self.embed(images)
        return x + self.pos if x.shape[1:3] == self.pos.shape[1:3] else x
