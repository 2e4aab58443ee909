"""The stage world (`amuse synth`'s default): no single-frame cue of playing, no class colour, performers
placed freely and read as an annotator reads the frame, settings, presets and the dataset card."""
from __future__ import annotations

import json

import numpy as np
import pytest

from amuse_cli.data.taxonomy import INSTRUMENTS
from amuse_cli.synth.figures import POSES, Look, draw_pose
from amuse_cli.synth.generate import SynthOptions, plan
from amuse_cli.synth.scene import Stream, video_rng
from amuse_cli.synth.settings import SETTINGS
from amuse_cli.synth.stage_video import pose_track
from amuse_cli.synth.staging import POSITION_MARGIN, sample_stage, screen_boxes

SIZE = (160, 120)


def _stage(seed, index, duration=6.0, settings=None):
    return sample_stage(seed, index, duration, 4, SIZE, 16000, "amuse-synth 3", settings)


def test_silent_performers_hold_one_pose_and_players_move_with_their_notes():
    times = np.arange(48) / 4
    moved, held = [], []
    for i in range(60):
        m = _stage(1, i, 12.0)
        for s in (s for s in m["sources"] if s["visible"]):
            poses, sway = pose_track(s, m, times, rest=2)
            playing = np.array([any(a <= t < b for a, b in s["seen_playing"]) for t in times])
            if not s["seen_playing"]:
                held.append(len(set(poses)) == 1 and not sway.any())
            elif playing.sum() >= 8:            # a mime moves too: seen playing, never heard
                changes = (np.diff(poses)[playing[1:] & playing[:-1]] != 0).mean()
                moved.append(changes)
                assert set(poses[~playing]) <= {2}
    assert held and all(held)
    assert len(moved) > 30 and np.mean(moved) > 0.6


def test_poses_a_player_takes_are_the_poses_a_silent_performer_holds():
    """One frame cannot tell them apart: over many frames a player's poses cover the same range."""
    times = np.arange(48) / 4
    counts = np.zeros(POSES)
    for i in range(40):
        m = _stage(2, i, 12.0)
        for s in (s for s in m["sources"] if s["visible"] and s["seen_playing"]):
            poses, _ = pose_track(s, m, times, rest=0)
            playing = [any(a <= t < b for a, b in s["seen_playing"]) for t in times]
            counts += np.bincount(poses[playing], minlength=POSES)
    share = counts / counts.sum()
    assert share.min() > 0.5 / POSES and share.max() < 2.0 / POSES, share


def test_instrument_colour_does_not_name_the_class():
    """A linear probe on a sprite's mean colour stays near chance (class is in the silhouette)."""
    from sklearn.linear_model import LogisticRegression
    rng = np.random.default_rng(0)
    x, y = [], []
    for c in INSTRUMENTS:
        for _ in range(24):
            rgb, mask = draw_pose(c, Look.draw(rng), float(rng.uniform()), 40)
            x.append(rgb[mask].mean(0) / 255)
            y.append(c)
    x, y = np.array(x), np.array(y)
    train = np.arange(len(y)) % 3 != 0
    acc = (LogisticRegression(max_iter=2000).fit(x[train], y[train]).predict(x[~train]) == y[~train]).mean()
    assert acc < 0.15, acc            # chance 1/22 = 0.045; the classic world's class colours give ~1.0


