"""Read MUSIC-AVQA annotation files exactly as released (v1 original/updated, v2.0, -R).

Quirks handled here, once: `type` and `templ_values` are strings holding JSON lists (v2.0 sometimes
a real list); the answer key is `anser`; `question_id` repeats across and within files, so each
record gets its own key `<file stem>:<index>`; template text carries trailing spaces and a
full-width '？', normalised for lookups while the original is kept in `raw`.

A question worded by one of amuse's rephrasings (data/wordings.py) reads as its template
(`template`, so per-template priors, tables and balancing keep working) while its words come from the
text asked (`asked`, `tokens`, `question`); `wording` says which: template, seen, unseen, or free
(-R and other text outside both tables, with data.free_text).

v2.0's `unmatch_audio` records (all "Is this sound from the instrument in the video?", answer "no")
name another video whose sound the question plays over this video's frames: `audio_from` keeps that
id, and every reader takes the audio-derived arrays from it (engine/datasets.py, engine/predict.py).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from amuse_cli.data.taxonomy import ANSWER_IDS, TEMPLATES, TEMPLATES_RAW, TYPES, normalize_template
from amuse_cli.data.wordings import FREE, TEMPLATE, recognise
from amuse_cli.errors import AnnotationError

PLACEHOLDER = re.compile(r"<[A-Za-z]+>")
REQUIRED_KEYS = ("video_id", "type", "question_content", "anser")
UNMATCH_KEY = "unmatch_audio"   # v2.0: the id of the video whose audio this question plays


@dataclass(frozen=True)
class QARecord:
    key: str                    # unique per record: "<file stem>:<index in file>"
    video_id: str
    question_id: int | None     # as in the file; NOT unique
    group: str                  # Audio | Visual | Audio-Visual
    qtype: str                  # Counting | Comparative | Location | Existential | Temporal
    template: str               # normalised template (or normalised free text for -R questions)
    values: tuple[str, ...]     # placeholder fillers, left to right
    answer: str
    raw: dict = field(repr=False, compare=False)
    audio_from: str | None = None   # v2.0 unmatch_audio: the video whose sound is heard (None: its own)
    wording: str = TEMPLATE         # template | seen | unseen (data/wordings.py) | free
    asked: str | None = None        # the text asked, normalised, placeholders kept (None: the template)

    @property
    def audio_id(self) -> str:
        """The video whose audio arrays this question reads."""
        return self.audio_from or self.video_id

    @property
    def videos(self) -> tuple[str, ...]:
        """Every video this question needs: its own, and the one whose audio it plays."""
        return (self.video_id,) if self.audio_from is None else (self.video_id, self.audio_from)

    @property
    def type_key(self) -> str:
        return f"{self.group}/{self.qtype}"

    @property
    def question(self) -> str:
        """The question with placeholders filled, as a person would read it."""
        return " ".join(question_words(self.asked or self.template, self.values)) + "?"

    @property
    def tokens(self) -> list[str]:
        """The words asked (a rephrasing's own words, not its template's), placeholders filled."""
        return question_words(self.asked or self.template, self.values)


def question_words(template: str, values: tuple[str, ...] | list[str]) -> list[str]:
    """Peers' tokenisation: split on whitespace, drop the final '?'/'？', fill placeholders in order."""
    words = normalize_template(template).split()
    if words and words[-1][-1:] in "?\uff1f":
        words[-1] = words[-1][:-1]
        if not words[-1]:
            words.pop()
    filled, it = [], iter(values)
    for w in words:
        if PLACEHOLDER.fullmatch(w):
            filled.append(next(it, w))
        else:
            filled.append(w)
    return filled


def _audio_from(raw: dict, where: str) -> str | None:
    """The other video named by `unmatch_audio`, or None (absent, empty, or the record's own id)."""
    value = raw.get(UNMATCH_KEY)
    if value is None or value == "":
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise AnnotationError(f"{where}: {UNMATCH_KEY} {value!r} is not a video id; it names the video "
                              f"whose audio the question plays (v2.0), e.g. \"00000823\"")
    other = str(value).strip()
    return None if other == str(raw["video_id"]) else other


