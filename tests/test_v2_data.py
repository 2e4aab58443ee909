"""MUSIC-AVQA v2.0 as it really is, on stand-ins in the real videos' format (H.264 at 25 fps with stereo
AAC at 44.1 kHz, 96x64 to stay quick; 60 s, and the csv's shorter clips) under the official folder
names and real ids, with records in the release's format (tests/data excerpt records, and v2.0's own:
no question_id, `<id>_flip`, `<id>_#02`, `unmatch_audio`):

- an `unmatch_audio` question is answered from the named video's audio (its frames its own), in
  training, eval and predict; both its videos count for the missing-video policy;
- v2.0 ships no val file: val is carved from train by video (seeded, recorded, flips beside their
  original), and the recipes name the release's own files;
- clips are named from the csv (`<video_id><suffix>.mp4`, flips `..._flip`), of any length;
- a v1 cache extended with the v2.0 folder makes the flips, with no false "in no folder" warnings;
- dry runs list every problem at once, the weight files included.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch
from click.testing import CliRunner

from amuse_cli import config
from amuse_cli.cli import cli
from amuse_cli.data.annotations import load_annotations
from amuse_cli.data.vocab import Vocab
from amuse_cli.engine import datasets, splits
from amuse_cli.errors import AmuseError
from amuse_cli.features.lookup import open_cache
from amuse_cli.features.settings import cache_dir

REPO = Path(__file__).resolve().parents[1]
EXCERPT = REPO / "tests" / "data" / "music-avqa-v1"
pytestmark = pytest.mark.usefixtures("one_thread")
RATE, FPS, SIZE = 44100, 25, (96, 64)
NONE = ["features.source_method=none", "model.source=false", "model.weights=none"]   # no weight files
CPU_SIZED = ["model.size=tiny", "model.weights=none", "train.epochs=1", "stage1.epochs=1", "train.precision=fp32",
             "train.batch_size=4", "train.num_workers=0", "eval.batch_size=8"]
# ids as the release names them (v1: 8 digits after an optional prefix; v2.0: YouTube ids, csv rows)
A, B = "00000093", "va00003770"             # v1 videos in the Real and Synthetic folders
PLAIN, SHORT, CUT = "tOcOiTFQYp4", "l9w43Zpm12A", "amNF_F6oeRU_#02"   # v2.0 clips: 1:00, 0:26, suffix _#02
SAVED_BARE = "6cjIJVzP6eI"                  # its _#02 clip saved under the bare YouTube id: a naming mistake
OFFLINE = "Vy3kihOIMmI"                      # named by the annotations, no file (YouTube clips go offline)
CSV = """video_id,start_time,duration,suffix,has_flip
tOcOiTFQYp4,0:00,1:00,,N
Vy3kihOIMmI,1:15,1:00,,N
amNF_F6oeRU,0:00,1:00,,Y
amNF_F6oeRU,0:53,1:00,_#02,Y
6cjIJVzP6eI,1:13,1:00,,Y
6cjIJVzP6eI,6:54,1:00,_#02,Y
l9w43Zpm12A,0:00,0:26,,Y
"""   # rows of the release's data/MUSIC-AVQA-v2.0_additional_videos.csv, values untouched


def invoke(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def clip(path: Path, seconds: float, tone_hz: float | None, shade: int) -> Path:
    """Left-to-right gradient frames with a bar moving across (a mirror differs) and a stereo
    tone with onsets (None: silence)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = SIZE
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        aus = c.add_stream("aac", rate=RATE, layout="stereo")
        ramp = np.linspace(0, 200, w, dtype=np.float32)[None, :, None]
        for k in range(int(seconds * FPS)):
            img = np.broadcast_to(ramp + shade, (h, w, 3)).astype(np.uint8).copy()
            x = (k * 3) % w
            img[:, x:x + 6] = 255
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        t = np.arange(int(seconds * RATE)) / RATE
        mono = np.zeros_like(t) if tone_hz is None else \
            0.3 * np.sin(2 * np.pi * tone_hz * t) * np.exp(-6 * ((t * 2) % 1))
        audio = np.stack([mono, 0.6 * mono]).astype(np.float32)
        for i in range(0, audio.shape[1], 1024):
            fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, i:i + 1024]), format="fltp", layout="stereo")
            fr.sample_rate, fr.pts, fr.time_base = RATE, i, Fraction(1, RATE)
            for p in aus.encode(fr):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    return path


