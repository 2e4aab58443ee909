"""Optional pooled frame embeddings (`features.encoder`) for feature-based baselines.

A torchvision image classifier without its head, over the cached frames: [T, D] float16 per video.
Weights are a file (a state_dict saved with torch.save) or `DEFAULT`, which uses torchvision's
pretrained weights only if they are already in the torch hub cache: nothing is downloaded here.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

from amuse_cli.errors import AmuseError

ENCODERS = {   # name -> (torchvision builder, weights enum, embedding size)
    "resnet18": ("resnet18", "ResNet18_Weights", 512),
    "swin_v2_t": ("swin_v2_t", "Swin_V2_T_Weights", 768),
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def embedding_size(name: str) -> int:
    return ENCODERS[name][2]


def _weights_file(name: str, weights: str | None) -> Path:
    if not weights:
        raise AmuseError(f"features.encoder={name} needs features.encoder_weights: a state_dict file, "
                         f"or DEFAULT once torchvision's weights are in the torch hub cache")
    if weights == "DEFAULT":
        import torchvision
        url = getattr(torchvision.models, ENCODERS[name][1]).DEFAULT.url
        path = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
        if not path.is_file():
            raise AmuseError(f"features.encoder_weights=DEFAULT: {path} is not downloaded; on a machine "
                             f"with network run `python -c \"import torchvision; torchvision.models.{name}"
                             f"(weights='DEFAULT')\"` and copy it there, or pass a file path")
        return path
    path = Path(weights)
    if not path.is_file():
        raise AmuseError(f"features.encoder_weights: {path} not found; pass a state_dict file or DEFAULT")
    return path


@lru_cache(maxsize=2)
def load_encoder(name: str, weights: str | None) -> torch.nn.Module:
    """The classifier without its head, in eval mode, on the GPU when there is one."""
    import torchvision
    if name not in ENCODERS:
        raise AmuseError(f"features.encoder={name!r} is not one of {', '.join(ENCODERS)} (or null)")
    path = _weights_file(name, weights)
    model = getattr(torchvision.models, ENCODERS[name][0])(weights=None)
    try:
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as e:  # noqa: BLE001 - any unreadable or mismatched file gets the same advice
        raise AmuseError(f"features.encoder_weights: {path} is not {name} weights ({str(e)[:120]})") from None
    if name == "resnet18":
        model.fc = torch.nn.Identity()
    else:
        model.head = torch.nn.Identity()
    return model.eval().to("cuda" if torch.cuda.is_available() else "cpu")


def embed(frames: np.ndarray, name: str, weights: str | None) -> np.ndarray:
    """uint8 [T, 3, H, W] -> float16 [T, D], all frames of a video in one batch."""
    model = load_encoder(name, weights)
    device = next(model.parameters()).device
    x = torch.from_numpy(frames).to(device).float() / 255.0
    mean = torch.tensor(IMAGENET_MEAN, device=device)[None, :, None, None]
    std = torch.tensor(IMAGENET_STD, device=device)[None, :, None, None]
    with torch.inference_mode():
        return model((x - mean) / std).float().cpu().numpy().astype(np.float16)
