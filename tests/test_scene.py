"""The scene facts the grounded head reads (models/scene.py) and the head itself (models/reasoner.py).

Facts are checked against the synthetic generator's own answers on perfect scenes
(features.truth.scene_truth of planned videos, no media): if a fact disagrees with the answer a
template was written from, no head can learn it.
"""
from __future__ import annotations

import json

import pytest
import torch

from amuse_cli.data.taxonomy import ANSWERS, INSTRUMENTS
from amuse_cli.features.truth import scene_truth
from amuse_cli.models.reasoner import GroundedReasoner, nth_named, word_table
from amuse_cli.models.scene import first_last, summarise
from amuse_cli.synth.generate import SynthOptions, plan

ORDINALS = ("first", "second", "third", "fourth", "fifth")


@pytest.fixture(scope="module")
def planned():
    # the classic world: the column scene of features.truth has one performer per column, which only
    # its fixed columns guarantee; the tests below find questions by template text
    metas, files = plan(SynthOptions(out="unused", videos=120, seconds=12.0, questions_per_video=33, seed=5,
                                     world="classic", wording="templates"))
    by_id = {m["video_id"]: m for m in metas}
    facts = {}
    for vid, meta in by_id.items():
        s = scene_truth(meta, 8, 4)
        facts[vid] = summarise(*(torch.tensor(s[k])[None] for k in ("cols", "classes", "glob")))
    return [r for split in files.values() for r in split], facts


def test_first_last_reads_entry_and_exit_inside_frames():
    active = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.5, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    entry, exit_ = first_last(active)
    assert entry[0] == pytest.approx(0.5) and exit_[0] == pytest.approx(1.0)
    assert 0.25 < entry[1] < 0.5 and exit_[1] == pytest.approx(0.75)   # half-active frame: entry inside it
    assert entry[2] == pytest.approx(1.0) and exit_[2] == pytest.approx(0.0)   # silent: never enters


def test_kth_entry_answers_match_source_ranks_even_with_two_performers_of_a_class(planned):
    records, facts = planned
    asked = [r for r in records if "comes in" in r["question_content"]]
    assert len(asked) > 30
    for r in asked:
        k = ORDINALS.index(json.loads(r["templ_values"])[0])
        s = facts[r["video_id"]]
        c = INSTRUMENTS.index(r["anser"])
        ranks = torch.cat([s["c_entry_rank"][0][s["c_probs"][0, :, c] > 0.5],
                           s["k_entry_rank"][0, c:c + 1] if s["k_offscreen"][0, c] > 0.5 else torch.empty(0)])
        assert (ranks - k).abs().min() < 0.5, (r, ranks)


def test_comparison_answers_match_the_facts(planned):
    records, facts = planned
    key = {"louder": "k_loud", "rhythmic": "k_rate", "longer": "k_frac"}
    checked = 0
    for r in records:
        if not r["question_content"].startswith("Is the <Object>") or "<LR>" in r["question_content"]:
            continue
        word = next((w for w in key if w in r["question_content"]), None)
        if word is None:
            continue
        a, b = (INSTRUMENTS.index(v) for v in json.loads(r["templ_values"]))
        s = facts[r["video_id"]][key[word]][0]
        assert (s[a] > s[b]) == (r["anser"] == "yes"), r
        checked += 1
    assert checked > 30


def test_counts_of_performers_and_sources(planned):
    records, facts = planned
    for r in records:
        q, s = r["question_content"], facts[r["video_id"]]
        if q.startswith("How many instruments are sounding"):
            assert round(s["g_sounding"].item()) == ANSWERS.index(r["anser"]) - ANSWERS.index("zero")
        if q.startswith("How many musical instruments were heard"):
            assert round(s["g_sources"].item()) == ANSWERS.index(r["anser"]) - ANSWERS.index("zero")


def test_named_slots_follow_question_order():
    words = ["<pad>", "<unk>", "Is", "the", "violin", "louder", "than", "piano", "left"]
    table = word_table(words, INSTRUMENTS)
    ids = torch.tensor([[2, 3, 7, 5, 6, 3, 4, 0], [2, 3, 8, 0, 0, 0, 0, 0]])
    first, pos = nth_named(table[ids], len(INSTRUMENTS), 0)
    second, pos2 = nth_named(table[ids], len(INSTRUMENTS), 1)
    assert first[0].argmax() == INSTRUMENTS.index("piano") and pos[0] == 2
    assert second[0].argmax() == INSTRUMENTS.index("violin") and pos2[0] == 6
    assert first[1].sum() == 0 and pos[1] == -1                       # no instrument named


def test_reasoner_gives_answer_logits_and_gradients_reach_the_scene():
    words = ["<pad>", "<unk>", "Is", "the", "violin", "louder", "than", "piano", "left", "How", "many"]
    head = GroundedReasoner(words, 14, frames=8, n_answers=len(ANSWERS), dim=32)
    ids = torch.tensor([[2, 3, 4, 5, 6, 3, 7] + [0] * 7, [9, 10, 8] + [0] * 11])
    cols = torch.rand(2, 4, 8, 3 + 22, requires_grad=True)
    classes = torch.rand(2, 22, 8, 5, requires_grad=True)
    glob = torch.rand(2, 8, 2)
    out = head(ids, cols, classes, glob)
    assert out.shape == (2, len(ANSWERS)) and torch.isfinite(out).all()
    out.logsumexp(-1).sum().backward()
    assert cols.grad.abs().sum() > 0 and classes.grad.abs().sum() > 0
