"""Which release an annotation file belongs to, told from its content (its name only as a hint).

A run's recipe names the data it trained on (`data.benchmark`); what it is scored against is the
file it was evaluated on. The releases share one schema, so they are told apart by facts:

- synthetic: `amuse synth` writes `<out>/json/*.json` beside `<out>/meta/<video_id>.json`, whose
  `generator` names amuse-synth.
- MUSIC-AVQA v1 (GeWu-Lab): video ids are 8 digits, optionally after a short lowercase prefix
  (`va`, `sa`, `eva`, ...), and every record has a question_id. The original test file (data/json)
  holds 9,185 questions, the updated one (data/json_update) 9,129. Other v1 files (train, val, or a
  part of a test file) are told by the release's folder name: `json_update/`, or `json/` beside it.
- MUSIC-AVQA v2.0 (Liu et al., WACV 2024; DragonLiu1995/MUSIC-AVQA-v2.0): adds YouTube-id videos,
  `<id>_flip` mirrored copies, records without question_id and `unmatch_audio` records. The
  balanced and bias sets share that look; only the released names (`train_balance.json`,
  `test_balance.json`, `train_bias.json`, `test_bias.json`) tell them apart.

`complete` says whether a test file holds all the questions of the released one (False: a part of
it, whose accuracy does not compare number for number with published rows; None: not known).
- MUSIC-AVQA-R (Ma et al., NeurIPS 2024; reml-group/MUSIC-AVQA-R): the v1 test questions
  rephrased (211,572 in all), released as avqa-test-headtail.json (all), avqa-test-head.json and
  avqa-test-tail.json. Head/tail is which file a question is in; there is no per-question field.

Anything else is "unknown (<file name>)", with the facts that were seen, never a guess.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from amuse_cli.data.annotations import UNMATCH_KEY, read_json_array
from amuse_cli.data.taxonomy import TEMPLATES, normalize_template
from amuse_cli.data.metrics import accuracy_cells

# release id -> (benchmark family, as data.benchmark spells it; what it is)
RELEASES = {
    "music-avqa-v1-original": ("music-avqa-v1", "MUSIC-AVQA v1, original release (data/json)"),
    "music-avqa-v1-updated": ("music-avqa-v1", "MUSIC-AVQA v1, updated release (data/json_update)"),
    "music-avqa-v2-balanced": ("music-avqa-v2", "MUSIC-AVQA v2.0, balanced set"),
    "music-avqa-v2-bias": ("music-avqa-v2", "MUSIC-AVQA v2.0, bias set"),
    "music-avqa-r": ("music-avqa-r", "MUSIC-AVQA-R (rephrased v1 test questions, head/tail split)"),
    "synthetic": ("synthetic", "synthetic benchmark written by `amuse synth`"),
}
UNKNOWN = "unknown"

# Exact released files (sha256 of the bytes; the copies in ../shared/data/music-avqa/, GeWu-Lab
# commit cc88095): the strongest evidence there is.
KNOWN_FILES = {
    "76ce24ee02fd85e28038605aedd4f62633e1335ccda96a1fcf7340b5feaf230e":
        ("music-avqa-v1-updated", "test", "json_update/avqa-test.json"),
    "650ca7e9e577139f43b7895d5b8207a2e287d8cdad940522b2122a12c0c9b8ef":
        ("music-avqa-v1-updated", "val", "json_update/avqa-val.json"),
    "a5b0faaa357178ef5712f0a3b6be8e66d99c1e4d1b9fa6a1f95ec08b6b3f7cc4":
        ("music-avqa-v1-original", "train (synthetic-video part)", "json/avqa-train_fake.json"),
}
# v1 test files told apart by their question count (the original and the updated release of MUSIC-AVQA v1)
V1_TEST_COUNTS = {9185: "music-avqa-v1-original", 9129: "music-avqa-v1-updated"}
V1_FOLDERS = {"json": "music-avqa-v1-original", "json_update": "music-avqa-v1-updated"}   # as in GeWu-Lab's repo
# questions in each released test file (v1 by release, v2.0 by file name)
RELEASED_TEST_QUESTIONS = {"music-avqa-v1-original": 9185, "music-avqa-v1-updated": 9129,
                           "music-avqa-v2-balanced": 10819, "music-avqa-v2-bias": 9119}
V2_NAMES = {"balance": "music-avqa-v2-balanced", "bias": "music-avqa-v2-bias"}
R_ALL_QUESTIONS = 211_572        # MUSIC-AVQA-R README: "expanded from 9,129 to 211,572"
R_FILE = re.compile(r"avqa-test-(headtail|head|tail)\b")
R_SPLITS = {"headtail": "test (head + tail)", "head": "test, head subset", "tail": "test, tail subset"}
HEAD_FACTOR = 1.2                # -R: an answer is "head" when its count > 1.2 x the mean in its group
REPHRASED_SHARE = 0.5            # more than half the questions off the 33 templates: rephrased
V1_VIDEO_ID = re.compile(r"[a-z]{0,3}\d{8}")
SYNTH_GENERATOR = "amuse-synth"


@dataclass(frozen=True)
class Release:
    id: str                # a RELEASES key, or UNKNOWN
    split: str | None      # test, val, train, ... where the facts say
    evidence: str          # the facts the answer rests on, for a person to check
    file: str              # the file's name
    complete: bool | None = None   # a test file: all the released questions (False: a part of them)

    @property
    def known(self) -> bool:
        return self.id in RELEASES

    @property
    def benchmark(self) -> str:
        """The family as data.benchmark spells it (old readers), or 'unknown (<file name>)'."""
        return RELEASES[self.id][0] if self.known else f"{UNKNOWN} ({self.file})"

    @property
    def label(self) -> str:
        if not self.known:
            return f"{UNKNOWN} ({self.file})"
        return RELEASES[self.id][1] + (f", {self.split}" if self.split else "")

    def to_json(self) -> dict:
        return {**asdict(self), "benchmark": self.benchmark, "label": self.label}


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _split_from_name(name: str) -> str | None:
    return next((s for s in ("train", "val", "test") if s in name), None)


def _rephrased_share(records: list) -> float:
    off = sum(normalize_template(str(r.get("question_content", ""))) not in TEMPLATES for r in records)
    return off / len(records) if records else 0.0


def _synth_generator(path: Path, records: list) -> str | None:
    """The generator named by the sibling meta/ files of the first and last video, if any."""
    meta = path.parent.parent / "meta"
    found = set()
    for rec in (records[0], records[-1]):
        try:
            found.add(str(json.loads((meta / f"{rec['video_id']}.json").read_text(encoding="utf-8"))["generator"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
    return found.pop() if len(found) == 1 and next(iter(found)).startswith(SYNTH_GENERATOR) else None


def _v2_markers(records: list) -> str | None:
    """v2.0's additions, counted: non-v1 video ids (YouTube, _flip) and records without question_id."""
    ids = {str(r.get("video_id")) for r in records}
    odd = sorted(i for i in ids if not V1_VIDEO_ID.fullmatch(i))
    flips = sum(i.endswith("_flip") for i in odd)
    no_qid = sum("question_id" not in r for r in records)
    unmatched = sum(bool(r.get(UNMATCH_KEY)) for r in records)
    if not odd and not no_qid and not unmatched:
        return None
    facts = [f"{len(odd)} video ids that are not v1's (e.g. {odd[0]!r}; {flips} '_flip')"] if odd else []
    facts.append(f"{no_qid} records without question_id")
    return ", ".join(facts + ([f"{unmatched} with {UNMATCH_KEY}"] if unmatched else []))