def v1_record(i: int, video: str) -> dict:
    """A record of the real v1 test file (tests/data excerpt), values untouched but for the video."""
    rows = json.loads((EXCERPT / "avqa-test.json").read_text())
    return {**rows[i % len(rows)], "video_id": video}


def v2_record(video: str, question: str, values: list, answer: str, qtype: str, **extra) -> dict:
    """A record as v2.0 writes its new ones: no question_id, string-encoded type and values."""
    return {"video_id": video, "type": json.dumps(qtype.split("/")), "question_content": question,
            "templ_values": json.dumps(values), "question_deleted": 0, "anser": answer, **extra}


def unmatched(video: str, heard: str) -> dict:
    """v2.0's unmatch_audio record: this video's frames with `heard`'s sound."""
    return v2_record(video, "Is this sound from the instrument in the video?", [], "no", "Audio-Visual/Existential",
                     unmatch_audio=heard, audio_instrument="piano", video_instrument="flute")


def flip_q(video: str, answer: str) -> dict:
    return v2_record(video, "Which <Object> makes the sound <FL>?", ["violin", "first"], answer,
                     "Audio-Visual/Temporal")


@pytest.fixture(scope="module")
def v2_root(tmp_path_factory):
    """(work dir, data root): v1 and v2.0 folders, v1 files in json_update/, v2.0 files and csv in v2.0/."""
    work = tmp_path_factory.mktemp("v2")
    root = work / "MUSIC-AVQA"
    clip(root / "MUSIC-AVQA-videos-Real" / f"{A}.mp4", 60, 330.0, 0)
    clip(root / "MUCIS-AVQA-videos-Synthetic" / f"{B}.mp4", 60, 880.0, 30)
    v2 = root / "MUSIC-AVQA-v2.0-videos"
    clip(v2 / f"{PLAIN}.mp4", 60, 550.0, 10)
    clip(v2 / f"{SHORT}.mp4", 26, 660.0, 20)           # the csv's 0:26 clip
    clip(v2 / f"{CUT}.mp4", 60, 440.0, 40)
    clip(v2 / f"{SAVED_BARE}.mp4", 60, 770.0, 50)
    v1 = [v1_record(i, [A, B][i % 2]) for i in range(8)]
    (root / "json_update").mkdir(parents=True)
    for split in ("train", "val", "test"):
        (root / "json_update" / f"avqa-{split}.json").write_text(json.dumps(v1, indent=2))
    train = v1 + [v1_record(i, v) for i, v in enumerate([PLAIN, SHORT, CUT] * 2)] + [
        flip_q(f"{A}_flip", "right"), flip_q(f"{SHORT}_flip", "left"), flip_q(f"{CUT}_flip", "right"),
        unmatched(A, B), unmatched(PLAIN, CUT)]
    test = [v1_record(i, v) for i, v in enumerate([A, B, PLAIN, SHORT, CUT, OFFLINE])] + [
        flip_q(f"{SHORT}_flip", "left"), flip_q(f"{CUT}_flip", "right"), unmatched(A, B), unmatched(B, OFFLINE)]
    for folder, name, rows in (("balance_full_set", "train_balance.json", train),
                               ("balance_full_set", "test_balance.json", test),
                               ("bias_set", "train_bias.json", train), ("bias_set", "test_bias.json", test[:7])):
        (root / "v2.0" / folder).mkdir(parents=True, exist_ok=True)
        (root / "v2.0" / folder / name).write_text(json.dumps(rows, indent=2))
    (root / "v2.0" / "MUSIC-AVQA-v2.0_additional_videos.csv").write_text(CSV)
    return work, root


