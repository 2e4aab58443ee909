"""Source labelers (registry kind "source_labeler"): per segment, the number of active instrument
sources [S] and how much each of the 22 instrument classes is heard [S, 22].

`meta`: exact values from a synthetic dataset's ground truth. `tagger`: a PANNs Cnn14-style AudioSet
tagger run over each segment; like Amuse, a class counts when its probability is >= the threshold,
and classes of one instrument family (Guitar / Acoustic guitar, ...) count once; a class's level is
the highest probability among its AudioSet classes (INSTRUMENT_AUDIOSET). Weights are a file the
user supplies (Cnn14_16k from PANNs); their width is read from the file, so tests use a tiny one.

Speed and memory (bench/tagger.py): all segments of a video, or of several videos
(TaggerLabeler.label_videos), go through the tagger in one forward pass, on the GPU when there is one
(tagger_device). The weights are memory-mapped, so worker processes share one copy in the page cache;
max_tagger_workers says how many workers fit in the free memory.
"""
from __future__ import annotations

import os
import zipfile
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.errors import AmuseError
from amuse_cli.registry import register

PANNS_URL = "https://zenodo.org/record/3987831 (file Cnn14_16k_mAP=0.438.pth)"
TAGGER_RATE = 16000        # Hz, Cnn14_16k front end
TAGGER_WIN = 512           # samples (32 ms)
TAGGER_HOP = 160           # samples (10 ms)
TAGGER_FMIN, TAGGER_FMAX = 50.0, 8000.0  # Hz
AUDIOSET_CLASSES = 527
FIRST_INSTRUMENT_INDEX = 138  # "Musical instrument" in AudioSet's class_labels_indices.csv
AUDIOSET_INSTRUMENTS = (  # indices 138..214, in the ontology's order
    "Musical instrument", "Plucked string instrument", "Guitar", "Electric guitar", "Bass guitar",
    "Acoustic guitar", "Steel guitar, slide guitar", "Tapping (guitar technique)", "Strum", "Banjo",
    "Sitar", "Mandolin", "Zither", "Ukulele", "Keyboard (musical)", "Piano", "Electric piano", "Organ",
    "Electronic organ", "Hammond organ", "Synthesizer", "Sampler", "Harpsichord", "Percussion",
    "Drum kit", "Drum machine", "Drum", "Snare drum", "Rimshot", "Drum roll", "Bass drum", "Timpani",
    "Tabla", "Cymbal", "Hi-hat", "Wood block", "Tambourine", "Rattle (instrument)", "Maraca", "Gong",
    "Tubular bells", "Mallet percussion", "Marimba, xylophone", "Glockenspiel", "Vibraphone",
    "Steelpan", "Orchestra", "Brass instrument", "French horn", "Trumpet", "Trombone",
    "Bowed string instrument", "String section", "Violin, fiddle", "Pizzicato", "Cello",
    "Double bass", "Wind instrument, woodwind instrument", "Flute", "Saxophone", "Clarinet", "Harp",
    "Bell", "Church bell", "Jingle bell", "Bicycle bell", "Tuning fork", "Chime", "Wind chime",
    "Change ringing (campanology)", "Harmonica", "Accordion", "Bagpipes", "Didgeridoo", "Shofar",
    "Theremin", "Singing bowl")
# Umbrella categories and playing techniques say nothing about how many sources play.
NOT_A_SOURCE = {"Musical instrument", "Plucked string instrument", "Keyboard (musical)", "Percussion",
                "Mallet percussion", "Orchestra", "Brass instrument", "Bowed string instrument",
                "String section", "Wind instrument, woodwind instrument", "Tapping (guitar technique)",
                "Strum", "Rimshot", "Drum roll", "Pizzicato", "Change ringing (campanology)",
                "Bicycle bell", "Tuning fork"}
FAMILY = {"Electric guitar": "Guitar", "Acoustic guitar": "Guitar", "Steel guitar, slide guitar": "Guitar",
          "Electric piano": "Piano", "Electronic organ": "Organ", "Hammond organ": "Organ",
          "Drum kit": "Drum", "Drum machine": "Drum", "Snare drum": "Drum", "Bass drum": "Drum",
          "Cymbal": "Drum", "Hi-hat": "Drum", "Church bell": "Bell", "Jingle bell": "Bell"}