def _completeness(release_id: str, split: str | None, n: int) -> tuple[bool | None, str]:
    """(complete, evidence) of a test file against the released count; (None, "") for other splits."""
    full = RELEASED_TEST_QUESTIONS.get(release_id)
    if split != "test" or full is None:
        return None, ""
    if n == full:
        return True, f"; {n:,} questions, as the released test file"
    return False, f"; {n:,} of the released test file's {full:,} questions: a part of it"


def _identify_r(name: str, n: int, share: float) -> Release | None:
    m = R_FILE.search(name.lower())
    facts = f"{n:,} questions, {share:.0%} off the 33 templates (rephrased)"
    if share <= REPHRASED_SHARE:
        return None
    if m:
        return Release("music-avqa-r", R_SPLITS[m.group(1)], f"name {name!r} as released; {facts}", name)
    if n == R_ALL_QUESTIONS:
        return Release("music-avqa-r", R_SPLITS["headtail"], f"{facts}: the count of avqa-test-headtail.json", name)
    return Release(UNKNOWN, None, f"{facts}, but neither the name nor the count of a MUSIC-AVQA-R file "
                                  f"(avqa-test-headtail/head/tail.json, {R_ALL_QUESTIONS:,} in all)", name)


def _v2_by_name(name: str) -> str | None:
    low = name.lower()
    return next((rid for word, rid in V2_NAMES.items() if word in low), None)


