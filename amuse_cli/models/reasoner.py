"""The grounded reasoning head (`model.fusion: grounded`): binds question words to scene entities.

Why not pool and gate: a pooled branch keeps no trace of *which* named instrument is which, so
"is the violin louder than the piano" stays at chance however many questions it sees (README, How
far the demo goes). Here the scene is a set of entities (models/scene.py: 22 instrument classes as
heard, and one performer per image column as seen) and the question acts on them:

- the question's sense: with `sentence="minilm"` a frozen pretrained sentence encoder's vector of
  the question (models/sentence.py), through a learnt projection, joins the question summary that
  the selection paths, pointers and head read: a rephrasing whose words training never showed
  ("audible", "volume") still says which relation it asks, while the words below bind the names.
- grounding: a word that names an instrument class receives that class entity's state; a
  position word (left / middle / right) the state of the performers in that third; leftest /
  rightest the outermost performer. A question transformer then mixes the words. Which word names
  what: with `question="pieces"` a soft link by the similarity of the word's pieces to the name's
  (models/pieces.py: "violins" or a misspelling still links), with "words" exact word tables.
- named slots: the first and second named instrument and position are read out *in question
  order*, with their raw facts and their difference, so "first louder than second" is one sign.
- pointers: every class entity and every column scores itself against the question (and against
  the named anchor: entry-rank distance, overlap in time, performers between them), so an answer
  that is an instrument or a position is chosen by the entity that fits, not by a 42-way guess.
- counting: every entity decides whether it satisfies the question (a probability); their sum,
  compared with each number word, scores the counting answers.

The parts are summed into 42 answer logits. Nothing reads the synthetic ground truth: the scene
comes from perception (models/perception.py) on any video.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from amuse_cli.data.taxonomy import ANSWER_IDS, INSTRUMENTS, NUMBERS
from amuse_cli.errors import ConfigError
from amuse_cli.models.pieces import WORD_DROPOUT, NameLinks, PieceEmbedding, drop_words, nth_linked
from amuse_cli.models.question import QUESTIONS
from amuse_cli.models.sentence import sense
from amuse_cli.models.scene import THIRDS, rbf, soft_extreme, summarise, thirds

CLASS_SCALARS = ("k_offscreen", "k_peak", "k_frac", "k_entry", "k_exit", "k_loud", "k_rate", "k_pitch", "k_pitched",
                 "k_visible", "k_sounding", "k_x", "k_entry_rank", "k_exit_rank", "k_loud_rank",
                 "k_low_rank", "k_from_first", "k_from_last", "k_from_loudest", "k_from_lowest", "k_vis_frac",
                 "k_vis_entry", "k_vis_exit")
COL_SCALARS = ("c_present", "c_x", "c_peak", "c_heard", "c_sound", "c_frac", "c_entry", "c_exit",
               "c_loud", "c_rate", "c_pitch",
               "c_pitched", "c_left_of", "c_right_of", "c_entry_rank", "c_from_first", "c_from_last",
               "c_from_loudest", "c_from_lowest")
# Facts a class and a performer both have: a comparison reads them from whichever the question names
# (a position names a performer, else an instrument names its class), so "louder" learnt on
# "is the violin louder than the piano" also answers "is the instrument on the left louder ...".
SHARED = ("peak", "frac", "entry", "exit", "loud", "rate", "pitch", "pitched", "entry_rank", "from_first",
          "from_last", "from_loudest", "from_lowest")
GLOBAL_COUNTS = ("g_heard", "g_visible", "g_sounding", "g_visible_classes", "g_offscreen", "g_sources")
EXTREMES = ("leftest", "rightest")
NAMES = INSTRUMENTS + THIRDS + EXTREMES     # what a question word can link to, in this order
RANKS = torch.arange(0, 5).float()          # rank / count bumps 0..4
DELTAS = torch.arange(-2, 3).float()        # rank differences -2..2
COUNTS = torch.arange(0, 7).float()
NUMBER_IDS = [ANSWER_IDS[w] for w in NUMBERS[:11]]
CLASS_IDS = [ANSWER_IDS[c] for c in INSTRUMENTS]
THIRD_IDS = [ANSWER_IDS[p] for p in THIRDS]


def mlp(i: int, h: int, o: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(i), nn.Linear(i, h), nn.GELU(), nn.Linear(h, o))


def word_table(words, names) -> torch.Tensor:
    """[V] index of each vocabulary word in `names`, -1 elsewhere."""
    index = {n: i for i, n in enumerate(names)}
    return torch.tensor([index.get(w, -1) for w in words], dtype=torch.long)


def table_links(table_ids: torch.Tensor, n_names: int) -> torch.Tensor:
    """Word-table entries [B, L] (-1: names nothing) as one-hot links [B, L, n_names]."""
    return F.one_hot(table_ids.clamp(min=0), n_names).float() * (table_ids >= 0).unsqueeze(-1).float()


def nth_named(table_ids: torch.Tensor, n_names: int, nth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(one-hot [B, n_names] of the nth named entity in the question, its token position [B] or -1)."""
    which, weight = nth_linked(table_links(table_ids, n_names), nth)
    return which, torch.where(weight.amax(1) > 0, weight.argmax(1), torch.full_like(weight[:, 0], -1).long())


