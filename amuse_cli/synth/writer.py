"""Write an mp4 (H.264 + AAC, one stream each) with PyAV, and JSON files, atomically."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from amuse_cli.atomic import atomic_path, write_atomic

AAC_FRAME = 1024        # samples per AAC frame
# Constant quantiser, one thread: x264's CRF mode (mb-tree lookahead) was seen to give different
# bytes from run to run on identical frames; QP mode is deterministic. 28: small files, plenty for
# the 64-256 px frames models read.
X264 = {"preset": "veryfast", "qp": "28", "threads": "1"}


def write_json(path: Path, obj, indent: int | None = 2) -> None:
    """As the released files: ASCII-escaped ('？' -> \\uff1f), 2-space indent; tmp + rename."""
    write_atomic(path, json.dumps(obj, indent=indent, ensure_ascii=True) + "\n")


def write_mp4(path: Path, frames, audio: np.ndarray, fps: int, size: tuple[int, int], sr: int,
              qp: int | None = None) -> None:
    """Encode frames (iterable of uint8 [H, W, 3]) and mono float32 audio; single-threaded so the
    bytes depend only on the inputs. `qp`: the quantiser (compression) instead of X264's."""
    import av  # PyAV loads where mp4s are written, not with the CLI

    with atomic_path(path, sync=False) as tmp, av.open(str(tmp), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=fps, options={**X264, **({"qp": str(qp)} if qp else {})})
        vs.width, vs.height = size
        vs.pix_fmt = "yuv420p"
        vs.codec_context.thread_count = 1
        aus = out.add_stream("aac", rate=sr, layout="mono")
        for frame in frames:
            for packet in vs.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        pts = 0
        for i in range(0, audio.size, AAC_FRAME):
            chunk = np.ascontiguousarray(audio[None, i:i + AAC_FRAME], dtype=np.float32)
            af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
            af.sample_rate, af.pts = sr, pts
            pts += chunk.shape[1]
            for packet in aus.encode(af):
                out.mux(packet)
        for packet in aus.encode():
            out.mux(packet)
