"""The measurement benches of issue 22, their pure parts (no training): bench/shift.py's steps, rows and
drops, and bench/honesty.py's pairing and swaps, the swaps on a real cache of real media."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from amuse_cli import config
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import datasets
from amuse_cli.errors import AmuseError
from amuse_cli.features.lookup import open_cache
from amuse_cli.synth import soundfont
from amuse_cli.synth.settings import SETTINGS

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))              # bench/ is scripts, not a package of amuse_cli
from bench import honesty, shift  # noqa: E402


# --- bench/shift.py: steps ---------------------------------------------------------------------------
def three_steps(work: Path, synth_seed: int = 0) -> shift.Plan:
    plan = shift.Plan(work)
    plan.add("synth", "synth", "--seed", synth_seed, clears=work / "data")
    plan.add("train", "train", "r.yaml", after=["synth"])
    plan.add("eval", "eval", "run", after=["train"])
    return plan


def test_plan_runs_what_is_not_done_and_reruns_what_an_earlier_change_invalidates(tmp_path):
    ran = []
    plan = three_steps(tmp_path)
    assert plan.needed(["eval"]) == ["synth", "train", "eval"] and plan.needed(["synth"]) == ["synth"]
    plan.run(["train"], ran.append)
    assert ran == [("synth", "--seed", "0"), ("train", "r.yaml")]
    assert plan.done("train") and not plan.done("eval")
    assert json.loads(plan.stamp("train").read_text())["command"] == f"amuse -C {tmp_path} train r.yaml"
    ran.clear()
    plan.run(["eval"], ran.append)                     # a rerun continues: finished steps are skipped
    assert ran == [("eval", "run")]
    # the same plan with another seed: every later step is stale, and the set's folder is cleared first
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "old.mp4").write_text("x")
    plan = three_steps(tmp_path, synth_seed=1)
    assert not any(plan.done(k) for k in ("synth", "train", "eval"))
    ran.clear()
    plan.run(["eval"], lambda args: ran.append((args, (tmp_path / "data").exists())))
    assert [a for a, _ in ran] == [("synth", "--seed", "1"), ("train", "r.yaml"), ("eval", "run")]
    assert ran[0][1] is False                          # removed before synth ran again


def test_a_failed_step_leaves_no_stamp(tmp_path):
    plan = three_steps(tmp_path)

    def fail_on_train(args):
        if args[0] == "train":
            raise RuntimeError("killed")
    with pytest.raises(RuntimeError):
        plan.run(["eval"], fail_on_train)
    assert plan.done("synth") and not plan.done("train") and not plan.stamp("train").exists()


def test_plan_refuses_unknown_earlier_steps(tmp_path):
    plan = shift.Plan(tmp_path)
    with pytest.raises(ValueError, match="unknown earlier"):
        plan.add("eval", "eval", after=["train"])


# --- bench/shift.py: rows -------------------------------------------------------------------------------
def prediction(group, qtype, correct, wording):
    return {"group": group, "type": qtype, "answer": "yes", "prediction": "yes" if correct else "no",
            "wording": wording}


def test_a_row_reads_only_its_wording_and_only_while_its_steps_are_done(tmp_path):
    plan = three_steps(tmp_path)
    preds = tmp_path / "predictions-test.jsonl"
    rows = [prediction("Visual", "Counting", True, "template"), prediction("Visual", "Counting", False, "template"),
            prediction("Audio", "Counting", False, "unseen"), prediction("Visual", "Location", True, "seen")]
    preds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    row = shift.Row("a", "own test split", "eval", preds, wording="template")
    assert shift.row_result(row, plan) is None         # not evaluated yet
    plan.run(["eval"], lambda args: None)
    res = shift.row_result(row, plan)
    assert res["questions"]["Avg"] == 2 and res["cells"]["Avg"] == 50.0 and res["cells"]["A-Avg"] is None
    assert res["wordings"] == {"template": 2}
    unseen = shift.row_result(shift.Row("c", "unseen", "eval", preds, wording="unseen"), plan)
    assert unseen["questions"]["Avg"] == 1 and unseen["cells"]["Avg"] == 0.0
    assert shift.row_result(shift.Row("b", "all", "eval", preds), plan)["questions"]["Avg"] == 4
    # options changed since: the predictions describe another setup and are not read
    assert shift.row_result(row, three_steps(tmp_path, synth_seed=5)) is None


def test_drops_goals_and_table():
    def cells(avg, v):
        return {"cells": {"A-Avg": avg, "V-Avg": v, "AV-Avg": None, "Avg": avg}, "questions": {"Avg": 10}}
    results = {"a": cells(80.0, 90.0), "c": cells(76.5, 88.0), "e-own": cells(70.0, 70.0), "e": cells(60.0, 50.0),
               "d": None}
    rows = {k: shift.Row(k, k, "eval", Path("p"), against=a, train_set="train")
            for k, a in (("a", ()), ("c", ("a",)), ("e-own", ("a",)), ("e", ("e-own", "a")), ("d", ("a", "b")))}
    for k in ("c", "e-own", "e", "a"):
        results[k]["drops"] = shift.drops(results, rows[k])
    assert results["a"]["drops"] == {}
    assert results["c"]["drops"] == {"a": {"A-Avg": 3.5, "V-Avg": 2.0, "Avg": 3.5}}
    assert results["e"]["drops"]["e-own"]["Avg"] == 10.0 and results["e"]["drops"]["a"]["V-Avg"] == 40.0
    goals = {g["row"]: g for g in shift.goals(results)}
    assert goals["c"]["met"] is True and goals["e"]["met"] is False and goals["e"]["drop"] == 10.0
    assert goals["d"]["met"] is None                   # no result: not measured, never "met"
    md = shift.table(list(rows.values()), results).splitlines()
    assert len(md) == 2 + 4 and md[0].startswith("| row |")
    results["c"]["drops"] = {"a": {"Avg": -1.5}}
    assert "1.50 above a" in shift.table([rows["c"]], results)
    assert any(line.startswith("| e |") and "10.00 below e-own; 20.00 below a" in line for line in md)


def bench_args(tmp_path, **kw):
    args = dict(work=str(tmp_path / "work"), recipe=str(REPO / "recipes" / "amuse-grounded.yaml"), override=[],
                rows=None, videos=40, test_videos=24, seconds=4.0, questions_per_video=8, seed=0, data_seed=0,
                test_seed=1000, held_out="church,beach", soundfont=None)
    return argparse.Namespace(**{**args, **kw})


def synth_options(plan, key):
    args = plan.steps[key].args
    return {a: args[i + 1] for i, a in enumerate(args) if a.startswith("--") and i + 1 < len(args)}


def test_the_shifted_sets_are_alike_but_for_what_their_row_shifts(tmp_path, monkeypatch):
    other = tmp_path / "Other_GM.sf2"
    other.write_bytes(b"not the world's own font")
    monkeypatch.setattr(soundfont, "installed_soundfonts", lambda: [soundfont.resolve(None), other])
    plan, rows, setup = shift.build(bench_args(tmp_path))
    assert [r.key for r in rows] == ["a", "c", "c-seen", "b", "d", "e-own", "e", "f"]
    assert setup["soundfont"]["file"] == str(other.resolve())   # the world's own font is passed over
    tests = {name: synth_options(plan, f"synth-{name}")
             for name in ("new-seed", "soundfont", "own-settings", "held-out-settings", "classic")}
    for opts in tests.values():
        assert (opts["--videos"], opts["--seed"], opts["--fractions"], opts["--wording"], opts["--seconds"]) == \
            ("24", "1000", "0,0,1", "templates", "4")
    assert tests["soundfont"]["--audio"] == f"soundfont={other.resolve()}" and "--audio" not in tests["new-seed"]
    assert tests["classic"]["--world"] == "classic"
    held, kept = tests["held-out-settings"]["--settings"].split(","), tests["own-settings"]["--settings"].split(",")
    assert held == ["church", "beach"] and sorted(held + kept) == sorted(SETTINGS)
    assert synth_options(plan, "synth-train-without-church-beach")["--settings"].split(",") == kept
    train = synth_options(plan, "synth-train")
    assert train["--videos"] == "40" and "--settings" not in train and "--fractions" not in train
    by_key = {r.key: r for r in rows}
    assert by_key["e"].against[0] == "e-own" and by_key["e"].train_set == by_key["e-own"].train_set != "train"
    assert by_key["a"].wording == "template" and by_key["c"].wording == "unseen"
    assert by_key["a"].predictions == by_key["c"].predictions       # c: the same run's own test questions
    # every row's evaluation reads the run trained on its train set and the cache of its test set
    for r in rows:
        assert f"train-{r.train_set}" in plan.needed([r.eval_step])
        assert f"extract-{r.test_set}" in plan.needed([r.eval_step])
    assert [r.key for r in shift.rows_wanted("c,e", rows, setup)] == ["c", "c-seen", "e-own", "e"]
    with pytest.raises(AmuseError, match="unknown g"):
        shift.rows_wanted("a,g", rows, setup)


def test_without_another_font_row_d_is_missing_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setattr(soundfont, "installed_soundfonts", lambda: [soundfont.resolve(None)])
    plan, rows, setup = shift.build(bench_args(tmp_path))
    assert "d" not in [r.key for r in rows] and "synth-soundfont" not in plan.steps
    assert setup["soundfont"]["file"] is None and "--soundfont" in setup["soundfont"]["how"]
    with pytest.raises(AmuseError, match="--rows d: no GM soundfont other than"):
        shift.rows_wanted("d", rows, setup)
    with pytest.raises(AmuseError, match="--soundfont"):
        shift.build(bench_args(tmp_path, soundfont=str(tmp_path / "none.sf2")))
    with pytest.raises(AmuseError, match="--held-out"):
        shift.build(bench_args(tmp_path, held_out="church,moon"))


# --- bench/honesty.py ---------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 7, 40])
def test_the_pairing_is_a_derangement(n):
    ids = [f"v{i:03d}" for i in range(n)]
    for seed in range(5):
        partner = honesty.derangement(ids + ids[:1], seed)       # repeated ids count once
        assert sorted(partner) == ids and sorted(partner.values()) == ids
        assert all(partner[v] != v for v in ids)
    with pytest.raises(AmuseError, match="at least 2 videos"):
        honesty.derangement(["v0", "v0"], 0)


class SceneOfArrays(torch.nn.Module):
    """A frozen 'perception' that reports what it read: each video's frames and log-mels, summed."""
    grounded = True

    def video_inputs(self, video):
        return {"seen": video["frames"].flatten(1).double().sum(1), "heard": video["logmel"].flatten(1).double().sum(1)}