class GroundedReasoner(nn.Module):
    """Question (word ids, and piece ids when read by pieces, its sentence vector with a sentence
    encoder) + scene (cols, classes, glob) -> logits over the 42 answers. `vocab` (data/vocab.py) is
    needed by `question="pieces"`."""

    def __init__(self, words: list[str], max_tokens: int, frames: int, n_answers: int, dim: int = 64,
                 layers: int = 2, heads: int = 4, question: str = "words", vocab=None,
                 word_dropout: float | None = None, sentence: str = "none"):
        super().__init__()
        if question not in QUESTIONS:
            raise ConfigError(f"model.question={question!r}; use one of {', '.join(QUESTIONS)}")
        k = len(INSTRUMENTS)
        self.reads = question
        # words: none unless asked (today's reader); pieces: models/pieces.py's default
        self.word_dropout = (0.0 if question == "words" else WORD_DROPOUT) if word_dropout is None else word_dropout
        for name, values in (("ranks", RANKS), ("deltas", DELTAS), ("counts", COUNTS)):
            self.register_buffer(name, values, persistent=False)
        yes_no = torch.zeros(2, n_answers)
        yes_no[0, ANSWER_IDS["yes"]] = yes_no[1, ANSWER_IDS["no"]] = 1.0
        self.register_buffer("yes_no", yes_no, persistent=False)
        kf = len(CLASS_SCALARS) + 2 * len(RANKS) + 2 * len(COUNTS) + frames
        cf = len(COL_SCALARS) + 3 + 3 * len(RANKS) + frames
        gf = len(GLOBAL_COUNTS) * (1 + len(COUNTS)) + 2
        self.class_emb = nn.Embedding(k, dim)
        self.third_emb = nn.Linear(3, dim, bias=False)
        self.class_in = mlp(kf, dim * 2, dim)
        self.col_in = mlp(cf, dim * 2, dim)
        if question == "words":
            for name, names in (("word_class", INSTRUMENTS), ("word_third", THIRDS), ("word_extreme", EXTREMES)):
                self.register_buffer(name, word_table(words, names), persistent=False)
            self.embed = nn.Embedding(len(words), dim, padding_idx=0)
        else:
            self.tokens = PieceEmbedding(len(vocab.words), len(vocab.pieces), dim, word_dropout=self.word_dropout)
            self.links = NameLinks(dim)
            self.register_buffer("name_pieces", torch.tensor(vocab.encode_pieces(list(NAMES))), persistent=False)
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, dim))
        self.bind = nn.Linear(dim, dim)
        layer = nn.TransformerEncoderLayer(dim, heads, dim * 2, dropout=0.0, batch_first=True, norm_first=True)
        self.words = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.sentence = sense(sentence, dim)     # the sentence vector's share of the question summary
        self.raw_k = nn.Linear(kf, dim)
        self.raw_c = nn.Linear(cf, dim)
        head_in = dim * 5 + dim * 6 + gf
        self.head = mlp(head_in, dim * 2, n_answers)
        pair_k = 2 + 1 + len(DELTAS) + 2
        pair_c = 4 + 5 * len(DELTAS) + 3
        self.class_score = mlp(dim + pair_k + dim, dim * 2, 2)        # pointer, count
        self.col_score = mlp(dim + pair_c + dim, dim * 2, 3)          # class pointer, position pointer, count
        # Selection paths: the question picks which facts decide (a linear map of the question times
        # the facts), so "louder" -> loudness difference is learnt from a few dozen examples.
        n_cmp = 2 * len(CLASS_SCALARS) + 2 * len(COL_SCALARS) + 2 * len(SHARED) + gf + 1
        for name, scalars, prefix in (("shared_k", CLASS_SCALARS, "k"), ("shared_c", COL_SCALARS, "c")):
            self.register_buffer(name, torch.tensor([scalars.index(f"{prefix}_{n}") for n in SHARED]), persistent=False)
        self.select_yes = nn.Linear(dim, n_cmp)
        self.select_k = nn.Linear(dim, 2 * (kf + pair_k))
        self.select_c = nn.Linear(dim, 3 * (cf + pair_c))
        for lin in (self.select_yes, self.select_k, self.select_c):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)
        self.mix = nn.Linear(dim, 4)                                  # per question: weight of each part
        # Per class, how far to trust the audio's "heard": perception's probabilities are not calibrated
        # alike for every timbre, and a performer sounds only if its class is heard (mimes).
        self.heard_scale = nn.Parameter(torch.ones(k))
        self.heard_shift = nn.Parameter(torch.zeros(k))

    # -- entities ---------------------------------------------------------------------------------
    def entities(self, s: dict):
        kf = torch.cat([torch.stack([s[n] for n in CLASS_SCALARS], -1), rbf(s["k_entry_rank"], self.ranks),
                        rbf(s["k_exit_rank"], self.ranks), rbf(s["k_visible"], self.counts),
                        rbf(s["k_sounding"], self.counts), s["heard"]], -1)
        cf = torch.cat([torch.stack([s[n] for n in COL_SCALARS], -1), thirds(s["c_x"]),
                        rbf(s["c_left_of"], self.ranks), rbf(s["c_right_of"], self.ranks),
                        rbf(s["c_entry_rank"], self.ranks), s["playing"]], -1)
        ek = self.class_in(kf) + self.class_emb.weight
        ec = self.col_in(cf) + s["c_probs"] @ self.class_emb.weight + self.third_emb(thirds(s["c_x"]))
        return kf, cf, ek, ec

    def calibrated(self, classes: torch.Tensor) -> torch.Tensor:
        """classes [B, K, T, F] with heard (feature 0) recalibrated per class on the logit scale."""
        heard = torch.logit(classes[..., 0].clamp(1e-4, 1 - 1e-4))
        heard = torch.sigmoid(self.heard_scale[:, None] * heard + self.heard_shift[:, None])
        return torch.cat([heard.unsqueeze(-1), classes[..., 1:]], -1)

    def named_facts(self, kf: torch.Tensor, cf: torch.Tensor, position: torch.Tensor) -> torch.Tensor:
        """The SHARED facts [B, S] of a named slot: its performer's when a position names it, else its class's."""
        by_position = position.sum(-1, keepdim=True).clamp(0, 1)
        return by_position * cf[:, self.shared_c] + (1 - by_position) * kf[:, self.shared_k]

    def read(self, ids: torch.Tensor, pieces: torch.Tensor | None, pad: torch.Tensor):
        """(token vectors [B, L, D], links [B, L, len(NAMES)]): which name each word refers to."""
        if self.reads == "words":
            links = torch.cat([table_links(self.word_class[ids], len(INSTRUMENTS)),
                               table_links(self.word_third[ids], len(THIRDS)),
                               table_links(self.word_extreme[ids], len(EXTREMES))], -1)
            return self.embed(drop_words(ids, self.word_dropout) if self.training else ids), links
        if pieces is None:
            raise ConfigError("model.question=pieces reads the batch's `pieces` (engine/datasets.py); this "
                              "batch has none")
        x, by_pieces = self.tokens(ids, pieces)
        names = self.tokens.pieces(self.name_pieces, dropout=False)
        return x, self.links(by_pieces, names, pad)

    def summary(self, h: torch.Tensor, pad: torch.Tensor, sentence: torch.Tensor | None) -> torch.Tensor:
        """The question summary [B, D]: the mean of the word states, plus the sentence's projection."""
        keep = (~pad).unsqueeze(-1).float()
        q = (h * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return q if self.sentence is None else self.sentence.add(q, sentence)

    def forward(self, ids: torch.Tensor, cols: torch.Tensor, classes: torch.Tensor, glob: torch.Tensor,
                pieces: torch.Tensor | None = None, sentence: torch.Tensor | None = None):
        s = summarise(cols, self.calibrated(classes), glob)
        kf, cf, ek, ec = self.entities(s)
        present = s["c_present"]
        member = thirds(s["c_x"]) * present.unsqueeze(-1)                        # [B, C, 3]
        view_third = member / member.sum(1, keepdim=True).clamp(min=1e-4)       # columns of a third
        outer = torch.stack([present * torch.exp(-3 * s["c_left_of"]),
                             present * torch.exp(-3 * s["c_right_of"])], -1)
        view_outer = outer / outer.sum(1, keepdim=True).clamp(min=1e-4)

        # grounding: named words receive their entity's state (in proportion to their links)
        pad = ids == 0
        pad = pad & ~pad.all(1, keepdim=True)
        x, links = self.read(ids, pieces, pad)
        lc, lt, le = links.split([len(INSTRUMENTS), len(THIRDS), len(EXTREMES)], -1)
        bound = (torch.einsum("blk,bkd->bld", lc, ek)
                 + torch.einsum("blt,btd->bld", lt, torch.einsum("bct,bcd->btd", view_third, ec))
                 + torch.einsum("ble,bed->bld", le, torch.einsum("bce,bcd->bed", view_outer, ec)))
        x = x + self.pos[:, : ids.shape[1]] + self.bind(bound)
        h = self.norm(self.words(x, src_key_padding_mask=pad))
        q = self.summary(h, pad, sentence)

        # named slots in question order
        (a1, a1_at), (a2, a2_at) = nth_linked(lc, 0), nth_linked(lc, 1)
        (p1, p1_at), (p2, p2_at) = nth_linked(lt, 0), nth_linked(lt, 1)
        kf1, kf2 = torch.einsum("bk,bkf->bf", a1, kf), torch.einsum("bk,bkf->bf", a2, kf)
        w1 = torch.einsum("bct,bt->bc", view_third, p1)
        w2 = torch.einsum("bct,bt->bc", view_third, p2)
        cf1, cf2 = torch.einsum("bc,bcf->bf", w1, cf), torch.einsum("bc,bcf->bf", w2, cf)
        g = torch.cat([torch.stack([s[n] for n in GLOBAL_COUNTS], -1)]
                      + [rbf(s[n], self.counts) for n in GLOBAL_COUNTS] + [s["g_voice"][:, None], s["g_indoor"][:, None]], -1)
        slots = [torch.einsum("bl,bld->bd", w, h) for w in (a1_at, a2_at, p1_at, p2_at)]
        head_in = torch.cat([q, *slots,
                             self.raw_k(kf1), self.raw_k(kf2), self.raw_k(kf1 - kf2),
                             self.raw_c(cf1), self.raw_c(cf2), self.raw_c(cf1 - cf2), g], -1)
        logits = self.head(head_in)
        nk, nc = len(CLASS_SCALARS), len(COL_SCALARS)
        a1_cols = torch.einsum("bck,bk->bc", s["c_probs"], a1) * s["c_sound"]
        spread = (soft_extreme(s["c_entry"], a1_cols, 0.04, True) - soft_extreme(s["c_entry"], a1_cols, 0.04, False))
        u1, u2 = self.named_facts(kf1, cf1, p1), self.named_facts(kf2, cf2, p2)
        cmp = torch.cat([kf1[:, :nk] - kf2[:, :nk], kf1[:, :nk], cf1[:, :nc] - cf2[:, :nc], cf1[:, :nc], u1 - u2, u1,
                         g, spread.unsqueeze(-1)], -1)
        yes = (self.select_yes(q) * cmp).sum(-1)
        logits = logits + torch.stack([yes, -yes], -1) @ self.yes_no.to(logits.dtype)

        # pointers and counts
        qk = q.unsqueeze(1)
        heard = s["heard"]
        a1_heard = torch.einsum("bk,bkt->bt", a1, heard)
        a1_rank = (a1 * s["k_entry_rank"]).sum(-1, keepdim=True)
        dk_rank = s["k_entry_rank"] - a1_rank
        pair_k = torch.cat([a1.unsqueeze(-1), a2.unsqueeze(-1),
                            (heard * a1_heard.unsqueeze(1)).mean(-1, keepdim=True),
                            rbf(dk_rank, self.deltas),
                            (s["k_entry"] - (a1 * s["k_entry"]).sum(-1, keepdim=True)).unsqueeze(-1),
                            a1.sum(-1, keepdim=True).clamp(max=1).unsqueeze(-1).expand(-1, a1.shape[1], 1)], -1)
        out_k = self.class_score(torch.cat([ek, pair_k, qk.expand(-1, ek.shape[1], -1)], -1))
        fk = torch.cat([kf, pair_k], -1)
        out_k = out_k + torch.einsum("bkf,bof->bko", fk, self.select_k(q).view(len(q), 2, -1))
        own = s["own"]
        is_a1 = torch.einsum("bck,bk->bc", s["c_probs"], a1)
        is_a2 = torch.einsum("bck,bk->bc", s["c_probs"], a2)
        in_p1 = torch.einsum("bct,bt->bc", thirds(s["c_x"]), p1)
        in_p2 = torch.einsum("bct,bt->bc", thirds(s["c_x"]), p2)
        first_col = (-s["c_entry"] / 0.04 + torch.log(s["c_sound"].clamp(min=1e-6))).softmax(-1)
        last_col = (s["c_entry"] / 0.04 + torch.log(s["c_sound"].clamp(min=1e-6))).softmax(-1)
        anchor_a1 = is_a1 * present
        anchor_a1 = anchor_a1 / anchor_a1.sum(-1, keepdim=True).clamp(min=1e-4)
        left_of = s["c_left_of"]

        def delta(weights):
            return rbf(left_of - (weights * left_of).sum(-1, keepdim=True), self.deltas)

        a1_sounding = is_a1 * s["c_sound"]
        pair_c = torch.cat([is_a1.unsqueeze(-1), is_a2.unsqueeze(-1), in_p1.unsqueeze(-1), in_p2.unsqueeze(-1),
                            delta(anchor_a1), delta(first_col), delta(last_col), delta(w1),
                            rbf(s["c_entry_rank"] - a1_rank, self.deltas), spread[:, None, None].expand(-1, ec.shape[1], 1),
                            (s["c_entry"] - soft_extreme(s["c_entry"], a1_sounding, 0.04, False)[:, None]).unsqueeze(-1),
                            (s["c_entry"] - soft_extreme(s["c_entry"], a1_sounding, 0.04, True)[:, None]).unsqueeze(-1)],
                           -1)
        out_c = self.col_score(torch.cat([ec, pair_c, qk.expand(-1, ec.shape[1], -1)], -1))
        fc = torch.cat([cf, pair_c], -1)
        out_c = out_c + torch.einsum("bcf,bof->bco", fc, self.select_c(q).view(len(q), 3, -1))
        mix = F.softplus(self.mix(q) + 0.5)
        # instruments: scored by class entities directly and through the columns that show them
        col_pick = (out_c[..., 0] + torch.log(present.clamp(min=1e-6))).softmax(-1)
        via_cols = torch.log(torch.einsum("bc,bck->bk", col_pick, own) + 1e-3)
        class_part = torch.zeros_like(logits)
        class_part[:, CLASS_IDS] = out_k[..., 0] + mix[:, :1] * via_cols
        pos_pick = (out_c[..., 1] + torch.log(present.clamp(min=1e-6))).softmax(-1)
        class_part[:, THIRD_IDS] = mix[:, 1:2] * torch.log(torch.einsum("bc,bct->bt", pos_pick, member) + 1e-3)
        count = torch.sigmoid(out_k[..., 1]).sum(-1) + (torch.sigmoid(out_c[..., 2]) * present).sum(-1)
        numbers = torch.arange(len(NUMBER_IDS), device=q.device, dtype=q.dtype)
        class_part[:, NUMBER_IDS] = -mix[:, 2:3] * (count.unsqueeze(-1) - numbers) ** 2
        return logits + class_part
