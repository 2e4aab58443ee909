"""Amuse (the paper's method): Swin-V2 visual and audio streams and a question transformer, joined by
cross-modal adapters after each stage; rhythm/source branches (stage 1); question-gated fusion.

Switches for the paper's ablations: model.adapters (none | av | full), model.rhythm, model.source.
`size` picks width presets (tiny: the CPU demo; base: Swin-V2-T at 256 px); explicit keys win.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.errors import ConfigError
from amuse_cli.models.adapters import CrossModalAdapter, map_tokens
from amuse_cli.models.fusion import QuestionGatedFusion
from amuse_cli.models.inputs import ModelSpec, audio_images, frame_images
from amuse_cli.models.detector import PerformerScene
from amuse_cli.models.perception import (AudioSceneHead, VisualSceneHead, audio_map, audio_scene, head_logits,
                                         pooled, scene_from_logits, stream_maps)
from amuse_cli.models.question import QuestionEncoder, piece_count
from amuse_cli.models.regions import build_regions, pool_regions
from amuse_cli.models.reasoner import GroundedReasoner
from amuse_cli.models.swin import SwinStream, build_swin
from amuse_cli.models.temporal import RhythmSourceBranches
from amuse_cli.registry import register

PRESETS = {
    "tiny": dict(backbone="tiny", image_size=64, audio_size=64, dim=96, question_layers=1, temporal_dim=32,
                 question_stages=1),
    "base": dict(backbone="swin_v2_t", image_size=256, audio_size=256, dim=256, question_layers=2,
                 temporal_dim=64, question_stages=4),
}
VIDEO_KEYS = ("frames", "logmel", "frame_mask", "segment_mask")  # what depends on the video alone
# Videos per batch are padded to a multiple of this: CPU convolutions set up kernels per input
# shape (seconds each), so a few distinct shapes keep every epoch after the first fast.
VIDEO_BUCKET = 4
ADAPTERS = ("none", "av", "full")
FUSIONS = ("gated", "grounded")
SCENE_KEYS = ("cols", "classes", "glob")  # what the grounded head reads; per video, question-independent
PERCEPTION = "amuse-perception"           # the `kind` of a file written by `amuse pretrain`


def load_perception(model: nn.Module, state: dict, parts: tuple[str, ...]) -> None:
    """Streams (and scene heads) from an `amuse pretrain` file; the streams then train only their
    norms and position tables, as a pretrained Swin-V2 does in the paper. Absent streams are skipped."""
    for name in parts:
        module = getattr(model, name, None)
        if module is None:
            continue
        try:
            module.load_state_dict(state[name])
        except (RuntimeError, KeyError) as e:
            raise ConfigError(f"the perception file (model.weights) does not fit this version of the model "
                              f"({name}: {str(e).splitlines()[-1].strip()[:100]}); make it again with "
                              f"`amuse pretrain`") from None
        if name in ("visual", "audio"):
            for n, prm in module.named_parameters():
                prm.requires_grad = "norm" in n or n == "pos"


def read_perception(weights: str) -> dict | None:
    """The contents of an `amuse pretrain` file, or None for torchvision weights / none / DEFAULT."""
    if str(weights).lower() in ("none", "default") or not str(weights).endswith(".pt"):
        return None
    from pathlib import Path
    path = Path(weights)
    shipped = Path(__file__).resolve().parents[2] / path  # recipes name shipped files from the checkout's root
    if not path.is_file() and not path.is_absolute() and shipped.is_file():
        path = shipped
    if not path.is_file():
        raise ConfigError(f"model.weights file {path} not found; make it with `make perception` (or "
                          f"`amuse pretrain`), or set model.weights=none")
    state = torch.load(path, map_location="cpu", weights_only=True)
    return state if isinstance(state, dict) and state.get("kind") == PERCEPTION else None


def preset(size: str, **explicit) -> dict:
    if size not in PRESETS:
        raise ConfigError(f"unknown model.size {size!r}; use one of {', '.join(PRESETS)}")
    return {k: (explicit[k] if explicit.get(k) is not None else v) for k, v in PRESETS[size].items()}


def unique_videos(batch: dict) -> tuple[dict, torch.Tensor]:
    """One row per distinct video of the batch (key `video`, added by the engine) and the map back.

    Questions about one video share its encoding up to the first question adapter: the engine
    batches several questions per video, so the backbones run once per video, not per question.
    """
    b = batch["frame_mask"].shape[0]
    if "video" not in batch:
        return batch, torch.arange(b, device=batch["frame_mask"].device)
    _, inv = torch.unique(batch["video"], return_inverse=True)
    n = int(inv.max()) + 1
    first = torch.full((n,), b, device=inv.device).scatter_reduce(0, inv, torch.arange(b, device=inv.device), "amin")
    first = torch.cat([first, first[:1].expand(-n % VIDEO_BUCKET)])  # padding rows: never read back
    return {k: batch[k][first] for k in VIDEO_KEYS}, inv


def frame_vectors(x: torch.Tensor, spatial: bool) -> torch.Tensor:
    """Final map [N, h, w, C] -> [N, k*C]: mean, plus left/middle/right columns (visual) or max (audio)."""
    mean = x.mean(dim=(1, 2))
    if spatial:
        cols = F.adaptive_avg_pool2d(x.permute(0, 3, 1, 2), (1, 3)).flatten(1)
        return torch.cat([mean, cols], dim=-1)
    return torch.cat([mean, x.amax(dim=(1, 2))], dim=-1)


class AVQANet(nn.Module):
    """Audio and/or visual Swin-V2 streams + question encoder + optional adapters and branches."""

    def __init__(self, spec: ModelSpec, *, size="base", backbone=None, weights="none", shared=False,
                 image_size=None, audio_size=None, dim=None, adapters="full", rhythm=True, source=True,
                 question_layers=None, temporal_dim=None, question_stages=None, audio=True, visual=True,
                 gated=True, fusion="gated", columns=4, question="words", rois="none", word_dropout=None,
                 sentence="none"):
        super().__init__()
        if adapters not in ADAPTERS:
            raise ConfigError(f"model.adapters={adapters!r}; use one of {', '.join(ADAPTERS)}")
        if fusion not in FUSIONS:
            raise ConfigError(f"model.fusion={fusion!r}; use one of {', '.join(FUSIONS)}")
        perception = read_perception(weights)
        self.performers = None
        if perception is not None:
            backbone, image_size, audio_size = (perception["config"][k] for k in ("backbone", "image_size", "audio_size"))
            columns = perception["config"]["columns"]
            if "performers" in perception and fusion == "grounded":   # performers found in the frames
                self.performers = PerformerScene(slots=perception["config"]["slots"])
                columns = perception["config"]["slots"]
        p = preset(size, backbone=backbone, image_size=image_size, audio_size=audio_size, dim=dim,
                   question_layers=question_layers, temporal_dim=temporal_dim, question_stages=question_stages)
        pretrained = str(weights).lower() != "none"
        grounded = fusion == "grounded"
        if grounded and (adapters != "none" or rhythm or source or not (audio and visual)):
            raise ConfigError("model.fusion=grounded reads the scene of frozen pretrained streams: set "
                              "model.adapters=none model.rhythm=false model.source=false")
        if perception is not None:
            weights = "none"  # the streams' weights come from the perception file below
        self.adapters, self.frames = adapters, spec.frames
        self.question = QuestionEncoder(spec.vocab_size, spec.max_tokens, p["dim"], p["question_layers"],
                                        n_pieces=piece_count(question, spec.vocab), sentence=sentence)
        self.visual = SwinStream(build_swin(p["backbone"], weights), p["image_size"], pretrained) if visual else None
        self.audio = None
        if audio:
            self.audio = self.visual if (shared and visual) else SwinStream(
                build_swin(p["backbone"], weights), p["audio_size"], pretrained)
        self.audio_size = p["audio_size"]
        stream = self.visual or self.audio
        dims = stream.dims
        self.av = nn.ModuleList()
        self.qx = nn.ModuleList()
        if audio and visual and adapters in ("av", "full"):
            self.av = nn.ModuleList(nn.ModuleDict({"v": CrossModalAdapter(d, d), "a": CrossModalAdapter(d, d)})
                                    for d in dims)
        # question adapters on the last question_stages stages (all of them in the GPU recipe)
        self.q_from = max(0, len(dims) - p["question_stages"]) if adapters == "full" else len(dims)
        self.qx = nn.ModuleDict({str(s): nn.ModuleDict({m: CrossModalAdapter(d, p["dim"]) for m, on in
                                                        (("v", visual), ("a", audio)) if on})
                                 for s, d in enumerate(dims) if s >= self.q_from})
        self.regions = build_regions(rois, perception) if not grounded and visual else None
        kinds = [k for k, on in (("rhythm", rhythm), ("source", source)) if on]
        mods = [m for m, on in (("audio", audio), ("visual", visual)) if on]
        self.stage1 = RhythmSourceBranches(kinds, mods, p["temporal_dim"]) if kinds else None
        branches = {}
        if visual:
            branches["visual"] = dims[-1] * 4
        if audio:
            branches["audio"] = dims[-1] * 2
        if self.stage1 is not None:
            branches.update({n: p["temporal_dim"] for n in self.stage1.encoders})
        if self.regions is not None:
            branches["rois"] = 2 * (5 + self.regions.dim)
        self.grounded = grounded
        if grounded:
            self.scene_visual = VisualSceneHead(dims[-1], columns)
            tagger = int((perception or {}).get("config", {}).get("frame_tagger", 0))   # as the file was made
            self.scene_audio = AudioSceneHead(dims[-1] * 2, mels=int(spec.shapes["logmel"][1]), frame_tagger=tagger)
        if perception is not None:
            load_perception(self, perception, ("visual", "audio") + (("scene_visual", "scene_audio") if grounded else ())
                            + (("performers",) if self.performers is not None else ()))
        if grounded:
            self.fusion = GroundedReasoner(list(spec.words), spec.max_tokens, spec.frames, spec.n_answers, dim=64,
                                           question=question, vocab=spec.vocab, word_dropout=word_dropout,
                                           sentence=sentence)
            self.question = None
            for module in (self.visual, self.audio, self.scene_visual, self.scene_audio, self.performers):
                if module is not None:
                    module.requires_grad_(False)  # frozen: the scene is computed once per video
        else:
            self.fusion = QuestionGatedFusion(branches, p["dim"], p["dim"], spec.frames, spec.n_answers, gated)

    @torch.no_grad()
    def scene(self, video: dict) -> dict:
        """Per-frame scene of each video (models/scene.py layout) from the streams and scene heads."""
        b, t = video["frame_mask"].shape
        if self.performers is None:                       # one performer per image column (classic world)
            maps = stream_maps(self.visual, self.audio, video, self.audio_size)
            return scene_from_logits(*head_logits(self.scene_visual, self.scene_audio, *maps), b, t)
        a, windows = audio_map(self.audio, video, self.audio_size)
        classes, voice = audio_scene(*self.scene_audio(pooled(a), windows), b, t)
        found = [self.performers.clip(video["frames"][i], video["frame_mask"][i]) for i in range(b)]
        glob = torch.stack([voice, torch.stack([f["indoor"] for f in found]).to(voice)], -1)
        return {"cols": torch.stack([f["cols"] for f in found]).to(voice), "classes": classes, "glob": glob}

    def forward(self, batch: dict) -> torch.Tensor:
        if self.grounded:
            if all(k in batch for k in SCENE_KEYS):  # precomputed once per video (engine.datasets.with_scenes)
                scene = {k: batch[k] for k in SCENE_KEYS}
            else:
                video, inv = unique_videos(batch)
                scene = {k: v[inv] for k, v in self.scene(video).items()}
            return self.fusion(batch["question"], scene["cols"], scene["classes"], scene["glob"], batch.get("pieces"),
                               batch.get("sentence"))
        b, t = batch["frame_mask"].shape
        qt, qpad, q = self.question(batch["question"], batch.get("pieces"), batch.get("sentence"))
        video, inv = unique_videos(batch)
        per_question = False  # maps hold one row per video until a question adapter needs them per question

        def expand(x):  # [V*T, ...] -> [B*T, ...]
            return None if x is None else x.view(-1, t, *x.shape[1:])[inv].flatten(0, 1)

        v = self.visual.prepare(frame_images(video)) if self.visual is not None else None
        a = self.audio.prepare(audio_images(video, self.audio_size), imagenet_norm=False) if self.audio else None
        for s in range(len((self.visual or self.audio).stages)):
            v = self.visual.stages[s](v) if v is not None else None
            a = self.audio.stages[s](a) if a is not None else None
            if self.av:
                v, a = self.av[s]["v"](v, map_tokens(a)), self.av[s]["a"](a, map_tokens(v))
            if str(s) in self.qx:
                if not per_question:
                    v, a, per_question = expand(v), expand(a), True
                    qt_t, qpad_t = qt.repeat_interleave(t, 0), qpad.repeat_interleave(t, 0)
                v = self.qx[str(s)]["v"](v, qt_t, qpad_t) if v is not None else None
                a = self.qx[str(s)]["a"](a, qt_t, qpad_t) if a is not None else None
        if not per_question:
            v, a = expand(v), expand(a)
        feats = {}
        if v is not None:
            feats["visual"] = frame_vectors(self.visual.norm(v), spatial=True).view(b, t, -1)
        if a is not None:
            feats["audio"] = frame_vectors(self.audio.norm(a), spatial=False).view(b, t, -1)
        if self.stage1 is not None:
            feats.update({k: f[inv] for k, f in self.stage1(video).items()})
        if self.regions is not None:
            tokens = batch["regions"] if "regions" in batch else self.regions(video["frames"], video["frame_mask"])[inv]
            feats["rois"] = pool_regions(tokens)
        return self.fusion(feats, batch["frame_mask"], q)

    @torch.no_grad()
    def video_inputs(self, video: dict) -> dict:
        """What a frozen part computes from a video alone, once per video before training
        (engine.datasets.with_scenes): the grounded head's scene, or the gated model's region tokens."""
        if self.grounded:
            return self.scene(video)
        if self.regions is not None:
            return {"regions": self.regions(video["frames"], video["frame_mask"])}
        return {}


@register("model", "amuse")
def amuse(spec: ModelSpec, *, size: str = "base", backbone: str = None, weights: str = "none",
          shared: bool = False, image_size: int = None, audio_size: int = None, dim: int = None,
          adapters: str = "full", rhythm: bool = True, source: bool = True, question_layers: int = None,
          temporal_dim: int = None, question_stages: int = None, fusion: str = "gated", columns: int = 4,
          rois: str = "none", question: str = "words", word_dropout: float = None, sentence: str = "none"):
    """Amuse; backbone tiny | swin_v2_t | swin_v2_s | swin_v2_b; weights none | DEFAULT | <file>
    (torchvision weights, or an `amuse pretrain` perception file); question_stages: how many final
    backbone stages get question->visual/audio adapters; fusion gated (the paper's) | grounded
    (models/reasoner.py, over the scene that the pretrained streams report, `columns` per frame; with a
    performer detector in the perception file, the performers it finds); rois: the region branch of the
    gated fusion, none | performers | torchvision:<detection model>[=<weights>] (models/regions.py);
    question: words (word ids, an unknown word is <unk>) | pieces (character n-grams too, so words
    training never showed are read: models/pieces.py); word_dropout: share of training words read as
    <unk> by the grounded head's reader (default: none for words, 0.3 for pieces); sentence: none | minilm
    (a frozen pretrained sentence encoder's vector of each question joins the question summary:
    models/sentence.py)."""
    return AVQANet(spec, size=size, backbone=backbone, weights=weights, shared=shared, image_size=image_size,
                   audio_size=audio_size, dim=dim, adapters=adapters, rhythm=rhythm, source=source,
                   question_layers=question_layers, temporal_dim=temporal_dim, question_stages=question_stages,
                   fusion=fusion, columns=columns, question=question, rois=rois, word_dropout=word_dropout,
                   sentence=sentence)
