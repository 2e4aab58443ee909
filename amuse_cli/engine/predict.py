"""`amuse predict`: decode a video with the run's extraction settings and answer free-text questions.

With `--annotations`, a v2.0 `unmatch_audio` question hears the video it names: the audio-derived
arrays come from that video's file, the frames from its own, as in training and `amuse eval`.
With model.sentence, a question's sentence vector is read as in training: a record's text with its
placeholders (models/sentence.py), a typed question with its instrument names read as the neutral word."""
from __future__ import annotations

import json
from pathlib import Path

import torch

from amuse_cli.data.annotations import PLACEHOLDER, load_annotations, question_words
from amuse_cli.data.taxonomy import ANSWERS, PLACEHOLDERS, TEMPLATE_IDS
from amuse_cli.data.wordings import REPHRASINGS
from amuse_cli.engine import datasets
from amuse_cli.engine.evaluate import TOP_K, build_model, load_checkpointed_run
from amuse_cli.errors import AmuseError
from amuse_cli.features.videos import VideoSource, video_source
from amuse_cli.models.sentence import free_text, record_text, sentence_table


def match_template(words: list[str]) -> int:
    """Index of the template the words fill, as written or by one of its rephrasings (placeholders
    take their known values), else -1."""
    low = [w.lower() for w in words]
    for template, idx in (*TEMPLATE_IDS.items(), *((r.text, r.template) for r in REPHRASINGS)):
        tw = question_words(template, ())
        if len(tw) == len(low) and all(
                (t in PLACEHOLDERS and w in PLACEHOLDERS[t]) if PLACEHOLDER.fullmatch(t) else t.lower() == w
                for t, w in zip(tw, low)):
            return idx
    return -1


class Predictor:
    """A run's best model, its vocabulary and extraction settings; videos decoded once each."""

    def __init__(self, run: str | Path, warn=print, overrides=()):
        from amuse_cli.features.settings import array_shapes, extraction_settings
        self.run, self.warn = Path(run), warn
        self.cfg, self.vocab, state, ckpt = load_checkpointed_run(run, overrides=overrides)
        self.settings = extraction_settings(self.cfg)
        self.model = build_model(self.cfg, datasets.spec(self.cfg, array_shapes(self.settings), self.vocab), state,
                                 torch.device("cpu"), ckpt)
        self.arrays: dict[tuple, dict] = {}
        self.keep: tuple | None = None

    def _meta(self, video: Path) -> dict | None:
        for folder in (video.parent.parent / "meta", Path(self.cfg["data"]["root"]) / "meta"):
            f = folder / f"{video.stem}.json"
            if f.is_file():
                return json.loads(f.read_text(encoding="utf-8"))
        return None

    def video(self, path: str | Path, flip: bool = False) -> dict:
        from amuse_cli.features.extract import extract_video
        path = Path(path)
        if not path.is_file():
            raise AmuseError(f"video {path} not found; give an existing video file with --video")
        key = (str(path.resolve()), flip)
        if key not in self.arrays:
            arrays = extract_video(path, self.settings, self._meta(path), flip=flip)
            self.arrays = {**{k: v for k, v in self.arrays.items() if k == self.keep}, key: arrays}
        return self.arrays[key]

    def media(self, src: VideoSource, audio: VideoSource | None = None) -> dict:
        """The arrays of a question: its video's, with the audio-derived ones (AUDIO_ARRAYS) from
        `audio` when it plays another video's sound (v2.0 unmatch_audio)."""
        self.keep = (str(src.path.resolve()), src.flip)   # batches come grouped by video: keep that one
        arrays = self.video(src.path, src.flip)
        if audio is None:
            return arrays
        heard = self.video(audio.path, audio.flip)
        return {**arrays, **{k: heard[k] for k in datasets.AUDIO_ARRAYS if k in heard}}

    def tokens(self, question: str) -> tuple[list[int], list[list[int]], int]:
        """Word ids (unknown words -> <unk>, with a warning), their pieces and the matching template or -1."""
        words = question_words(question.strip(), ())
        fixed = [next((c for c in (w, w.lower(), w.capitalize()) if c in self.vocab.index), w) for w in words]
        unknown = self.vocab.unknown(fixed)
        if unknown:
            how = "read by their pieces" if self.cfg["model"].get("question") == "pieces" else "read as <unk>"
            self.warn(f"warning: {', '.join(unknown)} not in the run's vocabulary: {how}")
        length = self.cfg["data"]["max_tokens"]
        return self.vocab.encode(fixed, length), self.vocab.encode_pieces(fixed, length), match_template(words)

    def sentence(self, text: str) -> dict:
        """The batch's `sentence` vector [1, 384] for the run's model.sentence (none: nothing)."""
        table = sentence_table(self.cfg["model"].get("sentence", "none"), [text])
        return {} if table is None else {"sentence": table[1][table[0]]}

    @torch.inference_mode()
    def answer(self, video: str | Path, question: str, flip: bool = False,
               audio: VideoSource | None = None, sentence: str | None = None) -> list[tuple[str, float]]:
        """Top answers for one question about `video` (heard through `audio`'s sound when given);
        `sentence`: the text its sentence vector reads (default: the question, names neutral)."""
        arrays = self.media(VideoSource(Path(video), flip), audio)
        ids, pieces, template = self.tokens(question)
        batch = {k: torch.from_numpy(v.astype("float32") if k == "logmel" else v)[None] for k, v in arrays.items()}
        batch.update(question=torch.tensor([ids]), pieces=torch.tensor([pieces]),
                     template=torch.tensor([template]), index=torch.tensor([0]),
                     answer=torch.tensor([0]), video=torch.tensor([0]),
                     **self.sentence(sentence or free_text(question_words(question.strip(), ()))))
        p, k = self.model(batch).float().softmax(-1)[0].topk(TOP_K)
        return [(ANSWERS[i], float(q)) for i, q in zip(k.tolist(), p.tolist())]


def predict_batch(run, annotations, videos, echo=print, overrides=()) -> int:
    """Answer every record of an annotation file; returns how many could not be answered."""
    pred = Predictor(run, warn=echo, overrides=overrides)
    records = load_annotations(annotations, strict=pred.cfg["data"]["strict"], free_text=True)
    failures, correct = [], 0
    folders = [Path(videos)]
    for r in sorted(records, key=lambda r: r.video_id):
        try:
            src = video_source(folders, r.video_id)
            audio = video_source(folders, r.audio_from) if r.audio_from is not None else None
            top = pred.answer(src.path, r.question, src.flip, audio, sentence=record_text(r))
        except AmuseError as e:
            failures.append(f"{r.key}: {e}")
            continue
        correct += top[0][0] == r.answer
        echo(f"{r.key}\t{r.question}\t{top[0][0]} ({top[0][1]:.3f})\tanswer {r.answer}")
    answered = len(records) - len(failures)
    echo(f"{answered} answered, accuracy {100 * correct / max(answered, 1):.2f}%; {len(failures)} failed")
    for f in failures:
        echo(f"  failed {f}")
    return len(failures)