# MUSIC-AVQA class -> its AudioSet classes; where AudioSet has none of its own (bassoon, congas,
# erhu, guzheng, pipa, suona, tuba) the nearest umbrella or sibling class stands in.
INSTRUMENT_AUDIOSET = {
    "accordion": ("Accordion",), "acoustic_guitar": ("Acoustic guitar", "Guitar"), "bagpipe": ("Bagpipes",),
    "banjo": ("Banjo",), "bassoon": ("Wind instrument, woodwind instrument",), "cello": ("Cello",),
    "clarinet": ("Clarinet",), "congas": ("Drum", "Tabla"), "drum": ("Drum", "Drum kit", "Snare drum", "Bass drum"),
    "electric_bass": ("Bass guitar",), "erhu": ("Bowed string instrument",), "flute": ("Flute",),
    "guzheng": ("Zither",), "piano": ("Piano", "Electric piano"), "pipa": ("Plucked string instrument", "Mandolin"),
    "saxophone": ("Saxophone",), "suona": ("Wind instrument, woodwind instrument",), "trumpet": ("Trumpet",),
    "tuba": ("Brass instrument",), "ukulele": ("Ukulele",), "violin": ("Violin, fiddle",),
    "xylophone": ("Marimba, xylophone",),
}


def instrument_families() -> dict[int, str]:
    """AudioSet class index -> instrument family, for the classes that count as a source."""
    return {FIRST_INSTRUMENT_INDEX + i: FAMILY.get(name, name)
            for i, name in enumerate(AUDIOSET_INSTRUMENTS) if name not in NOT_A_SOURCE}


def empty_labels(segments: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(segments, np.float32), np.zeros((segments, len(INSTRUMENTS)), np.float32)


class MetaLabeler:
    """Counts and class levels from the synthetic ground truth (docs/INTERFACES.md section 1)."""

    needs_meta = True

    def __call__(self, audio, sample_rate, bounds, mask, meta):
        from amuse_cli.features.truth import segment_source_classes, segment_sources
        return segment_sources(meta, bounds, mask), segment_source_classes(meta, bounds, mask)


@register("source_labeler", "meta")
def build_meta(settings: dict) -> MetaLabeler:
    return MetaLabeler()


class NoLabeler:
    """No source labels (zeros): real videos without tagger weights. The source branch, which
    learns from these labels, must then be off (model.source=false); training says so."""

    needs_meta = False

    def __call__(self, audio, sample_rate, bounds, mask, meta):
        return empty_labels(len(bounds))


@register("source_labeler", "none")
def build_none(settings: dict) -> NoLabeler:
    return NoLabeler()


class _ConvBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn1, self.bn2 = nn.BatchNorm2d(cout), nn.BatchNorm2d(cout)

    def forward(self, x, pool):
        x = F.relu_(self.bn1(self.conv1(x)))
        x = F.relu_(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, pool)


class Cnn14(nn.Module):
    """PANNs Cnn14 (Kong et al. 2020) with its parameter names, so released weights load as-is.

    `width` is the first block's channels (64 in the release); blocks double it up to 32x.
    """

    def __init__(self, width: int = 64, mel_bins: int = 64, classes: int = AUDIOSET_CLASSES):
        super().__init__()
        self.bn0 = nn.BatchNorm2d(mel_bins)
        chans = [1] + [width * m for m in (1, 2, 4, 8, 16, 32)]
        for i in range(6):
            setattr(self, f"conv_block{i + 1}", _ConvBlock(chans[i], chans[i + 1]))
        self.fc1 = nn.Linear(chans[-1], chans[-1])
        self.fc_audioset = nn.Linear(chans[-1], classes)
        # Explicitly on the CPU: real even when the layers are built on the meta device (load_cnn14).
        self.register_buffer("melW", torch.from_numpy(_mel_filters(mel_bins)), persistent=False)
        self.register_buffer("window", torch.hann_window(TAGGER_WIN, device="cpu"), persistent=False)

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] at 16 kHz -> [B, 1, frames, mel] in dB, as PANNs' torchlibrosa front end."""
        spec = torch.stft(wave, TAGGER_WIN, TAGGER_HOP, window=self.window,
                          center=True, pad_mode="reflect", return_complex=True).abs() ** 2
        mel = torch.matmul(spec.transpose(1, 2), self.melW)
        return (10.0 * torch.log10(mel.clamp(min=1e-10)))[:, None]

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] -> clip-wise class probabilities [B, classes]."""
        x = self.logmel(wave).transpose(1, 3)
        x = self.bn0(x).transpose(1, 3)
        for i in range(6):
            x = getattr(self, f"conv_block{i + 1}")(x, (2, 2) if i < 5 else (1, 1))
        x = x.mean(dim=3)
        x = x.max(dim=2).values + x.mean(dim=2)
        return torch.sigmoid(self.fc_audioset(F.relu_(self.fc1(x))))


def _mel_filters(mel_bins: int) -> np.ndarray:
    import librosa
    return librosa.filters.mel(sr=TAGGER_RATE, n_fft=TAGGER_WIN, n_mels=mel_bins,
                               fmin=TAGGER_FMIN, fmax=TAGGER_FMAX).T.astype(np.float32)


def _read_state(path: Path) -> dict:
    """The checkpoint's tensors, memory-mapped where the file allows it (torch.save's zip format):
    mapped pages live in the page cache, shared by every worker process instead of copied into each."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # legacy (pre-zip) format cannot be mapped: read it into memory
        return torch.load(path, map_location="cpu", weights_only=True)


