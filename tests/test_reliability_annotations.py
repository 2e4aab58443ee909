"""Issue 7, annotations: every bad file or record ends in one line naming file and record, exit 2."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from amuse_cli import config
from amuse_cli.engine.datasets import load_split
from amuse_cli.errors import AnnotationError

GOOD = {"video_id": "00000001", "question_id": 3, "type": '["Audio", "Counting"]',
        "question_content": "Is there a <Object> sound?", "templ_values": '["violin"]',
        "question_deleted": 0, "anser": "yes"}


def amuse(*args):
    return subprocess.run([sys.executable, "-m", "amuse_cli", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("content,message", [
    ("[\n{\"video_id\": \"1\",\n", "invalid JSON at line 3 column 1"),
    ("[]", "no usable questions"),
    ('{"video_id": "1"}', "expected a JSON array"),
    (json.dumps([{k: v for k, v in GOOD.items() if k != "anser"}]), "record 0: missing key(s) anser"),
    (json.dumps([GOOD, {**GOOD, "anser": "purple"}]), "record 1: answer 'purple'"),
    (json.dumps([{**GOOD, "templ_values": '["violin", "cello"]'}]), "1 placeholder(s) but templ_values gives 2"),
    (json.dumps([{**GOOD, "question_content": "Why is the <Object> sad?"}]), "unknown template"),
])
def test_bad_annotation_file_is_one_line_exit_2(tmp_path, content, message):
    path = tmp_path / "avqa-test.json"
    path.write_text(content)
    proc = amuse("stats", path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and str(path) in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_lenient_split_skips_bad_records_and_counts_them(tmp_path, capsys):
    root = tmp_path / "data"
    (root / "json").mkdir(parents=True)
    records = [GOOD, {**GOOD, "anser": "purple"}, {**GOOD, "video_id": "00000002"}, {"video_id": "x"}]
    (root / "json" / "avqa-val.json").write_text(json.dumps(records))
    strict = config.load("recipes/amuse-tiny.yaml", [f"data.root={root}"])
    with pytest.raises(AnnotationError, match="avqa-val.json record 1"):
        load_split(strict, "val")
    lenient = config.load("recipes/amuse-tiny.yaml", [f"data.root={root}", "data.strict=false"])
    kept = load_split(lenient, "val")
    assert [r.key for r in kept] == ["avqa-val:0", "avqa-val:2"]
    assert "skipped 2 bad records" in capsys.readouterr().out


def test_duplicate_question_ids_with_different_answers_are_both_kept(tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(json.dumps([GOOD, {**GOOD, "anser": "no"}]))
    proc = amuse("stats", path, "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["answers"] == {"yes": 1, "no": 1}
