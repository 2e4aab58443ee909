"""A contact sheet of a generated set (DIR/contact-sheet.png): frames decoded back from its mp4 files, so
it shows what a model reads, compression included. PNG written by PyAV's encoder (no imaging library)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from amuse_cli.atomic import atomic_path

SHEET_VIDEOS = 12            # rows of the sheet: the first videos of the set
SHEET_FRAMES = 3             # frames per row: start, middle, end
GAP_PX = 4


def video_frames(path: Path, count: int) -> list[np.ndarray]:
    """`count` frames spread over the video, uint8 [H, W, 3]."""
    import av
    with av.open(str(path)) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    picks = np.linspace(0, len(frames) - 1, count).round().astype(int)
    return [frames[i] for i in picks]


def write_png(path: Path, image: np.ndarray) -> None:
    import av
    h, w = image.shape[:2]
    with atomic_path(path, sync=False) as tmp, av.open(str(tmp), "w", format="image2") as out:
        stream = out.add_stream("png")
        stream.width, stream.height, stream.pix_fmt = w, h, "rgb24"
        for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def contact_sheet(videos: list[Path], out: Path) -> str:
    """Write the sheet (one row per video: start, middle, end frames); returns the card's caption."""
    rows = []
    for path in videos[:SHEET_VIDEOS]:
        frames = video_frames(path, SHEET_FRAMES)
        gap = np.full((frames[0].shape[0], GAP_PX, 3), 255, np.uint8)
        rows.append(np.concatenate([x for f in frames for x in (f, gap)][:-1], axis=1))
    gap = np.full((GAP_PX, rows[0].shape[1], 3), 255, np.uint8)
    write_png(out, np.concatenate([x for r in rows for x in (r, gap)][:-1], axis=0))
    names = ", ".join(p.stem for p in videos[:SHEET_VIDEOS])
    return f"start, middle and end frame of videos {names} (one row each), decoded from the mp4 files"
