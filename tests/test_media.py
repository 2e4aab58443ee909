"""amuse_cli.media: one-pass PyAV decoding of real mp4 files written here with PyAV.

Also home of `write_mp4`, the small clip writer the feature and dataset tests share.
"""
from __future__ import annotations

import json
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from amuse_cli import media

SR = 16000


def clicks(pieces, seconds: float, sr: int = SR) -> np.ndarray:
    """A plucked 330 Hz note on every beat; pieces = [(start_s, end_s, bpm), ...]."""
    y = np.zeros(int(round(seconds * sr)), np.float32)
    n = int(0.08 * sr)
    note = (0.5 * np.sin(2 * np.pi * 330 * np.arange(n) / sr) * np.exp(-np.arange(n) / sr * 40)).astype(np.float32)
    for a, b, bpm in pieces:
        t = a
        while t < b:
            i = int(t * sr)
            y[i:i + n] += note[:len(y[i:i + n])]
            t += 60.0 / bpm
    return y


def write_mp4(path, seconds=2.0, fps=8, size=(96, 64), audio="tone", gop=None, codec="libx264",
              times=None, sr=SR, layout="mono"):
    """An mp4 whose frame k is a flat grey of level value(k) (so tests can tell frames apart).

    audio: "tone" (440 Hz), None (no audio track), or a float32 array at `sr` ([2, n] for stereo).
    times: explicit frame times in seconds (variable frame rate); default k / fps.
    """
    times = list(times) if times is not None else [k / fps for k in range(int(round(seconds * fps)))]
    with av.open(str(path), "w") as c:
        tb_rate = 1000 if codec == "libx264" else fps      # ms timestamps allow any frame times
        vs = c.add_stream(codec, rate=fps)
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        vs.codec_context.time_base = Fraction(1, tb_rate)
        if gop:
            vs.codec_context.gop_size = gop
        if audio is not None:
            ast = c.add_stream("aac", rate=sr)
            ast.layout = layout
        for k, t in enumerate(times):
            img = np.full((size[1], size[0], 3), level(k, len(times)), np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = int(round(t * tb_rate)), Fraction(1, tb_rate)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if audio is not None:
            x = audio if isinstance(audio, np.ndarray) else \
                (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(seconds * sr)) / sr)).astype(np.float32)
            x = x.reshape(-1, x.shape[-1])                  # [channels, samples]
            for i in range(0, x.shape[1], 1024):
                fr = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[:, i:i + 1024]), format="fltp", layout=layout)
                fr.sample_rate, fr.pts = sr, i
                for p in ast.encode(fr):
                    c.mux(p)
            for p in ast.encode():
                c.mux(p)
    return path


def level(k: int, n: int) -> int:
    return 16 + (k * 220) // max(1, n - 1)


def frame_index(pixel: float, n: int) -> int:
    return int(np.argmin([abs(pixel - level(k, n)) for k in range(n)]))


def test_frames_sampled_evenly_and_nearest(tmp_path):
    # 4 s at 8 fps, keyframe every 5 frames with B-frames: GOP skipping must still pick the right frames.
    path = write_mp4(tmp_path / "a.mp4", seconds=4.0, fps=8, gop=5)
    clip = media.decode(path, frames=8, size=32, sample_rate=SR)
    assert clip.frames.shape == (8, 3, 32, 32) and clip.frames.dtype == np.uint8
    np.testing.assert_allclose(clip.frame_times, np.arange(8) * 0.5 + 0.25)
    picked = [frame_index(clip.frames[i].mean(), 32) for i in range(8)]
    assert picked == [2, 6, 10, 14, 18, 22, 26, 30]
    assert clip.frame_mask.all() and clip.has_audio and clip.duration == pytest.approx(4.0)
    assert clip.audio.shape == (4 * SR,) and clip.audio.dtype == np.float32
    # the 440 Hz tone survives AAC and resampling: its spectrum peaks at 440 Hz
    spec = np.abs(np.fft.rfft(clip.audio[SR:3 * SR]))
    assert abs(np.argmax(spec) * SR / (2 * SR) - 440) < 3


