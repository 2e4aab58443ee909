"""Rephrased questions (issue 21): the hand-written table, the loader reading a rephrasing as its
template with the words asked, `amuse synth --wording`, `amuse stats` and eval's `wording` field."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from amuse_cli.data.annotations import PLACEHOLDER, load_annotations, parse_record, question_words
from amuse_cli.data.taxonomy import TEMPLATE_IDS, TEMPLATES_RAW, normalize_template
from amuse_cli.data.wordings import (FREE, MAX_WORDS, REPHRASINGS, SEEN, TEMPLATE, UNSEEN, content_words,
                                     recognise, released_template, rephrasings, training_words)
from amuse_cli.errors import AnnotationError
from amuse_cli.synth.generate import SynthOptions, plan
from amuse_cli.synth.writer import write_json

# ----- the table ----------------------------------------------------------------------------------


def test_every_template_has_six_rephrasings_two_of_them_unseen():
    for i in range(len(TEMPLATES_RAW)):
        kinds = Counter(r.kind for r in rephrasings(i))
        assert kinds[SEEN] + kinds[UNSEEN] >= 6 and kinds[UNSEEN] >= 2 and kinds[SEEN] >= 2, (i, kinds)
    assert {r.kind for r in REPHRASINGS} == {SEEN, UNSEEN}


def test_rephrasings_keep_their_templates_placeholders_in_order_each_a_word_of_its_own():
    for r in REPHRASINGS:
        template = TEMPLATES_RAW[r.template][0]
        assert PLACEHOLDER.findall(r.text) == PLACEHOLDER.findall(template), r
        words = question_words(r.text, ())
        # each placeholder a word of its own ('<LR>,' would not be filled)
        assert [w for w in words if PLACEHOLDER.search(w)] == PLACEHOLDER.findall(template), r
        filled = question_words(r.text, [f"v{k}" for k in range(len(PLACEHOLDER.findall(r.text)))])
        assert not any(PLACEHOLDER.search(w) for w in filled) and len(filled) <= MAX_WORDS, r
        assert r.text.endswith("?") and r.text[0].isupper(), r


def test_texts_are_unique_and_none_is_a_template():
    texts = [normalize_template(r.text) for r in REPHRASINGS]
    assert len(set(texts)) == len(texts)
    assert not set(texts) & set(TEMPLATE_IDS)
    seen = {r.text for r in REPHRASINGS if r.kind == SEEN}
    assert not seen & {r.text for r in REPHRASINGS if r.kind == UNSEEN}


def test_each_unseen_rephrasing_uses_a_word_its_template_and_seen_rephrasings_never_use():
    for i, (template, _, _) in enumerate(TEMPLATES_RAW):
        known = content_words(template).union(*(content_words(r.text) for r in rephrasings(i, SEEN)))
        for r in rephrasings(i, UNSEEN):
            assert content_words(r.text) - known, r
    # stronger: every unseen rephrasing has a word no training question of any template uses
    train = training_words()
    assert all(content_words(r.text) - train for r in REPHRASINGS if r.kind == UNSEEN)


def test_released_template_groups_every_wording_under_the_release_spelling():
    quirky = TEMPLATES_RAW[17][0]                       # ends in the full-width '？'
    assert released_template(quirky) == quirky == released_template(normalize_template(quirky))
    for r in REPHRASINGS:
        assert released_template(r.text) == TEMPLATES_RAW[r.template][0]
        assert recognise(r.text + " ") == r
    assert released_template("Why is the cello sad?") == "Why is the cello sad?"


# ----- the loader --------------------------------------------------------------------------------

def _record(content, values=(), qtype=("Audio", "Counting"), answer="yes"):
    return {"video_id": "00000001", "question_id": 7, "type": json.dumps(list(qtype)),
            "question_content": content, "templ_values": json.dumps(list(values)), "question_deleted": 0,
            "anser": answer}


def test_a_rephrasing_reads_as_its_template_with_the_words_asked():
    text = "Can both the <Object> and the <Object> be heard?"
    r = parse_record(_record(text, ["violin", "cello"]), "x:0", "x record 0")
    assert r.template == normalize_template(TEMPLATES_RAW[0][0]) and TEMPLATE_IDS[r.template] == 0
    assert (r.wording, r.asked) == (SEEN, text)
    assert r.tokens == ["Can", "both", "the", "violin", "and", "the", "cello", "be", "heard"]
    assert r.question == "Can both the violin and the cello be heard?"
    unseen = parse_record(_record("Is a <Object> audible in the recording?", ["flute"]), "x:1", "x record 1")
    assert (TEMPLATE_IDS[unseen.template], unseen.wording) == (1, UNSEEN) and "audible" in unseen.tokens
    plain = parse_record(_record(TEMPLATES_RAW[1][0], ["flute"]), "x:2", "x record 2")
    assert (plain.wording, plain.tokens) == (TEMPLATE, ["Is", "there", "a", "flute", "sound"])
    with pytest.raises(AnnotationError, match=r"asked as .*belongs to Audio/Counting, but type says Visual"):
        parse_record(_record(text, ["violin", "cello"], ("Visual", "Counting")), "x:3", "x record 3")
    with pytest.raises(AnnotationError, match="unknown template"):
        parse_record(_record("Can both the <Object> and the <Object> be seen now?", ["a", "b"]), "x:4", "x")


# MUSIC-AVQA-R-style records (as tests/test_releases.py's): free text, read exactly as before
R_STYLE = [("Does the <Object> in the video play all the time?", ["cello"], ("Audio-Visual", "Existential")),
           ("Which instrument plays together with the <Object>?", ["piano"], ("Audio-Visual", "Location")),
           ("Can a voice-over be heard?", [], ("Audio-Visual", "Existential"))]


def test_free_text_and_real_files_read_as_before(real_annotations):
    for i, (text, values, qtype) in enumerate(R_STYLE):
        r = parse_record(_record(text, values, qtype), f"r:{i}", "r", free_text=True)
        assert (r.template, r.wording, TEMPLATE_IDS.get(r.template, -1)) == (normalize_template(text), FREE, -1)
        assert r.tokens == question_words(text, values)
    for split in ("val", "test"):
        records = load_annotations(real_annotations / f"avqa-{split}.json")
        assert {r.wording for r in records} == {TEMPLATE}
        assert all(r.tokens == question_words(r.template, r.values) for r in records)


# ----- amuse synth --wording ---------------------------------------------------------------------

def _plan(**kw):
    return plan(SynthOptions(videos=40, seconds=4.0, seed=11, world="classic", **kw))[1]


def _kind(text: str) -> str:
    hit = recognise(text)
    return hit.kind if hit else TEMPLATE


def _kinds(records) -> Counter:
    return Counter(_kind(r["question_content"]) for r in records)


def test_mixed_wording_asks_unseen_rephrasings_in_test_only_and_changes_nothing_else():
    mixed, plain = _plan(wording="mixed"), _plan(wording="templates")
    assert mixed == _plan(wording="mixed")                                    # deterministic from the seed
    for split in ("train", "val"):
        kinds = _kinds(mixed[split])
        assert kinds[UNSEEN] == 0 and kinds[SEEN] > 0.3 * len(mixed[split]) and kinds[TEMPLATE] > 0
    kinds = _kinds(mixed["test"])
    assert all(kinds[k] > 0.2 * len(mixed["test"]) for k in (TEMPLATE, SEEN, UNSEEN)), kinds
    assert all(_kinds(plain[s]) == Counter({TEMPLATE: len(plain[s])}) for s in plain)
    for split in plain:   # its own random stream: same questions, values, answers, ids and splits
        assert len(mixed[split]) == len(plain[split])
        for a, b in zip(mixed[split], plain[split]):
            assert released_template(a["question_content"]) == b["question_content"]
            assert {**a, "question_content": None} == {**b, "question_content": None}


# sha256 of the question files of the generator before wording existed (commit 7f5e4da), classic
# world: `--wording templates` must write them byte for byte, so published figures reproduce.
CLASSIC_SHA256 = {
    "train": "11468e31bc1e942ea17c122afb30b9c06d74a52dddf6974a2bb11ee5f2527748",
    "val": "8aa5cf2e04bb6d9392153062b24f715ea392586ea17738ea2e4632a87576d731",
    "test": "530e219efa18251f4b18c154ed2439118d700ca3dac23f4efbcebbb462e19927",
}


def test_templates_wording_writes_the_classic_question_files_byte_for_byte(tmp_path):
    _, files = plan(SynthOptions(videos=12, seconds=4.0, seed=3, world="classic", wording="templates"))
    for split, records in files.items():
        write_json(tmp_path / f"{split}.json", records)
        assert hashlib.sha256((tmp_path / f"{split}.json").read_bytes()).hexdigest() == CLASSIC_SHA256[split]


def test_synth_and_stats_through_the_cli_count_the_wordings(run_cli, tmp_path):
    out = tmp_path / "set"
    made = run_cli("synth", "--out", out, "--videos", 8, "--seconds", 2, "--size", "64x64", "--fps", 2,
                   "--world", "classic", "--wording", "mixed", "--workers", 1, "--no-progress")
    assert made.exit_code == 0, made.output
    files = [out / "json" / f"avqa-{s}.json" for s in ("train", "test")]
    result = run_cli("stats", *files, "--format", "json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output)
    for entry, path in zip(stats["wording"], files):
        raw = json.loads(path.read_text())
        kinds = _kinds(raw)
        assert entry["file"] == str(path)
        assert entry["questions"] == {TEMPLATE: kinds[TEMPLATE], SEEN: kinds[SEEN], UNSEEN: kinds[UNSEEN], FREE: 0}
        seen = {r["question_content"] for r in raw if _kind(r["question_content"]) == SEEN}
        assert entry["distinct"][SEEN] == len(seen)
    train, test = stats["wording"]
    assert train["questions"][UNSEEN] == 0 and test["questions"][UNSEEN] > 0
    assert set(stats["templates"]) <= set(TEMPLATE_IDS)          # rephrasings counted under their template
    card = (out / "README.md").read_text()
    assert "## Wording" in card and "--wording mixed" in card
    table = run_cli("stats", *files)
    assert table.exit_code == 0 and "unseen rephrasing" in table.output
    assert run_cli("synth", "--wording", "odd", "--dry-run").exit_code == 2
    dry = run_cli("synth", "--dry-run", "--videos", 8, "--world", "classic", "--wording", "mixed")
    assert dry.exit_code == 0 and "wording mixed: train" in dry.output and "unseen" in dry.output


# ----- amuse eval --------------------------------------------------------------------------------

@pytest.mark.usefixtures("one_thread")
def test_eval_predictions_carry_the_wording(tiny_run, tiny_synth, tmp_path, run_cli):
    run, _ = tiny_run
    records = json.loads((tiny_synth / "json/avqa-test.json").read_text())
    index = {t: i for i, (t, _, _) in enumerate(TEMPLATES_RAW)}
    for k, r in enumerate(records):          # reword by hand: template, seen, unseen in turn
        t = index.get(r["question_content"])
        if t is not None and k % 3:
            r["question_content"] = rephrasings(t, SEEN if k % 3 == 1 else UNSEEN)[0].text
    (tmp_path / "worded.json").write_text(json.dumps(records))
    result = run_cli("eval", run, "--split", "worded", "--annotations", tmp_path / "worded.json")
    assert result.exit_code == 0, result.output
    preds = [json.loads(x) for x in (run / "predictions-worded.jsonl").read_text().splitlines()]
    asked = load_annotations(tmp_path / "worded.json")
    assert [p["wording"] for p in preds] == [r.wording for r in asked]
    assert {p["wording"] for p in preds} == {TEMPLATE, SEEN, UNSEEN}
    assert [p["question"] for p in preds] == [r.question for r in asked]
    assert all(p["template"] in TEMPLATE_IDS for p in preds)