def _identify_v2(name: str, markers: str | None, n: int) -> Release:
    split = _split_from_name(name.lower())
    rid = _v2_by_name(name)
    content = f"v2.0 content ({markers})" if markers else "v1-looking content"
    if rid is None:
        return Release(UNKNOWN, split, f"{content}, but balanced and bias sets look alike and the name says "
                                       f"neither (released as test_balance.json / test_bias.json)", name)
    complete, more = _completeness(rid, split, n)
    word = "bias" if rid.endswith("bias") else "balance"
    return Release(rid, split, f"{content}; name says {word}{more}", name, complete)


def _identify_v1(path: Path, n: int, sha: str) -> Release:
    name = path.name
    if sha in KNOWN_FILES:
        rid, split, src = KNOWN_FILES[sha]
        return Release(rid, split, f"sha256 equals the released {src} ({n:,} questions)", name,
                       True if split == "test" else None)
    if n in V1_TEST_COUNTS:
        rid = V1_TEST_COUNTS[n]
        return Release(rid, "test", f"v1 content, {n:,} questions: the count of the "
                                    f"{'original' if n == 9185 else 'updated'} v1 test file", name, True)
    split = _split_from_name(name.lower())
    folder = path.parent.name
    # json_update/ is the updated release's own name; json/ is too common a name to tell alone, so it
    # counts only beside a json_update/ folder, as in the release (data/json, data/json_update)
    if folder == "json_update" or (folder == "json" and (path.parent.parent / "json_update").is_dir()):
        rid = V1_FOLDERS[folder]
        complete, more = _completeness(rid, split, n)
        return Release(rid, split, f"v1 content in the release's folder {folder}/{more or f', {n:,} questions'}",
                       name, complete)
    return Release(UNKNOWN, split, f"v1 content, {n:,} questions: the count of no known v1 test file (9,185 "
                                   f"original, 9,129 updated), in no folder of the release (json/, json_update/)",
                   name)


def identify_records(path: str | Path, records: list, sha: str) -> Release:
    """The release of `records` (a file's raw JSON objects); `path` for its name and siblings."""
    path = Path(path)
    name, n = path.name, len(records)
    if not records:
        return Release(UNKNOWN, None, "no records", name)
    generator = _synth_generator(path, records)
    if generator:
        return Release("synthetic", _split_from_name(name.lower()), f"meta/ beside json/ names generator {generator!r}", name)
    rephrased = _identify_r(name, n, _rephrased_share(records))
    if rephrased:
        return rephrased
    markers = _v2_markers(records)
    if markers or _v2_by_name(name):
        return _identify_v2(name, markers, n)
    return _identify_v1(path, n, sha)


def identify(path: str | Path) -> Release:
    """The release of one annotation file (AnnotationError when it is no JSON array)."""
    return identify_records(path, read_json_array(path), file_sha256(path))