@pytest.fixture(scope="module")
def v2_cache(v2_root):
    """The guide's order: the v1 recipe first (Real + Synthetic), then the v2.0 recipe extends the same
    cache with its folder alone. Returns (work, root, the v2 recipe's overrides)."""
    work, root = v2_root
    base = [f"data.root={root}", f"features.cache={work / 'cache'}", *NONE]
    r = invoke("extract-features", REPO / "recipes/music-avqa.yaml", *base, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    only_v2 = [*base, "data.videos=MUSIC-AVQA-v2.0-videos"]
    r = invoke("extract-features", REPO / "recipes/music-avqa-v2.yaml", *only_v2, "--dry-run")
    assert r.exit_code == 0, r.output
    # cached v1 videos are no false "in no folder" warning; the offline clip is; the csv names the mistake
    assert f"1 videos the annotations name are in no folder of data.videos nor in the cache ({OFFLINE})" in r.output
    assert f"share a YouTube id that has a file of its own (e.g. {SAVED_BARE}_#02)" in r.output
    r = invoke("extract-features", REPO / "recipes/music-avqa-v2.yaml", *only_v2, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output
    return work, root, base


def test_flips_of_an_earlier_folder_and_every_clip_name_resolve(v2_cache):
    work, root, base = v2_cache
    cfg = config.load(REPO / "recipes/music-avqa-v2.yaml", base)
    manifest = json.loads((cache_dir(cfg) / "manifest.json").read_text())
    assert manifest["complete"] and len(manifest["folders"]) == 3
    real = str((root / "MUSIC-AVQA-videos-Real").resolve())
    assert f"{A}_flip" in manifest["folders"][real]            # mirrored from the Real folder's file
    videos = manifest["videos"]
    for name in (PLAIN, f"{SHORT}_flip", CUT, f"{CUT}_flip", f"{A}_flip"):     # the four v2.0 naming cases
        assert videos[name]["status"] == "ok", name
    assert videos[f"{CUT}_flip"]["source"]["flip_of"] == CUT
    cache = open_cache(cfg)
    orig, mirror = cache.arrays(CUT), cache.arrays(f"{CUT}_flip")
    assert np.array_equal(mirror["frames"], orig["frames"][..., ::-1]) and not np.array_equal(mirror["frames"],
                                                                                               orig["frames"])
    short = cache.arrays(SHORT)              # a 26 s clip: 9 of the 20 label segments of 3 s hold it
    assert videos[SHORT]["video_duration"] == pytest.approx(26.0, abs=0.1)
    assert int(short["segment_mask"].sum()) == 9 and short["frame_mask"].all()


def test_unmatch_audio_reads_the_named_videos_audio_and_swapping_it_changes_the_features(v2_cache, tmp_path):
    work, root, base = v2_cache
    cfg = config.load(REPO / "recipes/music-avqa-v2.yaml", base)
    records = load_annotations(root / "v2.0/balance_full_set/test_balance.json")
    odd = next(r for r in records if r.video_id == A and r.audio_from == B)
    own = next(r for r in records if r.video_id == A and r.audio_from is None)
    assert odd.videos == (A, B) and odd.raw["audio_instrument"] != odd.raw["video_instrument"]
    cache = open_cache(cfg)
    ds = datasets.AVQADataset([own, odd], cache, Vocab.build(records))
    mine, heard = ds[0], ds[1]
    a, b = cache.arrays(A), cache.arrays(B)
    assert torch.equal(heard["frames"], mine["frames"])                       # A's frames ...
    for key in datasets.AUDIO_ARRAYS:                                         # ... with B's sound
        assert torch.equal(heard[key], torch.from_numpy(b[key].astype(np.float32) if key == "logmel" else b[key]))
    assert not torch.equal(heard["logmel"], mine["logmel"])
    # the question's video and audio are one pair: batches share encodings per pair, not per video
    assert datasets.WithVideo(ds).video == [0, 1]
    # the named video's file swapped for a silent one (same pictures): that question's features change
    copy = tmp_path / "MUSIC-AVQA"
    shutil.copytree(root, copy)
    clip(copy / "MUCIS-AVQA-videos-Synthetic" / f"{B}.mp4", 60, None, 30)
    over = [f"data.root={copy}", f"features.cache={tmp_path / 'cache'}", *NONE]
    r = invoke("extract-features", REPO / "recipes/music-avqa.yaml", *over, "--workers", "1", "--no-progress")
    assert r.exit_code == 0, r.output              # the v1 recipe: A and B are all this needs
    silent = datasets.AVQADataset([own, odd], open_cache(config.load(REPO / "recipes/music-avqa.yaml", over)),
                                  Vocab.build(records))
    assert torch.equal(silent[1]["frames"], heard["frames"]) and torch.equal(silent[0]["logmel"], mine["logmel"])
    assert not torch.equal(silent[1]["logmel"], heard["logmel"])
    assert silent[1]["logmel"].std() < 0.5 * heard["logmel"].std()          # silence: a flat spectrogram


def test_a_missing_audio_video_counts_as_missing(v2_cache, capsys):
    work, root, base = v2_cache
    cfg = config.load(REPO / "recipes/music-avqa-v2.yaml", base + ["data.skip_missing=false"])
    cache = open_cache(cfg)
    records = load_annotations(root / "v2.0/balance_full_set/test_balance.json")
    heard_offline = next(r for r in records if r.audio_from == OFFLINE)
    own = next(r for r in records if r.video_id == PLAIN)
    assert heard_offline.video_id in cache        # its own video is there; the one it plays is not
    with pytest.raises(AmuseError, match=f"video {OFFLINE} \\(its unmatch_audio"):
        datasets.check_videos(cfg, cache, [heard_offline], "test")
    # a mirror nobody extracted: the error says what it mirrors and which recipe makes it
    mirror = dataclasses.replace(own, video_id=f"{PLAIN}_flip", key="x:0")
    with pytest.raises(AmuseError, match=f"mirrored copy of {PLAIN}.*recipes/music-avqa-v2.yaml"):
        datasets.check_videos(cfg, cache, [mirror], "test")
    skipping = {**cfg, "data": {**cfg["data"], "skip_missing": True}}
    assert datasets.check_videos(skipping, cache, records, "test") == 2     # OFFLINE's and the one hearing it
    assert len(datasets.AVQADataset(records, cache, Vocab.build(records), skip_missing=True)) == len(records) - 2


def test_v2_trains_on_a_carved_val_and_evaluates_both_test_sets(v2_cache, monkeypatch):
    work, root, base = v2_cache
    monkeypatch.chdir(work)
    r = invoke("train", REPO / "recipes/music-avqa-v2.yaml", *base, *CPU_SIZED, "--run-name", "v2", "--no-progress")
    assert r.exit_code == 0, r.output
    run = work / "checkpoints/music-avqa-v2/v2"
    carved = json.loads((run / "val-split.json").read_text())
    assert carved["carved_from"].endswith("train_balance.json") and carved["seed"] == 0 and carved["fraction"] == 0.1
    val = set(carved["val_videos"])
    train_videos = {v for r in load_annotations(root / "v2.0/balance_full_set/train_balance.json") for v in r.videos}
    assert val and val < train_videos
    for v in train_videos:     # a video and its mirror, and an unmatch_audio pair, on one side
        if f"{v}_flip" in train_videos:
            assert (v in val) == (f"{v}_flip" in val), v
    assert (A in val) == (B in val) and (PLAIN in val) == (CUT in val) == (f"{CUT}_flip" in val)
    # the same carve every time, whatever the training seed
    cfg = config.load(REPO / "recipes/music-avqa-v2.yaml", base + ["seed=7"])
    assert splits.train_val(cfg)[2]["val_videos"] == carved["val_videos"]
    r = invoke("eval", run)
    assert r.exit_code == 0, r.output
    m = json.loads((run / "metrics-test.json").read_text())
    assert m["release"]["id"] == "music-avqa-v2-balanced" and m["release"]["complete"] is False
    assert m["trained_on"] == "music-avqa-v2-balanced" and m["skipped_questions"] == 2
    rows = [json.loads(x) for x in (run / "predictions-test.jsonl").read_text().splitlines()]
    assert [r["audio_from"] for r in rows if "audio_from" in r] == [B, OFFLINE]
    assert sum("skipped" in r for r in rows) == 2 and m["cells"]["Avg"]["n"] == len(rows)
    r = invoke("eval", run, "--split", "test-bias", "--annotations", root / "v2.0/bias_set/test_bias.json")
    assert r.exit_code == 0, r.output
    assert json.loads((run / "metrics-test-bias.json").read_text())["release"]["id"] == "music-avqa-v2-bias"
    r = invoke("eval", run, "--split", "val")
    assert r.exit_code == 0, r.output
    assert json.loads((run / "metrics-val.json").read_text())["questions"] == carved["questions"]["val"]
    r = invoke("eval", run, f"data.root={work / 'moved'}", "--dry-run")    # no cache there, no test file
    assert r.exit_code == 2 and "2 problems:" in r.stderr and "no feature cache" in r.stderr, r.output
    r = invoke("report", run, "--split", "test-bias", "--format", "md")
    assert r.exit_code == 0 and "v2.0 bias test set, group averages" in r.output
    assert "| music-avqa-v2/v2 * | bias | balanced |" in r.output and "76.57" in r.output   # QA-TIGER, balanced->bias
    # predict with --annotations hears the named video too
    from amuse_cli.engine.predict import Predictor
    from amuse_cli.features.extract import extract_video
    from amuse_cli.features.videos import VideoSource
    pred = Predictor(run)
    a_file, b_file = root / "MUSIC-AVQA-videos-Real" / f"{A}.mp4", root / "MUCIS-AVQA-videos-Synthetic" / f"{B}.mp4"
    arrays = pred.media(VideoSource(a_file), VideoSource(b_file))
    assert np.array_equal(arrays["frames"], extract_video(a_file, pred.settings)["frames"])
    assert np.array_equal(arrays["logmel"], extract_video(b_file, pred.settings)["logmel"])
    both = work / "both"
    both.mkdir()
    shutil.copy(a_file, both)
    shutil.copy(b_file, both)
    pairs = work / "pair.json"
    pairs.write_text(json.dumps([unmatched(A, B), v1_record(0, A)]))
    r = invoke("predict", run, "--annotations", pairs, "--video-dir", both)
    assert r.exit_code == 0 and "2 answered" in r.output and "0 failed" in r.output, r.output


def test_dry_runs_list_every_problem_at_once(v2_root, tmp_path, monkeypatch):
    work, root = v2_root
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "hub"))      # no ImageNet weights there
    broken = [f"data.root={root}", f"features.cache={tmp_path / 'c'}", "data.train=v2.0/none/train.json",
              f"features.tagger_weights={tmp_path / 'no.pth'}", "model.weights=DEFAULT"]
    r = invoke("extract-features", REPO / "recipes/music-avqa-v2.yaml", *broken, "--dry-run")
    assert r.exit_code == 2 and "3 problems:" in r.stderr, r.output
    for said in ("no.pth", "data.train: annotation file", "model.weights=DEFAULT needs"):
        assert said in r.stderr, said
    r = invoke("train", REPO / "recipes/music-avqa-v2.yaml", *broken, "data.skip_missing=false", "--dry-run")
    assert r.exit_code == 2 and "problems:" in r.stderr
    for said in ("no feature cache", "train.json: annotation file not found", "model.weights=DEFAULT needs"):
        assert said in r.stderr, said
    assert "Traceback" not in r.output


