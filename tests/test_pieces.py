"""Questions read by their pieces (`model.question: pieces`): the vocabulary's pieces, the piece
encoder, links to names by similarity, and a grounded run through the real CLI on rephrased questions."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import ANSWERS, INSTRUMENTS
from amuse_cli.data.vocab import MAX_PIECES, UNKNOWN_PIECE, Vocab, word_pieces
from amuse_cli.models.pieces import NameLinks, PieceEmbedding, nth_linked
from amuse_cli.models.reasoner import NAMES, GroundedReasoner, nth_named, word_table

REPO = Path(__file__).resolve().parents[1]
GROUNDED = str(REPO / "recipes/amuse-grounded.yaml")
FAST = ["train.epochs=1", "train.batch_size=8", "train.questions_per_video=2", "eval.batch_size=16"]
WORDS = ["Is", "the", "violin", "louder", "than", "piano", "left", "How", "many", "are", "there"]


def test_pieces_are_fasttext_ngrams_and_unknown_ones_are_marked():
    assert word_pieces("Cello") == ["<ce", "cel", "ell", "llo", "lo>", "<cel", "cell", "ello", "llo>", "<cell",
                                    "cello", "ello>", "<cello>"]
    vocab = Vocab(WORDS)
    ids = vocab.piece_ids("violins")          # never seen: its violin pieces known, "ins>" etc. not
    known = [i for i in ids if i > UNKNOWN_PIECE]
    assert len(ids) == MAX_PIECES and ids.count(UNKNOWN_PIECE) > 0 and len(known) > 10
    assert all(vocab.pieces[i] in word_pieces("violin") for i in known)
    n = len(word_pieces("zzzz"))
    assert vocab.piece_ids("zzzz") == [UNKNOWN_PIECE] * n + [0] * (MAX_PIECES - n)
    rows = vocab.encode_pieces(["Is", "the", "cello"], 5)       # a name's pieces are known though unseen
    assert len(rows) == 5 and rows[3] == rows[4] == [0] * MAX_PIECES
    assert UNKNOWN_PIECE not in rows[2] and vocab.encode(["cello"]) == [1]


def test_vocab_with_its_pieces_survives_save_and_load(tmp_path):
    vocab = Vocab(WORDS)
    vocab.save(tmp_path / "vocab.json")
    back = Vocab.load(tmp_path / "vocab.json")
    assert back.words == vocab.words and back.pieces == vocab.pieces
    asked = ["Are", "violins", "audible"]
    assert back.encode_pieces(asked, 14) == vocab.encode_pieces(asked, 14)
    (tmp_path / "old.json").write_text(json.dumps(vocab.words))     # a run folder of an earlier version
    assert Vocab.load(tmp_path / "old.json").pieces == vocab.pieces


def test_piece_embedding_shapes_determinism_and_silent_unknown_pieces():
    vocab = Vocab(WORDS)
    torch.manual_seed(0)
    emb = PieceEmbedding(len(vocab.words), len(vocab.pieces), 16).eval()
    torch.manual_seed(0)
    twin = PieceEmbedding(len(vocab.words), len(vocab.pieces), 16).eval()
    q = ["Is", "the", "violins", "zzzz"]
    ids, pieces = torch.tensor([vocab.encode(q, 6)]), torch.tensor([vocab.encode_pieces(q, 6)])
    x, by_pieces = emb(ids, pieces)
    assert x.shape == by_pieces.shape == (1, 6, 16)
    assert torch.equal(x, emb(ids, pieces)[0]) and torch.equal(x, twin(ids, pieces)[0])
    assert by_pieces[0, 3].abs().sum() == 0 and by_pieces[0, 4:].abs().sum() == 0   # no known piece: zero
    assert torch.equal(x[0, 3], emb.word.weight[1])                                 # ... and the <unk> vector
    emb.train()      # dropouts draw from torch's generator: the same seed, the same tokens
    torch.manual_seed(1)
    a = emb(ids, pieces)[0]
    torch.manual_seed(1)
    assert torch.equal(a, emb(ids, pieces)[0])


def test_nth_linked_is_the_word_table_order_and_counts_soft_links_softly():
    words = ["<pad>", "<unk>", "Is", "the", "violin", "louder", "than", "piano"]
    table = word_table(words, INSTRUMENTS)
    ids = torch.tensor([[2, 3, 7, 5, 6, 3, 4, 0]])
    first, pos = nth_named(table[ids], len(INSTRUMENTS), 0)
    assert first[0].argmax() == INSTRUMENTS.index("piano") and pos[0] == 2
    links = torch.zeros(1, 3, 2)
    links[0, 0, 0], links[0, 1, 1], links[0, 2, 0] = 0.5, 1.0, 1.0      # half a name, then two names
    which, weight = nth_linked(links, 0)
    assert torch.allclose(which, torch.tensor([[0.5, 0.5]])) and torch.allclose(weight, torch.tensor([[0.5, 0.5, 0]]))


def test_an_unseen_inflection_links_to_its_class_by_its_pieces():
    vocab = Vocab(WORDS)
    torch.manual_seed(0)
    head = GroundedReasoner(vocab.words, 14, frames=8, n_answers=len(ANSWERS), dim=32, question="pieces",
                            vocab=vocab).eval()
    q = ["Is", "the", "violins", "louder", "than", "the", "pianos"]
    ids, pieces = torch.tensor([vocab.encode(q, 14)]), torch.tensor([vocab.encode_pieces(q, 14)])
    _, links = head.read(ids, pieces, ids == 0)
    assert NAMES[int(links[0, 2].argmax())] == "violin" and links[0, 2].max() > 0.9
    assert NAMES[int(links[0, 6].argmax())] == "piano" and links[0, 6].max() > 0.9
    assert links[0, [0, 1, 3, 4, 5]].sum() < 0.1 and links[0, 7:].sum() == 0     # other words, padding
    words = GroundedReasoner(vocab.words, 14, frames=8, n_answers=len(ANSWERS), dim=32).eval()
    assert words.read(ids, None, ids == 0)[1][0, 2].sum() == 0                   # a word table: <unk>


def test_links_learnt_on_exact_names_carry_to_unseen_inflections():
    """Toy: 'Is there a <name>' -> the named class's value. Trained on the exact names of 8 classes,
    then asked with plural / -ist forms training never showed: the link by pieces still reads the
    right class (a word table would give <unk> and the mean)."""
    names = ["violin", "piano", "cello", "flute", "drum", "trumpet", "banjo", "tuba"]
    vocab = Vocab(["Is", "there", "a"] + names)
    torch.manual_seed(0)
    emb, links = PieceEmbedding(len(vocab.words), len(vocab.pieces), 32), NameLinks(32)
    name_pieces = torch.tensor(vocab.encode_pieces(list(INSTRUMENTS)))
    opt = torch.optim.Adam([*emb.parameters(), *links.parameters()], lr=1e-2)

    def read(words, values):
        ids = torch.tensor([vocab.encode(w) for w in words])
        pieces = torch.tensor([vocab.encode_pieces(w) for w in words])
        link = links(emb(ids, pieces)[1], emb.pieces(name_pieces, dropout=False), ids == 0)
        return torch.einsum("blk,bk->b", link, values)

    for step in range(60):
        values = torch.rand(16, len(INSTRUMENTS))
        asked = [names[i % len(names)] for i in range(step, step + 16)]
        target = values[torch.arange(16), [INSTRUMENTS.index(n) for n in asked]]
        loss = (read([["Is", "there", "a", n] for n in asked], values) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    emb.eval()
    unseen = ["violins", "pianist", "cellos", "flutist", "drums", "trumpets"]
    values = torch.rand(len(unseen), len(INSTRUMENTS))
    with torch.no_grad():
        got = read([["Is", "there", "a", w] for w in unseen], values)
    want = values[torch.arange(len(unseen)), [INSTRUMENTS.index(n) for n in names[:6]]]
    assert (got - want).abs().max() < 0.1, (got, want)


def test_gated_encoder_reads_pieces():
    from amuse_cli.models.question import QuestionEncoder, piece_count
    vocab = Vocab(WORDS)
    enc = QuestionEncoder(len(vocab), 14, 32, 1, n_pieces=piece_count("pieces", vocab))
    q = ["How", "many", "violins", "are", "audible"]
    tokens, pad, pooled = enc(torch.tensor([vocab.encode(q, 14)]), torch.tensor([vocab.encode_pieces(q, 14)]))
    assert tokens.shape == (1, 14, 32) and pooled.shape == (1, 32) and pad[0].tolist() == [False] * 5 + [True] * 9
    pooled.sum().backward()
    assert enc.tokens.piece.weight.grad.abs().sum() > 0


@pytest.mark.usefixtures("one_thread")
def test_grounded_run_reads_rephrasings_by_pieces_through_the_cli(tiny_features, tiny_synth):
    """Train (model.question=pieces) -> vocab.json with its pieces -> eval twice, the same
    answers, wording kept per question -> report --by wording -> predict with an unseen word."""
    work, overrides = tiny_features
    old = os.getcwd()
    os.chdir(work)
    try:
        result = CliRunner().invoke(cli, ["train", GROUNDED, *overrides, *FAST, "model.weights=none",
                                          "model.question=pieces", "--run-name", "pieces", "--no-progress"])
        assert result.exit_code == 0, result.output
        run = work / "checkpoints" / "amuse-grounded" / "pieces"
        saved = json.loads((run / "vocab.json").read_text())
        assert saved["pieces"]["list"][:2] == ["<pad>", "<unk>"] and "<violin>" in saved["pieces"]["list"]
        answers = []
        for _ in range(2):
            result = CliRunner().invoke(cli, ["eval", str(run), "--split", "test"])
            assert result.exit_code == 0, result.output
            answers.append((run / "predictions-test.jsonl").read_text())
        result = CliRunner().invoke(cli, ["report", str(run), "--by", "wording", "--format", "json"])
        assert result.exit_code == 0, result.output
    finally:
        os.chdir(old)
    assert answers[0] == answers[1]
    preds = [json.loads(x) for x in answers[0].splitlines()]
    test = json.loads((tiny_synth / "json" / "avqa-test.json").read_text())
    assert len(preds) == len(test) and "unseen" in {p["wording"] for p in preds}
    table = json.loads(result.stdout)["runs"][0]["wordings"]
    assert table["unseen"]["n"] == sum(p["wording"] == "unseen" for p in preds)
    assert table["unseen"]["acc"] == pytest.approx(100.0 * sum(p["correct"] for p in preds if p["wording"] == "unseen")
                                                   / table["unseen"]["n"], abs=0.01)
    video = sorted((tiny_synth / "videos").glob("*.mp4"))[0]
    result = CliRunner().invoke(cli, ["predict", str(run), "--video", str(video),
                                      "--question", "Are the violins audible in this footage?"])
    assert result.exit_code == 0, result.output
    assert "read by their pieces" in result.output and "violins" in result.output
    assert result.output.split("answer: ")[1].split()[0] in {a.replace(" ", "_") for a in ANSWERS} | set(ANSWERS)
