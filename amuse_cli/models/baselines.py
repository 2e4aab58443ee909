"""Baselines on the same data path and metrics as Amuse: the rows papers of the field print beside it."""
from __future__ import annotations

import torch
from torch import nn

from amuse_cli.models.amuse import AVQANet, frame_vectors, load_perception, preset, read_perception
from amuse_cli.models.inputs import ModelSpec, audio_images, frame_images
from amuse_cli.models.question import QuestionEncoder
from amuse_cli.models.swin import SwinStream, build_swin
from amuse_cli.registry import register


class AnswerPrior(nn.Module):
    """Majority answer per template, counted on the train split (blind; no gradient training)."""

    trainable = False

    def __init__(self, spec: ModelSpec):
        super().__init__()
        # last row: every template together, for free-text questions (template -1)
        self.register_buffer("counts", torch.zeros(spec.n_templates + 1, spec.n_answers))

    def fit_prior(self, templates: torch.Tensor, answers: torch.Tensor) -> None:
        self.counts.zero_()
        rows = torch.where(templates < 0, self.counts.shape[0] - 1, templates)
        self.counts.index_put_((rows, answers), torch.ones_like(answers, dtype=self.counts.dtype), accumulate=True)
        self.counts[-1] = self.counts[:-1].sum(0)

    def forward(self, batch):
        t = batch["template"]
        rows = torch.where(t < 0, self.counts.shape[0] - 1, t)
        c = self.counts[rows]
        c = torch.where(c.sum(-1, keepdim=True) > 0, c, self.counts[-1].expand_as(c))  # unseen template
        return torch.log(c + 1e-3)


class QuestionOnly(nn.Module):
    def __init__(self, spec: ModelSpec, dim: int, layers: int):
        super().__init__()
        self.question = QuestionEncoder(spec.vocab_size, spec.max_tokens, dim, layers)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim), nn.GELU(), nn.Linear(dim, spec.n_answers))

    def forward(self, batch):
        return self.head(self.question(batch["question"])[2])


class STAVQA(nn.Module):
    """After Li et al. 2022: audio-guided visual (spatial) attention per frame, question-guided
    temporal attention over the audio and visual sequences, fused by product with the question."""

    def __init__(self, spec: ModelSpec, p: dict, weights: str):
        super().__init__()
        pretrained = str(weights).lower() != "none"
        perception = read_perception(weights)
        if perception is not None:
            p = {**p, **{k: perception["config"][k] for k in ("backbone", "image_size", "audio_size")}}
        d = p["dim"]
        self.question = QuestionEncoder(spec.vocab_size, spec.max_tokens, d, p["question_layers"])
        stream_weights = "none" if perception is not None else weights
        self.visual = SwinStream(build_swin(p["backbone"], stream_weights), p["image_size"], pretrained)
        self.audio = SwinStream(build_swin(p["backbone"], stream_weights), p["audio_size"], pretrained)
        if perception is not None:
            load_perception(self, perception, ("visual", "audio"))
        self.audio_size = p["audio_size"]
        c = self.visual.dims[-1]
        self.v_proj, self.a_proj = nn.Linear(c, d), nn.Linear(self.audio.dims[-1] * 2, d)
        self.time = nn.Parameter(torch.zeros(1, spec.frames, d))
        self.t_att_a = nn.MultiheadAttention(d, 4, batch_first=True)
        self.t_att_v = nn.MultiheadAttention(d, 4, batch_first=True)
        self.fuse = nn.Sequential(nn.Linear(2 * d, d), nn.Tanh())
        self.head = nn.Sequential(nn.Linear(d, d), nn.GELU(), nn.Linear(d, spec.n_answers))

    @staticmethod
    def _run(stream, x):
        for stage in stream.stages:
            x = stage(x)
        return stream.norm(x)

    def forward(self, batch):
        b, t = batch["frame_mask"].shape
        q = self.question(batch["question"])[2]
        vmap = self.v_proj(self._run(self.visual, self.visual.prepare(frame_images(batch))).flatten(1, 2))
        amap = self._run(self.audio, self.audio.prepare(audio_images(batch, self.audio_size), imagenet_norm=False))
        a = self.a_proj(frame_vectors(amap, spatial=False))                         # [B*T, d]
        w = (vmap @ a.unsqueeze(-1)).squeeze(-1).div(vmap.shape[-1] ** 0.5).softmax(-1)  # where the sound is
        v = (w.unsqueeze(-1) * vmap).sum(1)
        a, v = a.view(b, t, -1) + self.time[:, :t], v.view(b, t, -1) + self.time[:, :t]
        pad = ~(batch["frame_mask"] | (~batch["frame_mask"]).all(1, keepdim=True))
        qa = self.t_att_a(q.unsqueeze(1), a, a, key_padding_mask=pad, need_weights=False)[0].squeeze(1)
        qv = self.t_att_v(q.unsqueeze(1), v, v, key_padding_mask=pad, need_weights=False)[0].squeeze(1)
        return self.head(self.fuse(torch.cat([qa, qv], -1)) * q)


# `size` and `weights` are accepted by every builder so baseline recipes can inherit amuse-tiny.yaml's
# model section; models without streams ignore `weights`.
@register("model", "prior")
def prior(spec: ModelSpec, *, size: str = "base", weights: str = "none"):
    """Majority answer per template on train (size and weights are ignored: the prior has no weights)."""
    return AnswerPrior(spec)


@register("model", "question_only")
def question_only(spec: ModelSpec, *, size: str = "base", weights: str = "none", dim: int = None,
                  question_layers: int = None):
    """A question transformer and an MLP (weights is ignored: no streams)."""
    p = preset(size, dim=dim, question_layers=question_layers)
    return QuestionOnly(spec, p["dim"], p["question_layers"])


@register("model", "audio_only")
def audio_only(spec: ModelSpec, *, size: str = "base", backbone: str = None, weights: str = "none",
               audio_size: int = None, dim: int = None):
    return AVQANet(spec, size=size, backbone=backbone, weights=weights, audio_size=audio_size, dim=dim,
                   adapters="none", rhythm=False, source=False, visual=False)


@register("model", "visual_only")
def visual_only(spec: ModelSpec, *, size: str = "base", backbone: str = None, weights: str = "none",
                image_size: int = None, dim: int = None):
    return AVQANet(spec, size=size, backbone=backbone, weights=weights, image_size=image_size, dim=dim,
                   adapters="none", rhythm=False, source=False, audio=False)


@register("model", "st_avqa")
def st_avqa(spec: ModelSpec, *, size: str = "base", backbone: str = None, weights: str = "none",
            image_size: int = None, audio_size: int = None, dim: int = None):
    p = preset(size, backbone=backbone, image_size=image_size, audio_size=audio_size, dim=dim)
    return STAVQA(spec, p, weights)


@register("model", "lavish")
def lavish(spec: ModelSpec, *, size: str = "base", backbone: str = None, weights: str = "none",
           image_size: int = None, audio_size: int = None, dim: int = None):
    """Audio<->visual adapters only; the question joins late (no question adapters or gates)."""
    return AVQANet(spec, size=size, backbone=backbone, weights=weights, image_size=image_size,
                   audio_size=audio_size, dim=dim, adapters="av", rhythm=False, source=False, gated=False)
