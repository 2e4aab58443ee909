"""`amuse extract-features` end to end on real mp4 files: cache, resume, bad media, kill -9, full disk."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from amuse_cli import config
from amuse_cli.features import cache as store
from amuse_cli.features import rhythm, truth
from amuse_cli.features.settings import array_shapes, cache_dir, extraction_settings
from test_media import write_mp4

REPO = Path(__file__).resolve().parents[1]


def copy_dataset(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def cfg_for(data: Path, cache: Path) -> dict:
    return config.load(REPO / "recipes/amuse.yaml", [f"data.root={data}", f"features.cache={cache}"])


@pytest.fixture(scope="session")
def tiny_cache(tiny_synth, tmp_path_factory):
    """tiny_synth extracted once with recipes/amuse.yaml: (cfg, cache folder)."""
    from amuse_cli.features import runner
    cache = tmp_path_factory.mktemp("cache")
    cfg = cfg_for(tiny_synth, cache)
    manifest = runner.run(cfg, workers=1)
    return cfg, Path(manifest["path"])


def test_cache_layout_manifest_and_rhythm_agreement(tiny_cache, tiny_synth):
    cfg, path = tiny_cache
    assert path == cache_dir(cfg) and path.name.startswith(tiny_synth.name + "-")
    m = json.loads((path / "manifest.json").read_text())
    ids = sorted(p.stem for p in (tiny_synth / "videos").glob("*.mp4"))
    assert m["complete"] and sorted(m["videos"]) == ids
    assert m["settings"] == extraction_settings(cfg) and m["shapes"] == array_shapes(m["settings"])
    assert {"torch", "av", "librosa", "numpy"} <= set(m["versions"])
    s = m["summary"]
    assert s["videos_ok"] == len(ids) and s["videos_failed"] == 0
    agree = n = tp = fp = fn = 0
    err = 0.0
    for vid, rec in m["videos"].items():
        assert rec["status"] == "ok" and rec["bytes"] == store.video_file(path, vid).stat().st_size
        arrays = store.read_video(path, vid)
        for k, shape in m["shapes"].items():
            assert list(arrays[k].shape) == shape
        meta = json.loads((tiny_synth / "meta" / f"{vid}.json").read_text())
        mask = arrays["segment_mask"]
        bounds, mask2 = rhythm.segment_bounds(meta["duration"], cfg["features"]["segment_seconds"], len(mask))
        assert (mask == mask2).all()
        t = truth.segment_truth(meta, bounds, mask, cfg["features"]["rhythm_theta"])
        assert (arrays["sources"] == t["sources"]).all()            # meta labeler: exact counts
        np.testing.assert_array_equal(arrays["source_classes"], truth.segment_source_classes(meta, bounds, mask))
        agree += int(np.sum(t["rhythm"][mask] == arrays["rhythm"][mask]))
        err += float(np.sum(np.abs(t["bpm"][mask] - arrays["bpm"][mask])))
        n += int(mask.sum())
        said, true = arrays["rhythm"][mask] > 0, t["rhythm"][mask] > 0
        tp, fp, fn = tp + int(np.sum(said & true)), fp + int(np.sum(said & ~true)), fn + int(np.sum(~said & true))
    assert s["rhythm_agreement"] == pytest.approx(agree / n, abs=1e-4)
    p, r = (tp / (tp + fp) if tp + fp else 1.0), (tp / (tp + fn) if tp + fn else 1.0)
    assert s["rhythm_true_changes"] == tp + fn and s["rhythm_change_precision"] == pytest.approx(p, abs=1e-4)
    assert s["rhythm_change_recall"] == pytest.approx(r, abs=1e-4)
    assert s["rhythm_change_f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0, abs=1e-4)
    assert s["bpm_mae"] == pytest.approx(err / n, abs=1e-2)
    assert s["mb_per_video"] == pytest.approx(np.mean([r["bytes"] for r in m["videos"].values()]) / 1e6, abs=1e-3)


def test_bad_media_fail_alone_and_rerun_skips_finished(tiny_synth, tmp_path, run_cli):
    data = copy_dataset(tiny_synth, tmp_path / "set")
    videos = data / "videos"
    good = sorted(videos.glob("*.mp4"))
    (videos / "zero.mp4").write_bytes(b"")
    (videos / "text.mp4").write_text("not a video")
    blob = good[0].read_bytes()
    (videos / "cut.mp4").write_bytes(blob[:len(blob) // 3])
    write_mp4(videos / "mute.mp4", seconds=4.0, fps=4, audio=None)
    (data / "meta" / "mute.json").write_text(json.dumps(
        {"duration": 4.0, "tempo": [{"start": 0, "end": 4, "bpm": 100.0}], "sources": []}))
    args = ["extract-features", "recipes/amuse.yaml", f"data.root={data}", f"features.cache={tmp_path / 'cache'}",
            "--workers", "2"]
    r = run_cli(*args)                                  # 2 worker processes
    assert r.exit_code == 1, r.output
    assert "3 videos failed" in r.output
    for name, why in [("zero", "empty file"), ("text", "cannot open"), ("cut", "")]:
        assert name in r.output and why in r.output
    m = json.loads((cache_dir(cfg_for(data, tmp_path / "cache")) / "manifest.json").read_text())
    assert m["summary"]["videos_ok"] == len(good) + 1 and m["summary"]["videos_failed"] == 3
    assert m["videos"]["mute"]["status"] == "ok" and m["videos"]["mute"]["has_audio"] is False
    assert m["summary"]["videos_without_audio"] == 1
    assert all(m["videos"][v]["reason"] for v in ("zero", "text", "cut"))
    # second run: finished videos are skipped, only the failed ones are tried again
    args[-1] = "1"
    r = run_cli(*args)
    assert r.exit_code == 1 and "resuming: %d of %d" % (len(good) + 1, len(good) + 4) in r.output
    m2 = json.loads((cache_dir(cfg_for(data, tmp_path / "cache")) / "manifest.json").read_text())
    assert m2["summary"]["videos_extracted_this_run"] == 3
    for name in ("zero", "text", "cut"):
        (videos / f"{name}.mp4").unlink()
    r = run_cli(*args)
    assert r.exit_code == 0 and "0 failed" in r.output
    # a video replaced under the same name (a regenerated set) is extracted again, never read stale
    cache = cache_dir(cfg_for(data, tmp_path / "cache"))
    before = store.read_video(cache, "mute")["frames"].copy()
    write_mp4(videos / "mute.mp4", seconds=6.0, fps=4, audio=None)
    r = run_cli(*args)
    assert r.exit_code == 0 and "resuming: %d of %d" % (len(good), len(good) + 1) in r.output
    assert not np.array_equal(store.read_video(cache, "mute")["frames"], before)


def test_kill_9_loses_only_the_video_in_flight(tiny_synth, tmp_path):
    data = copy_dataset(tiny_synth, tmp_path / "set")
    for p in sorted((data / "videos").glob("*.mp4")):     # 2x the videos so the kill lands mid-run
        for k in (1,):
            shutil.copy(p, p.with_name(f"{p.stem}x{k}.mp4"))
            shutil.copy(data / "meta" / f"{p.stem}.json", data / "meta" / f"{p.stem}x{k}.json")
    cfg = cfg_for(data, tmp_path / "cache")
    cache = cache_dir(cfg)
    cmd = [sys.executable, "-m", "amuse_cli", "extract-features", "recipes/amuse.yaml", f"data.root={data}",
           f"features.cache={tmp_path / 'cache'}", "--workers", "1"]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = cache / "journal" / "rank0.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    records = store.known_records(cache)
    total = len(list((data / "videos").glob("*.mp4")))
    assert 2 <= len(records) < total
    assert all(store.file_ok(cache, v, r, checksum=True) for v, r in records.items())
    assert not json.loads((cache / "manifest.json").read_text())["complete"]
    # a finished file damaged after the fact is caught by its recorded size and redone
    victim = sorted(records)[0]
    with open(store.video_file(cache, victim), "r+b") as f:
        f.truncate(100)
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    m = json.loads((cache / "manifest.json").read_text())
    assert m["complete"] and m["summary"]["videos_ok"] == total
    assert m["summary"]["videos_extracted_this_run"] == total - len(records) + 1
    assert not list(cache.rglob("*.tmp*"))
    assert all(store.file_ok(cache, v, r, checksum=True) for v, r in m["videos"].items())


def test_full_disk_stops_with_a_clear_error_and_keeps_finished_files(tiny_synth, tmp_path, run_cli, monkeypatch):
    import errno
    from amuse_cli.atomic import atomic_path
    real_write = store.write_atomic
    written = []

    def disk_fills_up(path, data, sync=True):
        """The 4th video file gets half written (through the real atomic writer), then the disk is full."""
        if path.suffix == ".safetensors":
            written.append(path)
            if len(written) >= 4:
                with atomic_path(path, sync) as tmp:
                    tmp.write_bytes(data[:len(data) // 2])
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(path, data, sync)

    monkeypatch.setattr(store, "write_atomic", disk_fills_up)
    cache_root = tmp_path / "cache"
    args = ["extract-features", "recipes/amuse.yaml", f"data.root={tiny_synth}", f"features.cache={cache_root}",
            "--workers", "1"]
    r = run_cli(*args)
    assert r.exit_code == 2
    err = r.stderr.strip()
    assert "\n" not in err and "disk is full" in err and "rerun resumes" in err and "Traceback" not in r.output
    cache = cache_dir(cfg_for(tiny_synth, cache_root))
    records = store.known_records(cache)
    assert len(records) == 3 and all(store.file_ok(cache, v, rec, checksum=True) for v, rec in records.items())
    assert not list(cache.rglob("*.tmp*"))                     # the half-written file is gone
    assert len(list((cache / "videos").iterdir())) == 3
    monkeypatch.setattr(store, "write_atomic", real_write)
    r = run_cli(*args)
    assert r.exit_code == 0 and "resuming: 3 of" in r.output


def test_user_errors_exit_2_with_one_line(tmp_path, tiny_synth, run_cli):
    r = run_cli("extract-features", f"data.root={tmp_path / 'nowhere'}", f"features.cache={tmp_path / 'c'}")
    assert r.exit_code == 2 and "videos folder" in r.stderr and "amuse synth" in r.stderr
    r = run_cli("extract-features", "features.source_method=tagger", f"data.root={tiny_synth}",
                f"features.cache={tmp_path / 'c'}")
    assert r.exit_code == 2 and "features.tagger_weights=" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = run_cli("extract-features", "features.source_method=bogus", f"data.root={tiny_synth}",
                f"features.cache={tmp_path / 'c'}")
    assert r.exit_code == 2 and "unknown source_labeler 'bogus'" in r.stderr


def test_torchrun_ranks_share_the_videos(tiny_synth, tmp_path):
    """Two ranks as torchrun starts them (RANK/WORLD_SIZE/MASTER_*): each takes every other video."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "amuse_cli", "extract-features", "recipes/amuse.yaml", f"data.root={tiny_synth}",
           f"features.cache={tmp_path / 'cache'}", "--no-progress"]
    procs = [subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              env={**os.environ, "RANK": str(r), "WORLD_SIZE": "2", "LOCAL_RANK": str(r),
                                   "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)}) for r in (0, 1)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    cache = cache_dir(cfg_for(tiny_synth, tmp_path / "cache"))
    ids = sorted(p.stem for p in (tiny_synth / "videos").glob("*.mp4"))
    for rank in (0, 1):
        lines = (cache / "journal" / f"rank{rank}.jsonl").read_text().splitlines()
        assert sorted(json.loads(line)["video_id"] for line in lines) == ids[rank::2]
    m = json.loads((cache / "manifest.json").read_text())
    assert m["complete"] and m["summary"]["videos_ok"] == len(ids)
    assert "cache " in outs[0] and "cache " not in outs[1]        # rank 0 reports for all ranks


def test_verify_catches_a_changed_byte_that_the_size_check_cannot(tiny_cache, tmp_path):
    from amuse_cli.features import runner
    cfg, path = tiny_cache
    shutil.copytree(path, tmp_path / path.name)
    cfg = cfg_for(Path(cfg["data"]["root"]), tmp_path)
    cache = cache_dir(cfg)
    victim = sorted(store.known_records(cache))[1]
    with open(store.video_file(cache, victim), "r+b") as f:      # same size, one byte flipped
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 0xFF]))
    assert runner.run(cfg, workers=1)["summary"]["videos_extracted_this_run"] == 0
    m = runner.run(cfg, workers=1, verify=True)
    assert m["summary"]["videos_extracted_this_run"] == 1
    assert store.file_ok(cache, victim, m["videos"][victim], checksum=True)