def load_cnn14(path: str | Path | None, device: str | torch.device = "cpu") -> Cnn14:
    """A Cnn14 from a PANNs checkpoint ({'model': state_dict} or a bare state_dict), in eval mode on
    `device`."""
    if not path:
        raise AmuseError(f"features.source_method=tagger needs weights: download {PANNS_URL} and pass "
                         f"features.tagger_weights=/path/to/Cnn14_16k_mAP=0.438.pth")
    path = Path(path)
    if not path.is_file():
        raise AmuseError(f"features.tagger_weights: {path} not found; download {PANNS_URL}")
    try:
        state = _read_state(path)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise AmuseError(f"features.tagger_weights: {path} is not a PyTorch checkpoint ({e}); "
                         f"download {PANNS_URL}") from None
    state = state.get("model", state) if isinstance(state, dict) else state
    try:
        width = state["conv_block1.conv1.weight"].shape[0]
        with torch.device("meta"):  # no memory for layers whose tensors the checkpoint replaces
            model = Cnn14(width, state["bn0.weight"].shape[0], state["fc_audioset.weight"].shape[0])
        front = ("spectrogram_extractor.", "logmel_extractor.")  # PANNs' own front end: ours replaces it
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(front)}, assign=True)
    except (KeyError, RuntimeError, AttributeError) as e:
        raise AmuseError(f"features.tagger_weights: {path} is not Cnn14 weights ({str(e)[:120]}); "
                         f"download {PANNS_URL}") from None
    if model.fc_audioset.out_features != AUDIOSET_CLASSES:
        raise AmuseError(f"features.tagger_weights: {path} predicts {model.fc_audioset.out_features} "
                         f"classes, not AudioSet's {AUDIOSET_CLASSES}")
    return model.eval().to(device)


def tagger_device(requested: str | None = "auto") -> torch.device:
    """Where the tagger runs. `auto` (or unset): the GPU when CUDA is present, under torchrun the
    one of this node-local rank (LOCAL_RANK modulo the GPUs), else the CPU. `cpu`, `cuda`, `cuda:N`:
    as asked. The device changes timing only: on CUDA the tagger runs in true fp32 (no TF32), so the
    labels match the CPU's within float tolerance, and the cache hash never includes the device."""
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        if not torch.cuda.is_available():
            return torch.device("cpu")
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)) % torch.cuda.device_count())
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise AmuseError(f"features.device={requested}: use auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise AmuseError(f"features.device={requested} but CUDA is not available here; "
                         f"use features.device=auto or cpu")
    if device.type not in ("cpu", "cuda"):
        raise AmuseError(f"features.device={requested}: use auto, cpu, cuda or cuda:N")
    return device


@contextmanager
def exact_fp32(device: torch.device):
    """cuDNN convolutions default to TF32 (10-bit mantissa) on Ampere and later: turn it off so the
    GPU's probabilities stay within float tolerance of the CPU's (the thresholded labels must agree).
    Cnn14 in fp32 is far from the bottleneck on a GPU (bench/tagger.py), so nothing is lost."""
    if device.type != "cuda":
        yield
        return
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


# Segments per forward pass. Peak activations are ~17 MB per 3 s segment at the release width
# (bench/tagger.py): on CPU 10 per pass keep two workers' whole extraction under 2.5 GB (PSS 2.32
# against 2.55 GB with 32; bench/real_extract.py) at the same speed; on CUDA, large passes pay.
MAX_SEGMENTS_PER_FORWARD = {"cpu": 10, "cuda": 256}


