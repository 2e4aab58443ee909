"""Source labelers (registry kind "source_labeler"): per segment, the number of active instrument
sources [S] and how much each of the 22 instrument classes is heard [S, 22].

`meta`: exact values from a synthetic dataset's ground truth. `tagger`: a PANNs Cnn14-style AudioSet
tagger run over each segment; like Amuse, a class counts when its probability is >= the threshold,
and classes of one instrument family (Guitar / Acoustic guitar, ...) count once; a class's level is
the highest probability among its AudioSet classes (INSTRUMENT_AUDIOSET). Weights are a file the
user supplies (Cnn14_16k from PANNs); their width is read from the file, so tests use a tiny one.
"""
from __future__ import annotations

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
        self.register_buffer("melW", torch.from_numpy(_mel_filters(mel_bins)), persistent=False)

    def logmel(self, wave: torch.Tensor) -> torch.Tensor:
        """[B, samples] at 16 kHz -> [B, 1, frames, mel] in dB, as PANNs' torchlibrosa front end."""
        spec = torch.stft(wave, TAGGER_WIN, TAGGER_HOP, window=torch.hann_window(TAGGER_WIN),
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


def load_cnn14(path: str | Path | None) -> Cnn14:
    """A Cnn14 from a PANNs checkpoint ({'model': state_dict} or a bare state_dict)."""
    if not path:
        raise AmuseError(f"features.source_method=tagger needs weights: download {PANNS_URL} and pass "
                         f"features.tagger_weights=/path/to/Cnn14_16k_mAP=0.438.pth")
    path = Path(path)
    if not path.is_file():
        raise AmuseError(f"features.tagger_weights: {path} not found; download {PANNS_URL}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same advice
        raise AmuseError(f"features.tagger_weights: {path} is not a PyTorch checkpoint ({e}); "
                         f"download {PANNS_URL}") from None
    state = state.get("model", state) if isinstance(state, dict) else state
    try:
        width = state["conv_block1.conv1.weight"].shape[0]
        model = Cnn14(width, state["bn0.weight"].shape[0], state["fc_audioset.weight"].shape[0])
        front = ("spectrogram_extractor.", "logmel_extractor.")  # PANNs' own front end: ours replaces it
        model.load_state_dict({k: v for k, v in state.items() if not k.startswith(front)})
    except (KeyError, RuntimeError, AttributeError) as e:
        raise AmuseError(f"features.tagger_weights: {path} is not Cnn14 weights ({str(e)[:120]}); "
                         f"download {PANNS_URL}") from None
    if model.fc_audioset.out_features != AUDIOSET_CLASSES:
        raise AmuseError(f"features.tagger_weights: {path} predicts {model.fc_audioset.out_features} "
                         f"classes, not AudioSet's {AUDIOSET_CLASSES}")
    return model.eval()


class TaggerLabeler:
    needs_meta = False

    def __init__(self, model: Cnn14, threshold: float):
        self.model, self.threshold = model, threshold
        fam = instrument_families()
        self.index = torch.tensor(sorted(fam))
        names = sorted(set(fam.values()))
        # [classes counted, families] one-hot: a family is present when any of its classes is
        self.members = torch.zeros(len(fam), len(names))
        for row, i in enumerate(sorted(fam)):
            self.members[row, names.index(fam[i])] = 1.0
        audioset = {name: FIRST_INSTRUMENT_INDEX + i for i, name in enumerate(AUDIOSET_INSTRUMENTS)}
        self.class_index = [[audioset[n] for n in INSTRUMENT_AUDIOSET[c]] for c in INSTRUMENTS]

    def probabilities(self, audio: np.ndarray, sample_rate: int, bounds: np.ndarray) -> torch.Tensor:
        """[S, 527] class probabilities of each segment (padded with silence to the longest)."""
        wave = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
        if sample_rate != TAGGER_RATE:
            import torchaudio.functional as AF
            wave = AF.resample(wave, sample_rate, TAGGER_RATE)
        spans = [(int(t0 * TAGGER_RATE), int(t1 * TAGGER_RATE)) for t0, t1 in bounds]
        longest = max(max(b - a for a, b in spans), TAGGER_WIN)
        batch = torch.zeros(len(spans), longest)
        for i, (a, b) in enumerate(spans):
            piece = wave[a:b]
            batch[i, :len(piece)] = piece
        with torch.inference_mode():
            return self.model(batch)

    def __call__(self, audio, sample_rate, bounds, mask, meta=None):
        counts, levels = empty_labels(len(bounds))
        valid = np.flatnonzero(mask)
        if len(valid) == 0 or not np.any(audio):
            return counts, levels
        probs = self.probabilities(audio, sample_rate, bounds[valid])
        present = ((probs[:, self.index] >= self.threshold).float() @ self.members) > 0
        counts[valid] = present.sum(dim=1).numpy()
        levels[valid] = torch.stack([probs[:, idx].amax(dim=1) for idx in self.class_index], 1).numpy()
        return counts, levels


@lru_cache(maxsize=2)
def _cached_tagger(path: str, threshold: float) -> TaggerLabeler:
    return TaggerLabeler(load_cnn14(path), threshold)


@register("source_labeler", "tagger")
def build_tagger(settings: dict) -> TaggerLabeler:
    weights = settings.get("tagger_weights")
    if not weights:
        load_cnn14(None)  # raises the error that says how to get the weights
    return _cached_tagger(str(weights), float(settings["tagger_threshold"]))