def test_several_video_folders_fill_one_cache_and_flips_are_mirrored_copies(tiny_synth, tmp_path, run_cli):
    from amuse_cli.features import runner
    data = copy_dataset(tiny_synth, tmp_path / "set")
    (data / "more").mkdir()
    ids = sorted(p.stem for p in (data / "videos").glob("*.mp4"))
    for vid in ids[:4]:                                         # a second folder, as Real/ and Synthetic/
        (data / "videos" / f"{vid}.mp4").rename(data / "more" / f"{vid}.mp4")
    test_file = data / "json" / "avqa-test.json"
    rows = json.loads(test_file.read_text())
    flipped = dict(rows[0], video_id=ids[5] + "_flip", question_id=10 ** 6)   # v2.0's <id>_flip, no file
    test_file.write_text(json.dumps(rows + [flipped]))
    cache_root = tmp_path / "cache"
    first = runner.run(config.load(REPO / "recipes/amuse.yaml", [f"data.root={data}", f"features.cache={cache_root}"]))
    assert first["complete"] and set(first["videos"]) == set(ids[4:]) | {ids[5] + "_flip"}
    second = runner.run(config.load(REPO / "recipes/amuse.yaml", [f"data.root={data}", "data.videos=more",
                                                                   f"features.cache={cache_root}"]))
    assert second["path"] == first["path"], "one dataset, one cache"
    assert second["complete"] and set(second["videos"]) == set(ids) | {ids[5] + "_flip"}
    assert len(second["folders"]) == 2 and second["summary"]["videos_extracted_this_run"] == 4
    cache = Path(second["path"])
    original, mirror = store.read_video(cache, ids[5]), store.read_video(cache, ids[5] + "_flip")
    assert np.array_equal(mirror["frames"], original["frames"][..., ::-1])
    assert np.array_equal(mirror["logmel"], original["logmel"])
    # both folders named at once: nothing to redo
    r = run_cli("extract-features", "recipes/amuse.yaml", f"data.root={data}", f"features.cache={cache_root}",
                "data.videos=[videos,more]", "--workers", "1")
    assert r.exit_code == 0 and f"resuming: {len(ids) + 1} of {len(ids) + 1}" in r.output
    # the same id in two folders is refused, naming both files
    shutil.copy(data / "more" / f"{ids[0]}.mp4", data / "videos" / f"{ids[0]}.mp4")
    r = run_cli("extract-features", "recipes/amuse.yaml", f"data.root={data}", f"features.cache={cache_root}",
                "data.videos=[videos,more]")
    assert r.exit_code == 2 and "two folders" in r.stderr and len(r.stderr.strip().splitlines()) == 1
