"""Makes this folder's excerpt of the real MUSIC-AVQA v1 annotation files (README.md beside it).

    python tests/data/music-avqa-v1/excerpt.py [FOLDER with the full avqa-test/val/train_fake.json]

Writes the three excerpts and facts.json (their counts, and the whole files' counts from
../shared/data/music-avqa/README.md, for tests that run on either). Records are copied exactly (keys, key order, values, escapes) and kept in file order; which ones:
every record of the first three videos of the test file (the stand-in videos of
tests/test_real_data.py), then per template the first two records, then the longest question.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = HERE.parents[2].parent / "shared" / "data" / "music-avqa"
sys.path.insert(0, str(HERE.parents[2]))

from amuse_cli.data.annotations import question_words  # noqa: E402
from amuse_cli.data.taxonomy import normalize_template  # noqa: E402

FILES = {"avqa-test.json": 3, "avqa-val.json": 0, "avqa-train_fake.json": 0}   # name -> whole videos kept
PER_TEMPLATE = 2
# The whole released files, as ../shared/data/music-avqa/README.md gives them (GeWu-Lab commit cc88095).
RELEASE = {
    "avqa-test.json": {"questions": 9129, "videos": 6399, "templates": 33, "types": {
        "Audio/Counting": 1017, "Audio/Comparative": 594, "Visual/Counting": 1197, "Visual/Location": 1225,
        "Audio-Visual/Existential": 988, "Audio-Visual/Counting": 1265, "Audio-Visual/Location": 920,
        "Audio-Visual/Comparative": 1101, "Audio-Visual/Temporal": 822}},
    "avqa-val.json": {"questions": 4568, "videos": 3815, "templates": 33, "types": {
        "Audio/Counting": 511, "Audio/Comparative": 295, "Visual/Counting": 600, "Visual/Location": 613,
        "Audio-Visual/Existential": 495, "Audio-Visual/Counting": 633, "Audio-Visual/Location": 461,
        "Audio-Visual/Comparative": 549, "Audio-Visual/Temporal": 411}},
    "avqa-train_fake.json": {"questions": 6233, "videos": 1861},
}


def counted(rows: list[dict]) -> dict:
    """Questions, videos, templates and questions per type, counted from the raw records alone."""
    types: dict[str, int] = {}
    for r in rows:
        key = "/".join(json.loads(r["type"]))
        types[key] = types.get(key, 0) + 1
    return {"questions": len(rows), "videos": len({r["video_id"] for r in rows}),
            "templates": len({normalize_template(r["question_content"]) for r in rows}), "types": types}


def pick(rows: list[dict], videos: int) -> list[int]:
    first_videos = list(dict.fromkeys(r["video_id"] for r in rows))[:videos]
    keep = {i for i, r in enumerate(rows) if r["video_id"] in first_videos}
    seen: dict[str, int] = {}
    for i, r in enumerate(rows):
        t = normalize_template(r["question_content"])
        if seen.get(t, 0) < PER_TEMPLATE:
            seen[t] = seen.get(t, 0) + 1
            keep.add(i)
    longest = max(range(len(rows)), key=lambda i: len(question_words(rows[i]["question_content"],
                                                                      json.loads(rows[i]["templ_values"]))))
    return sorted(keep | {longest})


def main(folder: Path) -> None:
    facts = {"excerpt": {}, "release": RELEASE}
    for name, videos in FILES.items():
        rows = json.loads((folder / name).read_text(encoding="utf-8"))
        kept = [rows[i] for i in pick(rows, videos)]
        (HERE / name).write_text(json.dumps(kept, indent=2) + "\n", encoding="utf-8")
        facts["excerpt"][name] = counted(kept)
        print(f"{name}: {len(kept)} of {len(rows)} records")
    (HERE / "facts.json").write_text(json.dumps(facts, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FULL)