def test_long_spacing_skips_unreferenced_frames_and_reports_real_times(tmp_path):
    # 25 fps, 4 samples over 8 s: 2 s apart, so B-frames may be skipped (a sample moves <= 2 frames).
    # Frame k shows k % 10 on its left half and k // 10 on its right half, as grey levels.
    path = tmp_path / "a.mp4"
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=25)
        vs.width, vs.height, vs.pix_fmt = 64, 48, "yuv420p"
        for k in range(200):
            img = np.zeros((48, 64, 3), np.uint8)
            img[:, :32], img[:, 32:] = 20 + (k % 10) * 22, 10 + (k // 10) * 12
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = k
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    clip = media.decode(path, frames=4, size=16, sample_rate=SR)
    ones = np.rint((clip.frames[:, :, :, :5].mean(axis=(1, 2, 3)) - 20) / 22)
    tens = np.rint((clip.frames[:, :, :, 11:].mean(axis=(1, 2, 3)) - 10) / 12)
    np.testing.assert_allclose(clip.frame_times, (tens * 10 + ones) / 25, atol=1e-6)   # the frames' own times
    assert np.abs(clip.frame_times - media.sample_times(8.0, 4)).max() <= 2 / 25 + 1e-6


def test_resample_and_mono_mix(tmp_path):
    path = write_mp4(tmp_path / "a.mp4", seconds=1.5, sr=44100,
                     audio=(0.3 * np.sin(2 * np.pi * 1000 * np.arange(int(1.5 * 44100)) / 44100)).astype(np.float32))
    clip = media.decode(path, frames=4, size=16, sample_rate=8000)
    assert clip.audio.shape == (12000,)
    spec = np.abs(np.fft.rfft(clip.audio[2000:10000]))
    assert abs(np.argmax(spec) * 8000 / 8000 - 1000) < 3


@pytest.mark.parametrize("rate", [SR, 44100])
def test_stereo_is_mixed_to_mono(tmp_path, rate):
    n = int(1.5 * rate)
    left = (0.4 * np.sin(2 * np.pi * 500 * np.arange(n) / rate)).astype(np.float32)
    path = write_mp4(tmp_path / "st.mp4", seconds=1.5, sr=rate, layout="stereo",
                     audio=np.stack([left, np.zeros_like(left)]))
    clip = media.decode(path, frames=2, size=16, sample_rate=SR)
    assert clip.audio.shape == (int(1.5 * SR),)
    peak = np.abs(clip.audio[SR // 4:SR]).max()
    assert 0.15 < peak < 0.25            # the mean of a 0.4 tone and silence (not 0.4, not 0)


def test_short_clip_padded_to_clip_seconds(tmp_path):
    path = write_mp4(tmp_path / "short.mp4", seconds=0.5, fps=8)
    clip = media.decode(path, frames=6, size=16, sample_rate=SR, clip_seconds=3.0)
    assert clip.frames.shape == (6, 3, 16, 16)
    assert clip.frame_mask.tolist() == [True, False, False, False, False, False]
    assert clip.audio.shape == (3 * SR,)
    assert np.abs(clip.audio[SR:]).max() == 0.0              # padding is silence
    # padding repeats the last frame of the video
    assert frame_index(clip.frames[-1].mean(), 4) == 3 and (clip.frames[1:] == clip.frames[-1]).all()


def test_clip_under_one_second(tmp_path):
    path = write_mp4(tmp_path / "tiny.mp4", seconds=0.4, fps=5)
    clip = media.decode(path, frames=8, size=16, sample_rate=SR)
    assert clip.frames.shape == (8, 3, 16, 16) and clip.audio.shape == (round(clip.duration * SR),)
    assert clip.duration < 1.0


def test_variable_frame_rate(tmp_path):
    times = [0.0, 0.1, 0.15, 0.9, 1.0, 1.8, 1.84, 1.95, 2.5, 2.9]
    path = write_mp4(tmp_path / "vfr.mp4", fps=10, times=times, seconds=3.0)
    clip = media.decode(path, frames=4, size=16, sample_rate=SR, clip_seconds=3.0)
    picked = [frame_index(clip.frames[i].mean(), len(times)) for i in range(4)]
    expect = [int(np.argmin([abs(t - c) for t in times])) for c in clip.frame_times]
    assert picked == expect


def test_video_without_audio_gets_silence(tmp_path):
    path = write_mp4(tmp_path / "mute.mp4", audio=None)
    clip = media.decode(path, frames=4, size=16, sample_rate=SR)
    assert not clip.has_audio and clip.audio.shape == (2 * SR,) and not clip.audio.any()


@pytest.mark.parametrize("case", ["empty", "text", "truncated", "truncated_faststart", "audio_only", "missing"])
def test_bad_files_raise_media_error(tmp_path, case):
    path = tmp_path / f"{case}.mp4"
    if case == "empty":
        path.write_bytes(b"")
    elif case == "text":
        path.write_text("this is not a video\n")
    elif case == "truncated":
        write_mp4(tmp_path / "good.mp4")
        data = (tmp_path / "good.mp4").read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif case == "truncated_faststart":          # index at the front: the cut shows while demuxing
        with av.open(str(tmp_path / "fs.mp4"), "w", options={"movflags": "faststart"}) as c:
            vs = c.add_stream("libx264", rate=8)
            vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
            for k in range(80):
                frame = av.VideoFrame.from_ndarray(np.random.default_rng(k).integers(0, 255, (64, 96, 3), np.uint8),
                                                   format="rgb24")
                frame.pts = k
                for p in vs.encode(frame):
                    c.mux(p)
            for p in vs.encode():
                c.mux(p)
        data = (tmp_path / "fs.mp4").read_bytes()
        path.write_bytes(data[:len(data) // 2])
    elif case == "audio_only":
        with av.open(str(path), "w") as c:
            s = c.add_stream("aac", rate=SR)
            s.layout = "mono"
            fr = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="flt", layout="mono")
            fr.sample_rate, fr.pts = SR, 0
            for p in list(s.encode(fr)) + list(s.encode()):
                c.mux(p)
    with pytest.raises(media.MediaError) as e:
        media.decode(path, frames=4, size=16, sample_rate=SR)
    msg = str(e.value)
    assert "\n" not in msg and path.name in msg
    expect = {"empty": ["empty"], "text": ["cannot open"], "truncated": ["cannot open"],
              "truncated_faststart": ["corrupt", "truncated"], "audio_only": ["no video stream"],
              "missing": ["not found"]}[case]
    assert any(e in msg for e in expect), msg


def test_4k_clip_memory_stays_bounded(tmp_path):
    """Decoding keeps only the sampled, resized frames: peak memory far below all frames in RGB."""
    path = write_mp4(tmp_path / "4k.mp4", seconds=2.0, fps=12, size=(3840, 2160), codec="mpeg4", audio=None)
    all_rgb_mb = 24 * 3840 * 2160 * 3 / 1e6        # ~600 MB if every frame were kept
    code = f"""
import json, resource, sys
from amuse_cli import media
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
clip = media.decode({str(path)!r}, frames=8, size=64, sample_rate=16000)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"grew_mb": (after - before) / 1024, "shape": list(clip.frames.shape)}}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                    text=True).stdout.strip().splitlines()[-1])
    assert out["shape"] == [8, 3, 64, 64]
    assert out["grew_mb"] < all_rgb_mb / 3, out