# --- MUSIC-AVQA-R head / tail -------------------------------------------------------------------

def _signature(raw: dict) -> tuple:
    return tuple(str(raw.get(k)) for k in ("video_id", "type", "question_content", "templ_values", "anser"))


def _labels_from_siblings(path: Path, records) -> list[str | None] | None:
    """Labels by membership of avqa-test-head.json / avqa-test-tail.json beside the file."""
    head, tail = path.parent / "avqa-test-head.json", path.parent / "avqa-test-tail.json"
    if not (head.is_file() and tail.is_file()):
        return None
    pools = {"head": Counter(map(_signature, read_json_array(head))),
             "tail": Counter(map(_signature, read_json_array(tail)))}
    labels = []
    for r in records:
        sig = _signature(r.raw)
        label = next((k for k, pool in pools.items() if pool[sig] > 0), None)
        if label:
            pools[label][sig] -= 1
        labels.append(label)
    return labels


def labels_by_rule(records) -> list[str]:
    """The paper's rule on these records: within each question type (e.g. Audio-Visual/Location), an
    answer counted more than 1.2 x the mean count of that type's answers is head, the rest tail."""
    counts: dict[tuple, Counter] = {}
    for r in records:
        counts.setdefault((r.group, r.qtype), Counter())[r.answer] += 1
    mean = {t: sum(c.values()) / len(c) for t, c in counts.items()}
    return ["head" if counts[(r.group, r.qtype)][r.answer] > HEAD_FACTOR * mean[(r.group, r.qtype)] else "tail"
            for r in records]


def head_tail_labels(path: str | Path, records) -> tuple[list[str | None], str]:
    """('head' | 'tail' | None per record, how they were found) for a MUSIC-AVQA-R file."""
    path = Path(path)
    m = R_FILE.search(path.name.lower())
    if m and m.group(1) in ("head", "tail"):
        return [m.group(1)] * len(records), f"the whole file is the {m.group(1)} subset ({path.name})"
    labels = _labels_from_siblings(path, records)
    if labels is not None:
        return labels, f"membership of avqa-test-head.json / avqa-test-tail.json beside {path.name}"
    return labels_by_rule(records), (f"derived: answers counted per question type over {path.name}, head when "
                                     f"count > {HEAD_FACTOR} x the type's mean (avqa-test-head/tail.json not found "
                                     f"beside it)")


def head_tail_accuracy(labels: list[str | None], records, correct: list[bool]) -> dict:
    """Per-column cells (metrics.accuracy_cells) of the head and of the tail questions."""
    out = {}
    for part in ("head", "tail"):
        out[part] = accuracy_cells((r.group, r.qtype, ok) for r, ok, lab in zip(records, correct, labels)
                                   if lab == part)
    out["unlabelled"] = sum(lab is None for lab in labels)
    return out


def subset_labels(path: str | Path, records, release: Release) -> tuple[list[str | None] | None, str | None]:
    """MUSIC-AVQA-R: ('head' | 'tail' per record, how they were found); (None, None) for any other release."""
    if release.id != "music-avqa-r":
        return None, None
    return head_tail_labels(path, records)


def evaluation_header(path: str | Path, records, correct: list[bool], release: Release | None = None,
                      sha: str | None = None) -> dict:
    """What `amuse eval` records about the file it scored: which file, which release (and whether it
    is the whole released test file), and for MUSIC-AVQA-R the head/tail accuracy."""
    path = Path(path)
    sha = sha or file_sha256(path)
    release = release or identify_records(path, read_json_array(path), sha)
    header = {"benchmark": release.benchmark, "annotations": str(path), "sha256": sha,
              "questions": len(records), "release": release.to_json()}
    labels, how = subset_labels(path, records, release)
    if labels is not None:
        header["head_tail"] = {"labels": how, **head_tail_accuracy(labels, records, correct)}
    return header
