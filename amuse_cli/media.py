"""Decode one video with PyAV in a single sequential pass: evenly sampled frames + mono audio.

The file is demuxed front to back once, never seeked. Video packets are buffered one GOP at a
time (compressed, small) and a GOP is decoded only when a sampled time falls inside it, so a 60 s
clip sampled at 8 frames decodes a fraction of its frames. Only the sampled frames are converted,
resized (swscale AREA: antialiased) and kept, so memory stays flat even on 4K input.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from amuse_cli.errors import AmuseError

TRUNCATION_SLACK_S = 1.0        # allowed gap between the header's duration and the last packet
TRUNCATION_SLACK_FRAC = 0.1     # ... or this fraction of the duration, whichever is larger
NONREF_SHIFT_FRAMES = 2         # frames a sample can move when unreferenced frames are skipped
NONREF_MAX_SHIFT_FRAC = 0.125   # ... allowed when that is at most this fraction of the sample spacing
NONREF_CODECS = ("h264", "hevc")  # inter-coded streams whose reference frames are always decoded


class MediaError(AmuseError):
    """A video cannot be decoded (missing, empty, not a video, truncated, corrupt)."""


@dataclass
class Clip:
    frames: np.ndarray          # uint8 [T, 3, size, size]
    frame_times: np.ndarray     # float64 [T], seconds from the clip's start of each kept frame
    frame_mask: np.ndarray      # bool [T], False past the end of the video (padding)
    audio: np.ndarray           # float32 [round(duration * sample_rate)], mono
    duration: float             # seconds on the time axis (clip_seconds, or the video's length)
    video_duration: float       # seconds of video in the file
    has_audio: bool


def sample_times(duration: float, count: int) -> np.ndarray:
    """Centres of `count` equal bins over [0, duration): evenly spread, never on the edges."""
    return (np.arange(count) + 0.5) * (duration / count)


def _stream_duration(container, vs) -> float | None:
    if vs.duration is not None and vs.time_base is not None:
        return float(vs.duration * vs.time_base)
    if container.duration is not None:
        return container.duration / 1_000_000  # AV_TIME_BASE microseconds
    return None


class _FrameSelector:
    """Receives decoded frames in presentation order; keeps, per target time, the nearest one."""

    def __init__(self, times: np.ndarray, size: int, time_base, t0: float):
        self.times, self.size, self.time_base, self.t0 = times, size, time_base, t0
        self.out: list[np.ndarray | None] = [None] * len(times)
        self.out_times = np.array(times, dtype=np.float64)   # actual time of each kept frame
        self.next = 0                      # first target not yet filled
        self.prev = None                   # (time, frame) of the last frame seen
        self._converted = (None, None)     # (frame, array): a frame picked twice is converted once

    def pending_before(self, t: float) -> bool:
        return self.next < len(self.times) and self.times[self.next] < t

    def _convert(self, frame) -> np.ndarray:
        if self._converted[0] is not frame:
            rgb = frame.reformat(width=self.size, height=self.size, format="rgb24",
                                 interpolation="AREA").to_ndarray()
            self._converted = (frame, np.ascontiguousarray(rgb.transpose(2, 0, 1)))
        return self._converted[1]

    def push(self, frame) -> None:
        if frame.pts is None:
            return
        t = float(frame.pts * self.time_base) - self.t0  # frame.time is unset on drained frames
        while self.next < len(self.times) and t >= self.times[self.next]:
            target = self.times[self.next]
            pick, pick_t = frame, t
            if self.prev is not None and target - self.prev[0] < t - target:
                pick, pick_t = self.prev[1], self.prev[0]
            self.out[self.next] = self._convert(pick)
            self.out_times[self.next] = pick_t
            self.next += 1
        self.prev = (t, frame)

    def finish(self) -> list[np.ndarray]:
        """Targets past the last frame repeat it (padding of a short clip)."""
        if self.prev is None:
            raise MediaError("no decodable video frame")
        last = self._convert(self.prev[1])
        # padding frames keep their sampled time: their audio window is the silence they stand for
        return [a if a is not None else last for a in self.out]


def _decode_gop(vs, packets, selector: _FrameSelector, gop_end: float) -> None:
    """Decode one GOP until every sampled time before `gop_end` (s) has its frame."""
    ctx = vs.codec_context
    for p in packets:
        for f in ctx.decode(p):
            selector.push(f)
        if not selector.pending_before(gop_end):
            break                # the rest of this GOP is not needed
    else:
        for f in ctx.decode(None):   # drain frames held back for B-frame reordering
            selector.push(f)
    ctx.flush_buffers()          # ready for the next GOP we decide to decode


def decode(path: str | Path, frames: int, size: int, sample_rate: int,
           clip_seconds: float | None = None) -> Clip:
    """Sample `frames` frames evenly over the clip and its audio as mono float32 at `sample_rate`.

    The time axis is `clip_seconds` when given (shorter videos are padded: last frame repeated,
    silent audio, frame_mask False), else the video's own duration. Raises MediaError.
    """
    path = Path(path)
    if not path.is_file():
        raise MediaError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as e:
        raise MediaError(f"{path}: cannot open as media ({_why(e)})") from None
    with container:
        if not container.streams.video:
            raise MediaError(f"{path}: no video stream (audio-only or not a video)")
        vs = container.streams.video[0]
        vs.thread_type = "NONE"   # one decoding thread: extraction runs one process per core
        astream = container.streams.audio[0] if container.streams.audio else None
        video_duration = _stream_duration(container, vs)
        if not video_duration or video_duration <= 0:
            raise MediaError(f"{path}: unknown or zero duration in the header")
        tb = vs.time_base
        t0 = float(vs.start_time * tb) if vs.start_time is not None else 0.0
        duration = float(clip_seconds) if clip_seconds else video_duration
        times = sample_times(duration, frames)
        selector = _FrameSelector(times, size, tb, t0)
        spacing = duration / frames
        if vs.codec_context.name in NONREF_CODECS and vs.average_rate \
                and NONREF_SHIFT_FRAMES / float(vs.average_rate) <= NONREF_MAX_SHIFT_FRAC * spacing:
            # Frames no other frame references need not be decoded: a sample then takes the nearest
            # reference frame (a couple of frames away), which is negligible next to the sample spacing;
            # frame_times holds each kept frame's real time, so audio windows stay aligned.
            vs.codec_context.skip_frame = "NONREF"
        # Audio already float at the target rate is used as decoded; anything else goes through
        # swresample for format and rate only. Either way channels are then averaged (as librosa
        # and torchaudio do), not swresample's -3 dB downmix, so both paths give the same level.
        resampler = av.AudioResampler(format="fltp", rate=sample_rate) if astream else None
        chunks, audio_start, gop, last_pts_t, direct = [], None, [], 0.0, None
        try:
            for packet in container.demux(*([vs] + ([astream] if astream else []))):
                if packet.pts is None and packet.dts is None:
                    continue  # a demuxer's end-of-stream marker
                if packet.stream.type == "audio":
                    for f in packet.decode():
                        if audio_start is None and f.pts is not None:
                            audio_start = float(f.pts * astream.time_base) - t0
                        if direct is None:   # decided once per stream, so samples never mix paths
                            direct = f.sample_rate == sample_rate and f.format.name in ("flt", "fltp")
                        if direct:
                            chunks.append(_mono(f))
                        else:
                            chunks.extend(_mono(r) for r in resampler.resample(f))
                    continue
                pts_t = float((packet.pts if packet.pts is not None else packet.dts) * tb) - t0
                if packet.is_keyframe and gop:
                    if selector.pending_before(pts_t):
                        _decode_gop(vs, gop, selector, pts_t)
                    gop = []
                gop.append(packet)
                last_pts_t = max(last_pts_t, pts_t + float((packet.duration or 0) * tb))
            if gop and selector.next < len(times):
                _decode_gop(vs, gop, selector, float("inf"))
            if resampler is not None and not direct:
                chunks.extend(_mono(r) for r in resampler.resample(None))
        except av.error.FFmpegError as e:
            raise MediaError(f"{path}: corrupt media ({_why(e)})") from None
        slack = max(TRUNCATION_SLACK_S, TRUNCATION_SLACK_FRAC * video_duration)
        if last_pts_t + slack < video_duration:
            raise MediaError(f"{path}: truncated: video data ends at {last_pts_t:.1f} s "
                             f"of the {video_duration:.1f} s in its header")
        picked = selector.finish()
    audio = _place_audio(chunks, audio_start or 0.0, duration, sample_rate)
    return Clip(frames=np.stack(picked), frame_times=selector.out_times, frame_mask=times < video_duration,
                audio=audio, duration=duration, video_duration=video_duration,
                has_audio=bool(astream is not None and chunks))


def _mono(frame) -> np.ndarray:
    """A float frame as mono samples: the mean of its channels."""
    a = frame.to_ndarray()
    if frame.format.is_planar:
        return a.mean(axis=0, dtype=np.float32) if a.shape[0] > 1 else a[0]
    channels = len(frame.layout.channels)
    return a.reshape(-1, channels).mean(axis=1, dtype=np.float32) if channels > 1 else a.reshape(-1)


def _place_audio(chunks, start_s: float, duration: float, sample_rate: int) -> np.ndarray:
    """Audio on the clip's time axis: shifted by its start offset, padded with silence or cropped."""
    n = int(round(duration * sample_rate))
    out = np.zeros(n, dtype=np.float32)
    if not chunks:
        return out
    audio = np.concatenate(chunks).astype(np.float32, copy=False)
    offset = int(round(start_s * sample_rate))
    if offset < 0:
        audio, offset = audio[-offset:], 0
    k = max(0, min(len(audio), n - offset))
    out[offset:offset + k] = audio[:k]
    return out


def _why(e: Exception) -> str:
    msg = getattr(e, "strerror", None) or str(e)
    return msg.split(":")[-1].strip() if "Errno" in str(e) else msg
