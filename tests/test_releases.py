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
def test_the_real_files_are_identified(real_annotations, tmp_path, name, release, split):
    r = identify(real_annotations / name)
    if real_annotations.name == "music-avqa":          # the full files of ../shared: their released bytes
        assert (r.id, r.split, r.benchmark) == (release, split, "music-avqa-v1")
        assert "sha256" in r.evidence and r.file == name and r.complete is (True if split == "test" else None)
        return
    # the excerpt is not a released file: unknown where it lies, the release's folder names tell it
    assert r.id == "unknown" and "no folder of the release" in r.evidence
    folder = "json" if release.endswith("original") else "json_update"
    (tmp_path / "json_update").mkdir()
    r = identify(write(tmp_path / folder / name, json.loads((real_annotations / name).read_text())))
    assert (r.id, r.split) == (release, split.split(" ")[0]) and f"folder {folder}/" in r.evidence
    assert r.complete is (False if split == "test" else None)
    if split == "test":
        assert "of the released test file's 9,129 questions: a part of it" in r.evidence


def test_updated_and_original_test_files_are_told_apart(real_annotations, tmp_path):
    rows = json.loads((real_annotations / "avqa-test.json").read_text())
    updated = (rows * (9129 // len(rows) + 1))[:9129]     # the updated file's count (the full file as it is)
    # the original test file: 56 more questions, some question_ids repeated with another answer
    extra = [{**r, "anser": "no" if r["anser"] == "yes" else "yes"} for r in updated[:56]]
    original = identify(write(tmp_path / "json" / "avqa-test.json", updated + extra))
    assert (original.id, original.split, original.complete) == ("music-avqa-v1-original", "test", True)
    assert "9,185" in original.evidence
    # one answer edited: not the released bytes, still the updated file's count
    edited = identify(write(tmp_path / "edited" / "avqa-test.json", [{**updated[0], "anser": "two"}] + updated[1:]))
    assert edited.id == "music-avqa-v1-updated" and "9,129" in edited.evidence and "sha256" not in edited.evidence
    # any other count, outside the release's folders, is not guessed
    part = identify(write(tmp_path / "part.json", updated[:100]))
    assert part.id == "unknown" and part.benchmark == "unknown (part.json)" and "100 questions" in part.evidence
    # json/ alone is a common name (amuse synth writes one): it tells the original only beside json_update/
    alone = identify(write(tmp_path / "other" / "json" / "avqa-test.json", updated[:100]))
    assert alone.id == "unknown"
    (tmp_path / "other" / "json_update").mkdir()
    beside = identify(tmp_path / "other" / "json" / "avqa-test.json")
    assert (beside.id, beside.complete) == ("music-avqa-v1-original", False) and "9,185" in beside.evidence


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
                                           ("train_bias.json", "music-avqa-v2-bias"),
                                           ("avqa-test.json", "unknown")])
def test_v2_files_by_content_then_name(tmp_path, name, release):
    r = identify(write(tmp_path / name, V2_RECORDS))
    assert r.id == release and "_flip" in r.evidence and "without question_id" in r.evidence
    if release == "unknown":
        assert "balance" in r.evidence and r.benchmark == f"unknown ({name})"
    else:
        assert r.benchmark == "music-avqa-v2" and r.split == name.split("_")[0]
        # 3 records: a part of a released test file (10,819 balanced, 9,119 bias); train: not said
        assert r.complete is (False if name.startswith("test") else None)


def test_v2_test_files_are_complete_at_the_released_count(tmp_path):
    for name, full in (("test_balance.json", 10819), ("test_bias.json", 9119)):
        whole = identify(write(tmp_path / name, (V2_RECORDS * full)[:full]))
        assert whole.complete is True and f"{full:,} questions, as the released test file" in whole.evidence
    # unmatch_audio records are v2.0's too, even among v1-looking ids
    odd = [dict(V2_RECORDS[1], unmatch_audio="00000823", audio_instrument="piano", video_instrument="flute")]
    r = identify(write(tmp_path / "x" / "test_bias.json", odd))
    assert r.id == "music-avqa-v2-bias" and "1 with unmatch_audio" in r.evidence


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


