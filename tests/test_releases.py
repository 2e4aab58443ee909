"""Which release an annotation file is (amuse_cli/data/releases.py), what `amuse eval` records of it,
and how `report` labels runs by it and picks the published rows that compare with them."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.releases import (evaluation_header, head_tail_accuracy, head_tail_labels, identify,
                                     labels_by_rule)
from amuse_cli.data.metrics import cells_from_predictions
from amuse_cli.report import find_runs, make_report

from test_report import invoke, make_run  # run folders as `amuse eval` writes them


def write(path: Path, records: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2))
    return path


def rec(video_id, qtype, question, values, answer, qid=1, **extra):
    return {"video_id": video_id, "question_id": qid, "type": json.dumps(list(qtype)),
            "question_content": question, "templ_values": json.dumps(values), "question_deleted": 0,
            "anser": answer, **extra}


# --- the released v1 files ------------------------------------------------------------------------

@pytest.mark.parametrize("name, release, split", [
    ("avqa-test.json", "music-avqa-v1-updated", "test"),
    ("avqa-val.json", "music-avqa-v1-updated", "val"),
    ("avqa-train_fake.json", "music-avqa-v1-original", "train (synthetic-video part)")])
def test_the_real_files_are_identified(real_annotations, name, release, split):
    r = identify(real_annotations / name)
    assert (r.id, r.split, r.benchmark) == (release, split, "music-avqa-v1")
    assert "sha256" in r.evidence and r.file == name


def test_updated_and_original_test_files_are_told_apart(real_annotations, tmp_path):
    updated = json.loads((real_annotations / "avqa-test.json").read_text())
    # the original test file: 56 more questions, some question_ids repeated with another answer
    extra = [{**r, "anser": "no" if r["anser"] == "yes" else "yes"} for r in updated[:56]]
    original = identify(write(tmp_path / "json" / "avqa-test.json", updated + extra))
    assert (original.id, original.split) == ("music-avqa-v1-original", "test")
    assert "9,185" in original.evidence
    # one answer edited: not the released bytes, still the updated file's count
    edited = identify(write(tmp_path / "edited" / "avqa-test.json", [{**updated[0], "anser": "two"}] + updated[1:]))
    assert edited.id == "music-avqa-v1-updated" and "9,129" in edited.evidence and "sha256" not in edited.evidence
    # any other count is not guessed
    part = identify(write(tmp_path / "part.json", updated[:100]))
    assert part.id == "unknown" and part.benchmark == "unknown (part.json)" and "100 questions" in part.evidence


def test_a_synth_folder_is_synthetic(tmp_path):
    from amuse_cli.synth import GENERATOR
    from amuse_cli.synth.generate import SynthOptions, plan
    from amuse_cli.synth.writer import write_json

    metas, files = plan(SynthOptions(out=str(tmp_path), videos=6, seconds=4.0, questions_per_video=4,
                                     split=(0.5, 0.25, 0.25), balanced=False))
    for meta in metas:
        write_json(tmp_path / "meta" / f"{meta['video_id']}.json", meta)
    write_json(tmp_path / "json" / "avqa-test.json", files["test"])
    r = identify(tmp_path / "json" / "avqa-test.json")
    assert (r.id, r.split, r.benchmark) == ("synthetic", "test", "synthetic") and GENERATOR in r.evidence
    # the same questions without the generator's meta/ look like v1 ids: unknown, not synthetic or v1
    copy = write(tmp_path / "other" / "json" / "avqa-test.json", files["test"])
    assert identify(copy).id == "unknown"


# --- v2.0 and -R, in their released formats -------------------------------------------------------

V2_RECORDS = [
    {"video_id": "iveNvQ4jCis_flip", "question_content": "Which <Object> makes the sound <FL>?",
     "templ_values": "[\"violin\", \"last\"]", "anser": "left", "type": "[\"Audio-Visual\", \"Temporal\"]"},
    rec("00008762", ("Visual", "Counting"), "Are there <Object> and <Object> instruments in the video?",
        ["piano", "bassoon"], "no", qid=24424),
    {"video_id": "S10Zr8bXxBI", "type": "[\"Audio-Visual\", \"Counting\"]",
     "question_content": "How many sounding <Object> in the video\uff1f", "templ_values": "[\"violin\"]",
     "anser": "three"},
]


@pytest.mark.parametrize("name, release", [("test_bias.json", "music-avqa-v2-bias"),
                                           ("test_balance.json", "music-avqa-v2-balanced"),
                                           ("avqa-test.json", "unknown")])
def test_v2_files_by_content_then_name(tmp_path, name, release):
    r = identify(write(tmp_path / name, V2_RECORDS))
    assert r.id == release and "_flip" in r.evidence and "without question_id" in r.evidence
    if release == "unknown":
        assert "balance" in r.evidence and r.benchmark == f"unknown ({name})"
    else:
        assert r.benchmark == "music-avqa-v2" and r.split == "test"


AVL = ("Audio-Visual", "Location")
AVE = ("Audio-Visual", "Existential")
# MUSIC-AVQA-R: v1 records with rephrased question_content (placeholders kept, filled from templ_values)
R_HEAD = [rec("00000128", AVE, "Does the <Object> in the video play all the time?", ["cello"], "yes"),
          rec("00000128", AVE, "Is the <Object> playing throughout the whole video?", ["cello"], "yes"),
          rec("00000188", AVL, "Is the sound coming from the instrument on the <LR>?", ["left"], "yes"),
          rec("00000188", AVL, "Does the sound come from the <LR> instrument?", ["left"], "no"),
          rec("00000191", AVE, "Can a voice-over be heard?", [], "no")]
R_TAIL = [rec("00000191", AVL, "Which instrument plays together with the <Object>?", ["piano"], "accordion"),
          rec("00000192", AVL, "What instrument sounds along with the <Object>?", ["cello"], "tuba"),
          rec("00000192", AVE, "Can a voice-over be heard?", [], "no")]


def r_folder(tmp_path) -> Path:
    folder = tmp_path / "MUSIC-AVQA-R"
    write(folder / "avqa-test-head.json", R_HEAD)
    write(folder / "avqa-test-tail.json", R_TAIL)
    return write(folder / "avqa-test-headtail.json", [R_TAIL[0], *R_HEAD[:3], R_TAIL[1], *R_HEAD[3:], R_TAIL[2]])


def test_r_files_are_identified_by_name_and_rephrasing(tmp_path):
    path = r_folder(tmp_path)
    for name, split in [("avqa-test-headtail.json", "test (head + tail)"), ("avqa-test-head.json", "test, head subset"),
                        ("avqa-test-tail.json", "test, tail subset")]:
        r = identify(path.parent / name)
        assert (r.id, r.split, r.benchmark) == ("music-avqa-r", split, "music-avqa-r"), name
    # rephrased questions under another name: honest unknown (FortisAVQA rephrases the same test set)
    other = identify(write(tmp_path / "rephrased.json", R_HEAD))
    assert other.id == "unknown" and "rephrased" in other.evidence


def test_r_head_tail_accuracy_from_the_released_files(tmp_path):
    path = r_folder(tmp_path)
    records = load_annotations(path, free_text=True)
    labels, how = head_tail_labels(path, records)
    assert labels == ["tail", "head", "head", "head", "tail", "head", "head", "tail"]
    assert "avqa-test-head.json" in how
    # correct: head 3 of 5, tail 1 of 3
    correct = [True, True, False, True, False, True, False, False]
    out = head_tail_accuracy(labels, records, correct)
    assert out["head"]["Avg"] == {"acc": 60.0, "n": 5, "correct": 3}
    assert out["tail"]["Avg"]["n"] == 3 and out["tail"]["Avg"]["correct"] == 1
    assert out["tail"]["AV-Loc"] == {"acc": 50.0, "n": 2, "correct": 1} and out["unlabelled"] == 0
    # a head or tail file alone: every question is of that subset
    head_only = load_annotations(path.parent / "avqa-test-head.json", free_text=True)
    assert set(head_tail_labels(path.parent / "avqa-test-head.json", head_only)[0]) == {"head"}


def test_r_rule_when_the_subset_files_are_missing(tmp_path):
    """Ma et al.: per question type, an answer counted > 1.2 x the type's mean count is head."""
    answers = ["yes"] * 4 + ["no"] * 3 + ["left"] * 2 + ["accordion"]   # mean 2.5, bar 3.0
    rows = [rec(f"{i:08d}", AVL, "Is the sound coming from the <LR> instrument?", ["left"], a)
            for i, a in enumerate(answers)]
    path = write(tmp_path / "avqa-test-headtail.json", rows)
    records = load_annotations(path, free_text=True)
    assert labels_by_rule(records) == ["head"] * 4 + ["tail"] * 6     # 'no' (3) is not > 3.0
    labels, how = head_tail_labels(path, records)
    assert labels == labels_by_rule(records) and how.startswith("derived")