def test_swaps_change_what_the_model_reads_and_nothing_else(tiny_features):
    work, overrides = tiny_features
    cfg = config.load(REPO / "recipes" / "amuse-tiny.yaml", overrides)
    cache = open_cache(cfg)
    records = datasets.load_split(cfg, "test") + datasets.load_split(cfg, "val")
    ids = sorted({r.video_id for r in records})
    partner = honesty.derangement(ids, 0)
    vocab = Vocab.build(records)
    seen = {}
    for name, keys in (("normal", ()), *honesty.SWAPS.items()):
        view = honesty.Swapped(cache, partner, keys) if keys else cache
        ds = datasets.dataset(cfg, records, view, vocab)
        scenes = datasets.with_scenes(ds, SceneOfArrays(), "cpu")
        seen[name] = {}
        for i, r in enumerate(records):
            item = scenes[i]
            seen[name].setdefault(r.video_id, (item["seen"].item(), item["heard"].item()))
        first = ds[0]
        own, other = cache.arrays(records[0].video_id), cache.arrays(partner[records[0].video_id])
        source = {"frames": other if "frames" in keys else own, "logmel": other if "logmel" in keys else own}
        assert torch.equal(first["frames"], torch.from_numpy(np.asarray(source["frames"]["frames"])))
        assert torch.equal(first["logmel"], torch.from_numpy(np.asarray(source["logmel"]["logmel"])).float())
        assert torch.equal(first["frame_mask"], torch.from_numpy(np.asarray(own["frame_mask"])))
    normal, frames, audio = seen["normal"], seen["frames_swapped"], seen["audio_swapped"]
    for v in ids:
        # frames swapped: the scene saw the partner's frames and heard the video's own sound
        assert frames[v] == pytest.approx((normal[partner[v]][0], normal[v][1]), rel=1e-9)
        assert audio[v] == pytest.approx((normal[v][0], normal[partner[v]][1]), rel=1e-9)
    assert len({s for s, _ in normal.values()}) == len(ids)     # the videos look different: the check can fail