def test_performers_anywhere_several_sizes_one_to_six_and_positions_read_with_margins():
    metas = [_stage(3, i) for i in range(200)]
    counts = [sum(s["visible"] for s in m["sources"]) for m in metas]
    assert min(counts) == 1 and max(counts) == 6
    performers = [s for m in metas for s in m["sources"] if s["visible"]]
    heights = [s["stage"]["height"] for s in performers]
    assert max(heights) / min(heights) > 1.6
    xs = [s["x"] for s in performers]
    assert min(xs) < 0.2 and max(xs) > 0.8 and np.histogram(xs, bins=6, range=(0, 1))[0][1:5].min() > 20
    ambiguous = [s for s in performers if s["position"] is None]
    assert 0.02 < len(ambiguous) / len(performers) < 0.4
    for s in performers:
        if s["position"] is not None:
            assert all(abs(x - e) >= POSITION_MARGIN for x in s["x_span"] for e in (1 / 3, 2 / 3))
    assert {m["setting"] for m in metas} == set(SETTINGS)
    assert {m["background"] for m in metas} == {"indoor", "outdoor"}
    assert any(len({s["instrument"] for s in m["sources"] if s["visible"]}) < c for m, c in zip(metas, counts))


def test_screen_boxes_follow_the_camera_and_centre_on_x():
    m = next(m for m in (_stage(4, i) for i in range(50)) if m["camera"]["centre"][0] != m["camera"]["centre"][1])
    times = (np.arange(24) + 0.5) / 4
    boxes = screen_boxes(m, times)
    visible = [s for s in m["sources"] if s["visible"]]
    assert boxes.shape == (len(visible), 24, 4)
    for s, b in zip(visible, boxes):
        centres = (b[:, 0] + b[:, 2]) / 2
        assert abs(centres.mean() - s["x"]) < 1e-3 and np.all(b[:, 2] > b[:, 0]) and np.all(b[:, 3] > b[:, 1])
        assert np.all((b[:, 0] > -0.01) & (b[:, 2] < 1.01))      # on screen all along
    assert np.ptp(boxes[:, :, 0], axis=1).max() > 0             # the camera moves them


def test_settings_option_limits_the_settings_and_worlds_are_presets(tmp_path, run_cli):
    metas, _ = plan(SynthOptions(videos=30, seconds=3, settings=("park", "church")))
    assert {m["setting"] for m in metas} == {"park", "church"}
    res = run_cli("synth", "--out", tmp_path / "x", "--settings", "moon", "--dry-run")
    assert res.exit_code == 2 and "--settings moon" in res.output and "Traceback" not in res.output
    res = run_cli("synth", "--out", tmp_path / "x", "--videos", 20, "--dry-run")
    assert res.exit_code == 0 and "world stage (amuse-synth 3)" in res.output and "settings:" in res.output
    assert "performers on screen per video" in res.output and not (tmp_path / "x").exists()
    res = run_cli("synth", "--out", tmp_path / "x", "--videos", 20, "--world", "classic", "--dry-run")
    assert res.exit_code == 0 and "world classic (amuse-synth 2)" in res.output


def test_stage_set_on_disk_has_card_contact_sheet_and_decodes(tiny_synth):
    card = (tiny_synth / "README.md").read_text()
    assert "amuse-synth 3" in card and "--world stage" in card and "contact-sheet.png" in card
    assert "Class by silhouette" in card and "settings:" in card
    import av
    with av.open(str(tiny_synth / "contact-sheet.png")) as c:
        sheet = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert sheet.shape[0] > 3 * 120 and sheet.std() > 10
    meta = json.loads((tiny_synth / "meta" / "00000000.json").read_text())
    assert meta["world"] == "stage" and meta["setting"] in SETTINGS and 26 <= meta["encoding"]["qp"] <= 34


@pytest.mark.parametrize("seed", [5])
def test_stage_world_is_deterministic(seed):
    a = _stage(seed, 7)
    b = _stage(seed, 7)
    assert a == b and json.dumps(a) == json.dumps(b)
    rng = video_rng(seed, 7, Stream.PIXELS)
    from amuse_cli.synth.stage_video import render_stage_frames
    f1 = np.stack(list(render_stage_frames(a, rng)))
    f2 = np.stack(list(render_stage_frames(b, video_rng(seed, 7, Stream.PIXELS))))
    assert np.array_equal(f1, f2) and f1.shape == (24, SIZE[1], SIZE[0], 3)