def test_evaluation_header_records_the_file_and_its_release(real_annotations, tmp_path):
    path = real_annotations / "avqa-val.json"
    records = load_annotations(path)
    header = evaluation_header(path, records, [True] * len(records))
    assert header["benchmark"] == "music-avqa-v1" and header["questions"] == 4568
    assert header["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert header["release"]["id"] == "music-avqa-v1-updated" and header["annotations"] == str(path)
    assert "head_tail" not in header
    r_path = r_folder(tmp_path)
    r_records = load_annotations(r_path, free_text=True)
    r_header = evaluation_header(r_path, r_records, [True] * 8)
    assert r_header["benchmark"] == "music-avqa-r" and r_header["head_tail"]["head"]["Avg"]["n"] == 5


# --- report: labelled by the evaluated release, beside the matching published rows ----------------

def evaluated(run: Path, release_id: str, family: str, file: str, questions: int, head_tail=None) -> Path:
    """The metrics header `amuse eval` writes, for a run folder made by test_report.make_run."""
    preds = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    metrics = {"split": "test", "benchmark": family, "annotations": f"/data/{file}", "questions": questions,
               "sha256": "0" * 64, "release": {"id": release_id, "benchmark": family, "file": file},
               "trained_on": "music-avqa-v1", "cells": cells_from_predictions(preds)}
    if head_tail:
        metrics["head_tail"] = head_tail
    (run / "metrics-test.json").write_text(json.dumps(metrics))
    return run


def test_report_labels_runs_by_the_evaluated_file_not_the_recipe(work):
    # trained on v1 (data.benchmark), evaluated on the v2.0 balanced test
    evaluated(make_run(work, "a/v2", benchmark="music-avqa-v1"), "music-avqa-v2-balanced", "music-avqa-v2",
              "test_balance.json", 130)
    evaluated(make_run(work, "a/v1", benchmark="music-avqa-v1"), "music-avqa-v1-updated", "music-avqa-v1",
              "avqa-test.json", 130)
    out = invoke("--format", "md", "--reference", "v1").stdout
    v1_part, v2_part = out.split("benchmark: music-avqa-v2-balanced")
    assert "benchmark: music-avqa-v1-updated (MUSIC-AVQA v1, updated release" in v1_part
    assert "file avqa-test.json, 130 questions" in v1_part and "a/v1" in v1_part and "Table 2" in v1_part
    assert "a/v2" in v2_part and "test_balance.json" in v2_part and "Published" not in v2_part
    v2 = invoke("--format", "json", "--reference", "v2")
    assert [t["id"] for t in json.loads(v2.stdout)["reference"]] == ["amuse-table3"]
    assert "music-avqa-v1-updated" in v2.stderr  # the v1 run is said to be left without v2 rows


def test_report_auto_reference_picks_each_release_its_own_rows(work):
    evaluated(make_run(work, "b/orig"), "music-avqa-v1-original", "music-avqa-v1", "avqa-test.json", 9185)
    evaluated(make_run(work, "b/bias"), "music-avqa-v2-bias", "music-avqa-v2", "test_bias.json", 130)
    ht = {"labels": "membership of avqa-test-head.json / avqa-test-tail.json",
          "head": {"Avg": {"acc": 75.0, "n": 4, "correct": 3}}, "tail": {"Avg": {"acc": 25.0, "n": 4, "correct": 1}},
          "unlabelled": 0}
    evaluated(make_run(work, "b/r"), "music-avqa-r", "music-avqa-r", "avqa-test-headtail.json", 130, ht)
    report = make_report(find_runs([], "test"), reference="auto")
    titles = [t.title for t in report.tables]
    assert len(titles) == 4 and "MUSIC-AVQA-R head / tail" in titles[-1]
    v1_table = next(t for t in report.tables if "music-avqa-v1-original" in t.title)
    assert "9,185 questions" in v1_table.title
    assert any(kind == "published" for kind, _ in v1_table.rows)
    assert [t["id"] for t in report.data["reference"]] == ["amuse-table2", "amuse-table4", "qa-tiger"]
    others = [t for t in report.tables[:3] if t is not v1_table]
    assert ["music-avqa-v2-bias" in others[0].title, "music-avqa-r" in others[1].title] == [True, True]
    for t in others:  # v2 bias and -R: no published rows shipped, and the notes say so
        assert not any(kind == "published" for kind, _ in t.rows)
    assert sum("no published" in n for n in report.notes) == 2
    (ht_row,) = report.data["head_tail"]
    assert ht_row["head"] == {"acc": 75.0, "n": 4} and ht_row["tail"] == {"acc": 25.0, "n": 4}