def test_the_carve_is_by_video_seeded_and_independent_of_record_order():
    rows = [v2_record(f"vid{i:04d}", "Where is the performance?", [], "indoor", "Visual/Location") for i in range(200)]
    rows += [flip_q(f"vid{i:04d}_flip", "left") for i in range(0, 200, 3)] + [unmatched("vid0001", "vid0150")]
    from amuse_cli.data.annotations import parse_record
    records = [parse_record(r, f"train:{i}", f"train record {i}") for i, r in enumerate(rows)]
    train, val, info = splits.carve_val(records, 0.1, 0)
    videos = {v for r in records for v in r.videos}
    assert len(train) + len(val) == len(records) and info["videos"]["val"] >= 0.1 * len(videos)
    assert info["videos"]["val"] < 0.1 * len(videos) + 3          # whole groups: at most a group over
    val_videos = {v for r in val for v in r.videos}
    assert not val_videos & {v for r in train for v in r.videos}  # no video on both sides
    for i in range(0, 200, 3):
        assert (f"vid{i:04d}" in val_videos) == (f"vid{i:04d}_flip" in val_videos)
    assert ("vid0001" in val_videos) == ("vid0150" in val_videos)
    again = splits.carve_val(list(reversed(records)), 0.1, 0)[2]
    assert again["val_videos"] == info["val_videos"]               # record order does not matter
    other = splits.carve_val(records, 0.1, 1)[2]
    assert other["val_videos"] != info["val_videos"]               # the seed does
