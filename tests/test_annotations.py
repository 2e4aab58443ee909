"""The annotation layer against the real MUSIC-AVQA files and hand-built v2.0 / -R records."""
from __future__ import annotations

import json

import pytest

from amuse_cli.data.annotations import load_annotations, parse_record, question_words
from amuse_cli.data.stats import annotation_stats
from amuse_cli.data.taxonomy import ANSWERS, TEMPLATES, TYPES, number_word
from amuse_cli.data.vocab import Vocab
from amuse_cli.errors import AnnotationError



def test_taxonomy_sizes():
    assert len(ANSWERS) == 42 and len(set(ANSWERS)) == 42
    assert len(TEMPLATES) == 33
    assert len(TYPES) == 9
    assert number_word(3) == "three" and number_word(11) == "more than ten"


@pytest.mark.parametrize("split", ["val", "test"])
def test_real_files_counts(real_annotations, real_facts, split):
    """Counts of the excerpt (tests/data) and, with ../shared, of the whole files (its README's)."""
    stats = annotation_stats([real_annotations / f"avqa-{split}.json"])
    facts = real_facts[f"avqa-{split}.json"]
    assert stats["questions"] == facts["questions"]
    assert stats["videos"] == facts["videos"]
    assert stats["types"] == facts["types"]
    assert len(stats["templates"]) == 33
    assert set(stats["answers"]) <= set(ANSWERS)


def test_keys_unique_although_question_ids_repeat(real_annotations, tmp_path):
    recs = load_annotations(real_annotations / "avqa-test.json")
    assert len({r.key for r in recs}) == len(recs)
    # the original release repeats question_id with different answers: both records survive
    dup = [dict(recs[0].raw), {**recs[0].raw, "anser": "two" if recs[0].answer != "two" else "one"}]
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(dup))
    both = load_annotations(path)
    assert both[0].question_id == both[1].question_id and both[0].key != both[1].key
    assert both[0].answer != both[1].answer


def test_train_fake_file_reads(real_annotations, real_facts):
    recs = load_annotations(real_annotations / "avqa-train_fake.json")
    facts = real_facts["avqa-train_fake.json"]
    assert len(recs) == facts["questions"] and len({r.video_id for r in recs}) == facts["videos"]


def test_tokeniser_on_real_questions(real_annotations):
    recs = load_annotations(real_annotations / "avqa-test.json")
    by_template = {r.template: r for r in recs}
    r = by_template["How many sounding <Object> in the video?"]  # full-width '？' in the file
    assert r.raw["question_content"].endswith("\uff1f")
    assert r.tokens == ["How", "many", "sounding", r.values[0], "in", "the", "video"]
    r = by_template["Are there <Object> and <Object> sound?"]  # trailing space in the file
    assert r.tokens == ["Are", "there", r.values[0], "and", r.values[1], "sound"]
    assert max(len(r.tokens) for r in recs) == 14
    vocab = Vocab.build(recs)
    assert vocab.words[:2] == ["<pad>", "<unk>"]
    assert 0 not in vocab.encode(recs[0].tokens)
    assert len(vocab.encode(recs[0].tokens, length=14)) == 14


def test_v2_style_record():
    raw = {"video_id": "-2YsRb3SdYw_flip", "type": ["Audio-Visual", "Temporal"],
           "question_content": "Which <Object> makes the sound <FL>?", "templ_values": ["violin", "first"],
           "anser": "left"}
    r = parse_record(raw, "v2:0", "v2.json record 0")
    assert r.question_id is None and r.video_id == "-2YsRb3SdYw_flip"
    assert r.tokens == ["Which", "violin", "makes", "the", "sound", "first"]
    assert r.question == "Which violin makes the sound first?"


def test_r_style_rephrased_question_maps_unknown_words(real_annotations):
    vocab = Vocab.build(load_annotations(real_annotations / "avqa-val.json"))
    raw = {"video_id": "00000001", "question_id": 1, "type": '["Audio-Visual", "Temporal"]',
           "question_content": "Which instrument begins earliest in the clip?",
           "templ_values": "[]", "anser": "piano"}
    with pytest.raises(AnnotationError, match="unknown template"):
        parse_record(raw, "r:0", "r.json record 0")
    r = parse_record(raw, "r:0", "r.json record 0", free_text=True)
    ids = vocab.encode(r.tokens)
    assert 1 in ids and vocab.unknown(r.tokens) == ["begins", "earliest", "clip"]


@pytest.mark.parametrize("change,message", [
    ({"anser": "maybe"}, "answer 'maybe' is not one of the 42"),
    ({"templ_values": '["violin"]', "question_content": "Is the <Object> louder than the <Object>?",
      "type": '["Audio", "Comparative"]'},
     "2 placeholder"),
    ({"type": '["Audio", "Temporal"]'}, "nine MUSIC-AVQA"),
    ({"question_content": "What colour is the <Object>?"}, "unknown template"),
])
def test_bad_records_name_file_and_index(tmp_path, change, message):
    good = {"video_id": "00000001", "question_id": 3, "type": '["Audio", "Counting"]',
            "question_content": "Is there a <Object> sound?", "templ_values": '["violin"]',
            "question_deleted": 0, "anser": "yes"}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([good, {**good, **change}]))
    with pytest.raises(AnnotationError, match=message) as e:
        load_annotations(path)
    assert "bad.json record 1" in str(e.value)
    skipped = []
    assert len(load_annotations(path, strict=False, skipped=skipped)) == 1 and len(skipped) == 1


def test_invalid_json_reports_line_and_column(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n{"video_id": "1",\n  oops}\n]')
    with pytest.raises(AnnotationError, match=r"broken.json: invalid JSON at line 3 column 3"):
        load_annotations(path)


def test_question_words_fills_left_to_right():
    assert question_words("Is the <Object> on the <LR> louder than the <Object> on the <LR>?",
                          ["cello", "left", "piano", "right"]) == \
        "Is the cello on the left louder than the piano on the right".split()