def test_evaluation_header_records_the_file_and_its_release(real_annotations, real_facts, tmp_path):
    path = real_annotations / "avqa-val.json"
    if real_annotations.name != "json_update":     # as the release lays it out (the excerpt: a copy)
        (tmp_path / "json_update").mkdir()
        path = write(tmp_path / "json_update" / "avqa-val.json", json.loads(path.read_text()))
    records = load_annotations(path)
    header = evaluation_header(path, records, [True] * len(records))
    assert header["benchmark"] == "music-avqa-v1" and header["questions"] == real_facts["avqa-val.json"]["questions"]
    assert header["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert header["release"]["id"] == "music-avqa-v1-updated" and header["annotations"] == str(path)
    assert "head_tail" not in header
    r_path = r_folder(tmp_path)
    r_records = load_annotations(r_path, free_text=True)
    r_header = evaluation_header(r_path, r_records, [True] * 8)
    assert r_header["benchmark"] == "music-avqa-r" and r_header["head_tail"]["head"]["Avg"]["n"] == 5


# --- report: labelled by the evaluated release, beside the matching published rows ----------------

def evaluated(run: Path, release_id: str, family: str, file: str, questions: int, head_tail=None,
              trained_on=None, complete=None, subsets=None) -> Path:
    """The metrics header `amuse eval` writes, for a run folder made by test_report.make_run (with
    `subsets`, a head/tail label per prediction, as eval writes for MUSIC-AVQA-R)."""
    pred_file = run / "predictions-test.jsonl"
    preds = [json.loads(x) for x in pred_file.read_text().splitlines()]
    if subsets:
        preds = [{**p, "subset": subsets(i, p)} for i, p in enumerate(preds)]
        pred_file.write_text("".join(json.dumps(p) + "\n" for p in preds))
    metrics = {"split": "test", "benchmark": family, "annotations": f"/data/{file}", "questions": questions,
               "sha256": "0" * 64, "release": {"id": release_id, "benchmark": family, "file": file,
                                               "complete": complete},
               "trained_on": trained_on or "music-avqa-v1",
               "cells": cells_from_predictions(preds)}
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
    v1_part, v2_part = out.split("benchmark: music-avqa-v2-balanced", 1)
    assert "benchmark: music-avqa-v1-updated (MUSIC-AVQA v1, updated release" in v1_part
    assert "file avqa-test.json, 130 questions" in v1_part and "a/v1" in v1_part and "Table 2" in v1_part
    assert "a/v1 (trained on" not in v1_part                       # trained and scored on v1: nothing to say
    assert "a/v2 (trained on music-avqa-v1)" in v2_part               # scored on v2.0, trained on v1: said
    assert "test_balance.json" in v2_part and "Published" not in v2_part
    v2 = invoke("--format", "json", "--reference", "v2")
    assert [t["id"] for t in json.loads(v2.stdout)["reference"]] == ["amuse-table3", "v2-grouped"]
    assert "music-avqa-v1-updated" in v2.stderr  # the v1 run is said to be left without v2 rows


def blocks(md: str) -> dict[str, str]:
    """A markdown report split into its tables, keyed by title."""
    out = {}
    for part in md.split("**")[1::2]:
        out[part] = md.split(f"**{part}**", 1)[1].split("\n**", 1)[0]
    return out


def test_each_release_beside_only_its_own_published_rows(work):
    """The issue's figure: original-v1, updated-v1, v2.0-balanced, v2.0-bias and -R evaluations, each
    beside its own release's rows only, with their source; -R with head/tail per type."""
    v1 = "music-avqa-v1-updated"
    evaluated(make_run(work, "c/orig", benchmark="music-avqa-v1"), "music-avqa-v1-original", "music-avqa-v1",
              "avqa-test.json", 9185, trained_on=v1, complete=True)
    evaluated(make_run(work, "c/upd", benchmark="music-avqa-v1", seed=1), "music-avqa-v1-updated", "music-avqa-v1",
              "avqa-test.json", 9129, trained_on=v1, complete=True)
    evaluated(make_run(work, "c/bal", benchmark="music-avqa-v2"), "music-avqa-v2-balanced", "music-avqa-v2",
              "test_balance.json", 10819, complete=True,
              trained_on="music-avqa-v2-balanced")
    evaluated(make_run(work, "c/bias", benchmark="music-avqa-v2", seed=2), "music-avqa-v2-bias", "music-avqa-v2",
              "test_bias.json", 9119, complete=True,
              trained_on="music-avqa-v2-bias")
    # -R: every other question of each type is head (eval's labels, written into the predictions)
    evaluated(make_run(work, "c/r", benchmark="music-avqa-r"), "music-avqa-r", "music-avqa-r",
              "avqa-test-headtail.json", 130, trained_on=v1, subsets=lambda i, p: ("head", "tail")[i % 2])
    out = invoke("--format", "md", "--reference", "auto")
    assert out.exit_code == 0, out.output
    tables = blocks(out.stdout)
    titles = list(tables)
    v1_titles = [t for t in titles if "music-avqa-v1-" in t]
    assert len(v1_titles) == 2 and len(titles) == 8      # 5 per-type tables, 2 v2.0 grouped, 1 -R head/tail
    for t in v1_titles:   # Tables 2 and 4 and QA-TIGER, with the caption that the papers name no v1 file
        body = tables[t]
        assert "Table 2" in body and "QA-TIGER" in body and "83.52" in body and "85.16" not in body
        assert "does not say whether it used the original (9,185" in body
    bal = tables[next(t for t in titles if "per question type" in t and "v2-balanced" in t)]
    assert "Table 3" in bal and "85.16" in bal and "83.52" not in bal and "LAST-Att" in bal
    bias = tables[next(t for t in titles if "per question type" in t and "v2-bias" in t)]
    assert "Published" not in bias                     # no per-type v2.0 bias table is published
    grouped_bias = tables[next(t for t in titles if "v2.0 bias test set" in t)]
    assert "| c/bias | bias | bias |" in grouped_bias and "504581c" in grouped_bias
    assert "76.93" in grouped_bias and "76.43" not in grouped_bias      # QA-TIGER bias/bias, not balanced/balanced
    grouped_bal = tables[next(t for t in titles if "v2.0 balanced test set" in t)]
    assert "| c/bal | balanced | balanced |" in grouped_bal and "76.43" in grouped_bal and "76.93" not in grouped_bal
    r_types = tables[next(t for t in titles if "per question type" in t and "music-avqa-r" in t)]
    assert "Published" not in r_types and "c/r (trained on music-avqa-v1-updated)" in r_types
    ht = tables[next(t for t in titles if "head (H) / tail (T)" in t)]
    assert "A-Count H" in ht and "AV-Temp T" in ht and "67.99" in ht and "QA-TIGER" in ht and "504581c" in ht
    assert "83.52" not in ht
    data = json.loads(invoke("--format", "json", "--reference", "auto").stdout)
    (r_row,) = data["head_tail"]
    head = [p for i, p in enumerate(json.loads(x) for x in (work / "checkpoints/c/r/predictions-test.jsonl")
                                    .read_text().splitlines()) if i % 2 == 0]
    a_count = [p for p in head if p["group"] == "Audio" and p["type"] == "Counting"]
    expected = round(100 * sum(p["prediction"] == p["answer"] for p in a_count) / len(a_count), 2)
    assert r_row["cells"]["A-Count H"] == {"acc": expected, "n": len(a_count)}
    assert r_row["cells"]["Avg"]["n"] == 130


def test_report_auto_reference_picks_each_release_its_own_rows(work):
    evaluated(make_run(work, "b/orig"), "music-avqa-v1-original", "music-avqa-v1", "avqa-test.json", 9185)
    evaluated(make_run(work, "b/bias"), "music-avqa-v2-bias", "music-avqa-v2", "test_bias.json", 130,
              complete=False)
    ht = {"labels": "membership of avqa-test-head.json / avqa-test-tail.json",
          "head": {"Avg": {"acc": 75.0, "n": 4, "correct": 3}}, "tail": {"Avg": {"acc": 25.0, "n": 4, "correct": 1}},
          "unlabelled": 0}
    evaluated(make_run(work, "b/r"), "music-avqa-r", "music-avqa-r", "avqa-test-headtail.json", 130, ht)
    report = make_report(find_runs([], "test"), reference="auto")
    titles = [t.title for t in report.tables]
    assert len(titles) == 5 and "MUSIC-AVQA-R head (H) / tail (T)" in titles[-1]
    v1_table = next(t for t in report.tables if "music-avqa-v1-original" in t.title)
    assert "9,185 questions" in v1_table.title
    assert any(kind == "published" for kind, _ in v1_table.rows)
    assert sorted(t["id"] for t in report.data["reference"]) == ["amuse-table2", "amuse-table4", "qa-tiger",
                                                                 "r-head-tail", "v2-grouped"]
    bias = next(t for t in report.tables if "per question type" in t.title and "music-avqa-v2-bias" in t.title)
    assert not any(kind == "published" for kind, _ in bias.rows)
    # scored on 130 of test_bias.json's questions: marked, and the caption says why it does not compare
    assert any(kind == "run" and v[0].startswith("b/bias") and v[0].endswith(" *") for kind, v in bias.rows)
    assert any(kind == "section" and "do not compare" in v[1] for kind, v in bias.rows)
    assert not any("no published" in n for n in report.notes)
    (ht_row,) = report.data["head_tail"]
    assert ht_row["head"] == {"acc": 75.0, "n": 4} and ht_row["tail"] == {"acc": 25.0, "n": 4}


def test_skipped_questions_are_a_footer_row(work):
    run = make_run(work, "d/skip")
    lines = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    for p in lines[:3] + lines[-2:]:      # A-Count x3, AV-Temp x2: no video, unanswered (as eval writes them)
        p.update(prediction=None, correct=False, top5=[], skipped="video missing from the cache: video x: gone")
    (run / "predictions-test.jsonl").write_text("".join(json.dumps(p) + "\n" for p in lines))
    out = invoke("--format", "csv", "--reference", "none").stdout
    row = next(r for r in out.splitlines() if r.startswith("Skipped"))
    cells = dict(zip(out.splitlines()[0].split(","), row.split(",")))
    assert (cells["A-Count"], cells["AV-Temp"], cells["A-Avg"], cells["V-Count"], cells["Avg"]) == \
           ("3", "2", "3", "0", "5")
    assert json.loads(invoke("--format", "json").stdout)["runs"][0]["skipped"]["Avg"] == 5