class TaggerLabeler:
    needs_meta = False

    def __init__(self, model: Cnn14, threshold: float, max_segments: int | None = None):
        self.model, self.threshold = model, threshold
        self.device = model.fc_audioset.weight.device
        self.max_segments = max_segments or MAX_SEGMENTS_PER_FORWARD[self.device.type]
        fam = instrument_families()
        self.index = torch.tensor(sorted(fam))
        names = sorted(set(fam.values()))
        # [classes counted, families] one-hot: a family is present when any of its classes is
        self.members = torch.zeros(len(fam), len(names))
        for row, i in enumerate(sorted(fam)):
            self.members[row, names.index(fam[i])] = 1.0
        audioset = {name: FIRST_INSTRUMENT_INDEX + i for i, name in enumerate(AUDIOSET_INSTRUMENTS)}
        self.class_index = [[audioset[n] for n in INSTRUMENT_AUDIOSET[c]] for c in INSTRUMENTS]

    def segment_batch(self, audio: np.ndarray, sample_rate: int, bounds: np.ndarray) -> torch.Tensor:
        """[S, samples] at 16 kHz on the tagger's device: each segment, padded with silence to the
        video's longest (at least one STFT window)."""
        wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device)
        if sample_rate != TAGGER_RATE:
            import torchaudio.functional as AF
            wave = AF.resample(wave, sample_rate, TAGGER_RATE)
        spans = [(int(t0 * TAGGER_RATE), int(t1 * TAGGER_RATE)) for t0, t1 in bounds]
        batch = nn.utils.rnn.pad_sequence([wave[a:b] for a, b in spans], batch_first=True)
        # the longest span, not piece: a segment past the audio's end is padded as before
        longest = max(max(b - a for a, b in spans), TAGGER_WIN)
        return F.pad(batch, (0, longest - batch.shape[1]))

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        """[N, samples] -> [N, 527] probabilities on the CPU, in chunks of max_segments."""
        with torch.inference_mode(), exact_fp32(self.device):
            return torch.cat([self.model(chunk).float().cpu() for chunk in batch.split(self.max_segments)])

    def probabilities(self, audio: np.ndarray, sample_rate: int, bounds: np.ndarray) -> torch.Tensor:
        """[S, 527] class probabilities of each segment (padded with silence to the longest)."""
        return self.forward(self.segment_batch(audio, sample_rate, bounds))

    def probabilities_of_videos(self, batches: list[torch.Tensor]) -> list[torch.Tensor]:
        """segment_batch of several videos -> their probabilities, in as few forward passes as the
        padding allows: videos whose segments have one padded length (all but very short videos)
        share a pass; padding more than a video alone would changes the time means, so never done."""
        out: list[torch.Tensor | None] = [None] * len(batches)
        by_length: dict[int, list[int]] = {}
        for i, batch in enumerate(batches):
            by_length.setdefault(batch.shape[1], []).append(i)
        for members in by_length.values():
            probs = self.forward(torch.cat([batches[i] for i in members]))
            for i, p in zip(members, probs.split([len(batches[i]) for i in members])):
                out[i] = p
        return out

    def labels(self, probs: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """[S, 527] probabilities -> source counts [S] and instrument class levels [S, 22]."""
        present = ((probs[:, self.index] >= self.threshold).float() @ self.members) > 0
        levels = torch.stack([probs[:, idx].amax(dim=1) for idx in self.class_index], 1)
        return present.sum(dim=1).numpy(), levels.numpy()

    def label_videos(self, videos: list[tuple]) -> list[tuple[np.ndarray, np.ndarray]]:
        """[(audio, sample_rate, bounds, mask), ...] -> [(counts [S], levels [S, 22]), ...]: the
        valid segments of all the videos tagged together; silent videos and padding get zeros."""
        results = [empty_labels(len(bounds)) for _, _, bounds, _ in videos]
        tagged = [i for i, (audio, _, _, mask) in enumerate(videos) if np.any(mask) and np.any(audio)]
        batches = []
        for i in tagged:
            audio, sample_rate, bounds, mask = videos[i]
            batches.append(self.segment_batch(audio, sample_rate, bounds[np.flatnonzero(mask)]))
        for i, probs in zip(tagged, self.probabilities_of_videos(batches)):
            counts, levels = results[i]
            valid = np.flatnonzero(videos[i][3])
            counts[valid], levels[valid] = self.labels(probs)
        return results

    def __call__(self, audio, sample_rate, bounds, mask, meta=None):
        return self.label_videos([(audio, sample_rate, bounds, mask)])[0]


@lru_cache(maxsize=2)
def _cached_model(path: str, device: str) -> Cnn14:
    """One model per process and device: every video (and every threshold) of a worker shares it."""
    return load_cnn14(path, device)


@lru_cache(maxsize=4)
def _cached_tagger(path: str, threshold: float, device: str) -> TaggerLabeler:
    return TaggerLabeler(_cached_model(path, device), threshold)


def release_taggers() -> None:
    """Drop this process's cached taggers, e.g. in a parent whose workers load their own."""
    _cached_tagger.cache_clear()
    _cached_model.cache_clear()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


@register("source_labeler", "tagger")
def build_tagger(settings: dict) -> TaggerLabeler:
    """`settings["device"]` (auto when absent) is a run setting, not an extraction setting: the
    labels do not depend on it, so it must stay out of the cache hash (features/settings.py)."""
    weights = settings.get("tagger_weights")
    if not weights:
        load_cnn14(None)  # raises the error that says how to get the weights
    device = str(tagger_device(settings.get("device")))
    return _cached_tagger(str(weights), float(settings["tagger_threshold"]), device)


# --- how many extraction workers fit in memory ------------------------------------------------------

RELEASE_WIDTH = 64
RELEASE_PARAMETERS = 80_753_615     # Cnn14 at width 64, 64 mel bins, 527 classes (about 308 MiB fp32)
WORKER_RUNTIME_BYTES = 700 << 20    # a worker before the tagger: torch, librosa, decoding (545 MiB measured)
CUDA_RUNTIME_HOST_BYTES = 1536 << 20  # host memory CUDA and cuDNN add to a process (estimate)
CUDA_CONTEXT_BYTES = 600 << 20      # GPU memory of one process's CUDA context (estimate)
ACTIVATION_COPIES = 4               # first-block feature maps alive at the peak (3.5 measured)
MEMORY_HEADROOM = 0.8               # leave a fifth of the free memory to the system and the page cache


def available_memory_bytes() -> int:
    """MemAvailable from /proc/meminfo (free plus reclaimable cache); free pages where there is none."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def tagger_width(weights_bytes: int) -> float:
    """Cnn14's first-block width from its weights' size (parameters grow with width squared)."""
    return RELEASE_WIDTH * (weights_bytes / (4 * RELEASE_PARAMETERS)) ** 0.5


def tagger_activation_bytes(weights_bytes: int, segments: int = 20, segment_seconds: float = 3.0) -> int:
    """Peak activation memory of one forward pass over `segments` segments (the first block's
    [segments, width, frames, 64 mel] feature maps dominate)."""
    frames = int(segment_seconds * TAGGER_RATE / TAGGER_HOP) + 1
    return int(ACTIVATION_COPIES * segments * tagger_width(weights_bytes) * frames * 64 * 4)


def tagger_worker_bytes(weights_path: str | Path, device: str = "cpu", segments: int = 20,
                        segment_seconds: float = 3.0) -> dict[str, int]:
    """Estimated memory of one extraction worker holding the tagger: `host` per worker, `shared` once
    for all of them (the memory-mapped weights), `gpu` per worker on CUDA."""
    weights = Path(weights_path).stat().st_size
    activations = tagger_activation_bytes(weights, segments, segment_seconds)
    mapped = zipfile.is_zipfile(weights_path)  # legacy files are read into every worker's own memory
    if torch.device(device).type == "cuda":
        return {"host": WORKER_RUNTIME_BYTES + CUDA_RUNTIME_HOST_BYTES, "shared": weights,
                "gpu": CUDA_CONTEXT_BYTES + weights + 2 * activations}  # 2x: cuDNN workspaces
    return {"host": WORKER_RUNTIME_BYTES + activations + (0 if mapped else weights),
            "shared": weights if mapped else 0, "gpu": 0}


def max_tagger_workers(weights_path: str | Path, available_bytes: int | None = None, device: str = "cpu",
                       gpu_available_bytes: int | None = None, segments: int = 20,
                       segment_seconds: float = 3.0) -> int:
    """How many extraction worker processes, each holding the tagger, fit in memory (at least 1).

    `device`: a resolved one (str(tagger_device(...))), not `auto`. `available_bytes`: free host
    memory (MemAvailable when None); on CUDA also `gpu_available_bytes` (the device's free memory
    when None). Cap `--workers` with it; it does not count CPU cores."""
    need = tagger_worker_bytes(weights_path, device, segments, segment_seconds)
    free = MEMORY_HEADROOM * (available_memory_bytes() if available_bytes is None else available_bytes)
    workers = (free - need["shared"]) // need["host"]
    if need["gpu"]:
        if gpu_available_bytes is None:
            gpu_available_bytes = torch.cuda.mem_get_info(torch.device(device))[0]
        workers = min(workers, MEMORY_HEADROOM * gpu_available_bytes // need["gpu"])
    return max(1, int(workers))
