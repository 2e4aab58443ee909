"""MUSIC-AVQA v2.0's extra clips as its csv lists them, and the file name each clip must have.

`data/MUSIC-AVQA-v2.0_additional_videos.csv` (DragonLiu1995/MUSIC-AVQA-v2.0) has one row per clip:
`video_id` (the YouTube id), `start_time` and `duration` (m:ss; most 1:00, some shorter: 0:26,
0:46, 0:54), a suffix column (`suffix`, called `prefix` in some copies: empty, or `_#02` ... `_#05`
when several clips are cut from one YouTube video) and `has_flip` (Y/N). The annotations name a
clip `<video_id><suffix>`, so its file must be `<video_id><suffix>.mp4`: saving every clip as
`<youtube id>.mp4` keeps only one of a video's clips. A `has_flip` clip is also asked about as
`<video_id><suffix>_flip`, mirrored from it at extraction when no such file exists.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from amuse_cli.errors import AnnotationError

CSV_NAME = "MUSIC-AVQA-v2.0_additional_videos.csv"
CSV_PLACE = Path("v2.0") / CSV_NAME          # where docs/real-data.md puts it under data.root
SUFFIX_COLUMNS = ("suffix", "prefix")
TIME = re.compile(r"(?:(\d+):)?(\d+):(\d\d)")


@dataclass(frozen=True)
class Clip:
    name: str            # the video_id the annotations use: <youtube id><suffix>
    youtube_id: str
    start_s: float       # where the clip starts in the YouTube video
    duration_s: float
    has_flip: bool       # the annotations also ask about <name>_flip

    @property
    def file_name(self) -> str:
        return f"{self.name}.mp4"


def seconds(text: str, where: str) -> float:
    """'1:00' -> 60.0, '19:28' -> 1168.0, '1:02:03' -> 3723.0."""
    m = TIME.fullmatch(text.strip())
    if not m:
        raise AnnotationError(f"{where}: time {text!r} is not m:ss or h:mm:ss")
    h, mnt, sec = (int(g or 0) for g in m.groups())
    return float(h * 3600 + mnt * 60 + sec)


def read_clips(path: str | Path) -> list[Clip]:
    """Every row of the csv as a Clip; AnnotationError naming the file and line of a bad row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise AnnotationError(f"{path}: unreadable ({e.strerror}); download {CSV_NAME} from "
                              f"DragonLiu1995/MUSIC-AVQA-v2.0 (data/)") from None
    rows = csv.DictReader(text.splitlines())
    fields = rows.fieldnames or []
    suffix = next((c for c in SUFFIX_COLUMNS if c in fields), None)
    needed = [c for c in ("video_id", "start_time", "duration", "has_flip") if c not in fields]
    if needed or suffix is None:
        raise AnnotationError(f"{path}: header {fields} lacks {', '.join(needed) or 'a suffix/prefix column'}; "
                              f"expected video_id,start_time,duration,suffix,has_flip as released")
    clips = []
    for line, row in enumerate(rows, 2):
        where = f"{path} line {line}"
        yid = (row["video_id"] or "").strip()
        if not yid:
            raise AnnotationError(f"{where}: empty video_id")
        clips.append(Clip(name=yid + (row[suffix] or "").strip(), youtube_id=yid,
                          start_s=seconds(row["start_time"], where), duration_s=seconds(row["duration"], where),
                          has_flip=(row["has_flip"] or "").strip().upper() == "Y"))
    return clips


def naming_problems(clips: list[Clip], present: set[str]) -> dict[str, list[str]]:
    """Clips without a file among `present` (video ids found in the folders): `missing` names them,
    `saved_as_youtube_id` the ones whose YouTube id alone has a file (all of a video's clips saved
    under one name: only one survives)."""
    missing = [c.name for c in clips if c.name not in present]
    bare = [c.name for c in clips if c.name not in present and c.name != c.youtube_id and c.youtube_id in present]
    return {"missing": missing, "saved_as_youtube_id": bare}