def _json_list(value, what: str, where: str) -> list:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            raise AnnotationError(f"{where}: {what} {value!r} is not a JSON list; "
                                  f"write it as in the release, e.g. '[\"Audio\", \"Counting\"]'") from None
        if isinstance(parsed, list):
            return parsed
    raise AnnotationError(f"{where}: {what} {value!r} is not a list")


def parse_record(raw: dict, key: str, where: str, free_text: bool = False) -> QARecord:
    """One record -> QARecord, or AnnotationError naming `where` (file and index) and the fix."""
    if not isinstance(raw, dict):
        raise AnnotationError(f"{where}: expected an object, got {type(raw).__name__}")
    missing = [k for k in REQUIRED_KEYS if k not in raw]
    if missing:
        raise AnnotationError(f"{where}: missing key(s) {', '.join(missing)} "
                              f"(a MUSIC-AVQA record needs {', '.join(REQUIRED_KEYS)})")
    gt = _json_list(raw["type"], "type", where)
    if len(gt) != 2 or tuple(gt) not in TYPES:
        raise AnnotationError(f"{where}: type {raw['type']!r} is not one of the nine MUSIC-AVQA "
                              f"(group, type) pairs")
    template = asked = normalize_template(str(raw["question_content"]))
    values = tuple(str(v) for v in _json_list(raw.get("templ_values", "[]"), "templ_values", where))
    wording, rephrasing = TEMPLATE, recognise(asked)
    if rephrasing is not None:
        template, wording = normalize_template(TEMPLATES_RAW[rephrasing.template][0]), rephrasing.kind
    if template in TEMPLATES:
        if TEMPLATES[template] != tuple(gt):
            raise AnnotationError(f"{where}: template {template!r}"
                                  f"{'' if asked == template else f' (asked as {asked!r})'} belongs to "
                                  f"{'/'.join(TEMPLATES[template])}, but type says {'/'.join(gt)}")
    elif not free_text:
        raise AnnotationError(f"{where}: unknown template {template!r}; it is none of the 33 "
                              f"MUSIC-AVQA templates nor amuse's rephrasings of them (rephrased -R "
                              f"questions: set data.free_text=true)")
    else:
        wording = FREE
    n_slots = len(PLACEHOLDER.findall(asked))
    if n_slots != len(values):
        raise AnnotationError(f"{where}: template has {n_slots} placeholder(s) but templ_values "
                              f"gives {len(values)} ({list(values)})")
    answer = str(raw["anser"])
    if answer not in ANSWER_IDS:
        raise AnnotationError(f"{where}: answer {answer!r} is not one of the 42 MUSIC-AVQA answers")
    qid = raw.get("question_id")
    return QARecord(key=key, video_id=str(raw["video_id"]),
                    question_id=int(qid) if qid is not None else None,
                    group=gt[0], qtype=gt[1], template=template, values=values,
                    answer=answer, raw=raw, audio_from=_audio_from(raw, where),
                    wording=wording, asked=asked)


def read_json_array(path: str | Path) -> list:
    path = Path(path)
    if not path.is_file():
        raise AnnotationError(f"{path}: annotation file not found; check data.root and the split's path")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise AnnotationError(f"{path}: invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except UnicodeDecodeError as e:
        raise AnnotationError(f"{path}: not UTF-8 text ({e.reason})") from None
    if not isinstance(data, list):
        raise AnnotationError(f"{path}: expected a JSON array of records, got {type(data).__name__}")
    return data


def load_annotations(path: str | Path, strict: bool = True, free_text: bool = False,
                     skipped: list | None = None) -> list[QARecord]:
    """All records of one file. strict=False skips bad records (appending their errors to `skipped`)."""
    path = Path(path)
    out = []
    for i, raw in enumerate(read_json_array(path)):
        key = f"{path.stem}:{i}"
        try:
            out.append(parse_record(raw, key, f"{path} record {i}", free_text=free_text))
        except AnnotationError as e:
            if strict:
                raise
            if skipped is not None:
                skipped.append(str(e))
    if not out:
        raise AnnotationError(f"{path}: no usable questions in this split; check the file "
                              f"(or the split's path in the recipe)")
    return out
