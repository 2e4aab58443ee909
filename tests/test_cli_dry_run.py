"""`--dry-run` on every subcommand that writes: it checks, says what it would write, writes nothing;
`amuse -C DIR` puts every relative output under DIR; the one atomic writer leaves no debris."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from amuse_cli.atomic import atomic_path, write_atomic

REPO = Path(__file__).resolve().parents[1]
TINY = str(REPO / "recipes/amuse-tiny.yaml")


def snapshot(*roots: Path) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for root in roots for p in root.rglob("*") if p.is_file()}


def test_dry_runs_write_nothing(tiny_run, tiny_synth, tmp_path, run_cli, one_thread):
    run, overrides = tiny_run
    work = run.parents[2]
    before = snapshot(work, tiny_synth)
    cases = [
        (["synth", "--out", tmp_path / "new", "--videos", 3, "--seconds", 2, "--dry-run"], "would write 3 videos"),
        (["extract-features", TINY, *overrides, "--dry-run"], "would extract 0"),
        (["extract-features", TINY, *overrides, "--overwrite", "--dry-run"], "would extract 12"),
        (["train", TINY, *overrides, "--dry-run"], "its cache is ready"),
        (["eval", run, *overrides, "--split", "val", "--dry-run"], "would write"),
        (["pretrain", TINY, *overrides, f"pretrain.root={tiny_synth}", "--out", tmp_path / "p.pt", "--dry-run"],
         "12 videos"),
    ]
    for args, said in cases:
        r = run_cli(*args)
        assert r.exit_code == 0 and said in r.output, (args, r.output)
    assert snapshot(work, tiny_synth) == before
    assert not (tmp_path / "new").exists() and not (tmp_path / "p.pt").exists()


def test_extract_dry_run_names_videos_the_annotations_need(tiny_synth, tmp_path, run_cli):
    import shutil
    data = tmp_path / "set"
    shutil.copytree(tiny_synth, data)
    gone = sorted((data / "videos").glob("*.mp4"))[0]
    gone.unlink()
    r = run_cli("extract-features", TINY, f"data.root={data}", f"features.cache={tmp_path / 'c'}", "--dry-run")
    assert r.exit_code == 0 and "1 videos the annotations name are in no folder" in r.output and gone.stem in r.output
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").rglob("*.safetensors"))


def test_workdir_puts_every_relative_output_under_it(tmp_path):
    cmd = [sys.executable, "-m", "amuse_cli", "-C", str(tmp_path / "w"), "synth", "--videos", "2", "--seconds", "2",
           "--size", "64x64", "--fps", "2", "--questions-per-video", "2", "--workers", "1", "--no-progress"]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "w" / "data" / "synth" / "json" / "avqa-test.json").is_file()
    assert not (tmp_path / "data").exists()


def test_the_atomic_writer_keeps_the_old_file_and_no_debris_on_error(tmp_path):
    target = write_atomic(tmp_path / "f.json", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
    write_atomic(target, b"new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["f.json"]