def test_an_honesty_row_keeps_the_audio_keys_and_adds_the_frames():
    def cells(avg, v, av):
        return {k: {"acc": a, "n": 10} for k, a in (("A-Avg", avg), ("V-Avg", v), ("AV-Avg", av), ("Avg", avg))}
    entry = honesty.row({"normal": cells(80, 90, 70), "audio_swapped": cells(60, 89, 45),
                         "frames_swapped": cells(70, 40, 60)})
    assert entry["drop"] == {"A-Avg": 20, "V-Avg": 1, "AV-Avg": 25, "Avg": 20}
    assert entry["frames_drop"]["V-Avg"] == 50 and entry["audio_swapped"]["AV-Avg"] == 45
    assert entry["figures"]["frames_swapped"]["met"] and entry["figures"]["audio_swapped"]["met"]
    assert set(entry) >= {"normal", "audio_swapped", "frames_swapped", "questions", "drop", "frames_drop"}


# --- both benches as a user runs them (nothing trained: a dry run, and the errors) -------------------------
def bench(script, *args):
    return subprocess.run([sys.executable, str(REPO / "bench" / script), *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)


def test_shift_dry_run_lists_the_steps_and_bad_options_fail_in_one_line(tmp_path):
    res = bench("shift.py", "--dry-run", "--work", tmp_path, "--rows", "a,c", "--videos", 40, "--seconds", 4)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert [line.split()[5] for line in lines] == ["synth", "extract-features", "train", "eval"]
    assert all(line.startswith(f"to run: amuse -C {tmp_path} ") for line in lines)
    assert not (tmp_path / "data").exists()            # a dry run writes nothing
    res = bench("shift.py", "--dry-run", "--work", tmp_path, "--rows", "a,z")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == ["error: --rows a,z: unknown z; give some of a,b,c,d,e,f"]


def test_honesty_names_a_folder_that_is_no_run(tmp_path):
    res = bench("honesty.py", tmp_path, "--out", tmp_path / "h.json")
    assert res.returncode == 1 and "is not a run folder" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "h.json").exists()


def test_what_a_set_holds_is_read_from_its_ground_truth(tmp_path):
    assert shift.drawn(tmp_path) is None
    (tmp_path / "meta").mkdir()
    for i, setting in enumerate(["church", "beach", "church"]):
        (tmp_path / "meta" / f"{i:08d}.json").write_text(json.dumps({"generator": "g", "world": "stage",
                                                                     "setting": setting, "background": "indoor"}))
    assert shift.drawn(tmp_path) == {"generator": "g", "world": "stage", "videos": 3,
                                     "settings": {"beach": 1, "church": 2}}
