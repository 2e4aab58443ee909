"""Finding performers (models/detector.py) and the region branch (models/regions.py): targets that decode
back to their boxes, motion crops, tracks across frames, the scene layout, and the truth they learn from."""
from __future__ import annotations

import numpy as np
import torch

from amuse_cli.features.truth import box_truth, frame_times, scene_truth
from amuse_cli.models.detector import (CROP, K, PerformerScene, centre_targets, crop_stack, decode, detector_loss,
                                       link_tracks)
from amuse_cli.models.regions import PerformerRegions, pool_regions
from amuse_cli.synth.staging import sample_stage


def _logit(p):
    return torch.log(p.clamp(1e-6, 1 - 1e-6) / (1 - p.clamp(1e-6, 1 - 1e-6)))


def test_centre_targets_decode_back_to_their_boxes():
    boxes = [torch.tensor([[0.1, 0.2, 0.3, 0.8], [0.55, 0.35, 0.7, 0.75]]), torch.zeros(0, 4)]
    t = centre_targets(boxes, 20)
    assert t["mask"].sum() == 2 and t["heat"][0].max() == 1.0 and t["heat"][1].max() == 0.0
    heat = _logit(t["heat"] * 0.98)                  # a perfect detector's heatmap
    found = decode(heat, t["size"], t["offset"])
    assert len(found[1]) == 0 and len(found[0]) == 2
    got = sorted(found[0][:, :4].tolist())
    for a, b in zip(got, sorted(boxes[0].tolist())):
        assert np.allclose(a, b, atol=1e-4)
    perfect = detector_loss(heat, t["size"], t["offset"], t)
    assert perfect["size"] < 1e-6 and perfect["offset"] < 1e-6
    worse = detector_loss(torch.zeros_like(heat), t["size"], t["offset"], t)
    assert worse["heat"] > perfect["heat"]


def test_crops_see_motion_only_where_the_frames_differ():
    frames = torch.full((4, 3, 64, 64), 100, dtype=torch.uint8)
    frames[2, :, 10:30, 10:20] = 250                  # something moves in frame 2 inside the box
    box = torch.tensor([[0.1, 0.1, 0.5, 0.6]] * 4)
    crops = crop_stack(frames, box, torch.arange(4))
    assert crops.shape == (4, 9, *CROP)
    motion = crops[:, 3:].abs().amax((1, 2, 3))
    assert motion[0] == 0 and motion[1] > 0.5 and motion[2] > 0.5 and motion[3] > 0.5
    still = crop_stack(frames, torch.tensor([[0.6, 0.6, 0.9, 0.9]] * 4), torch.arange(4))
    assert still[:, 3:].abs().max() == 0            # a box away from the change: no motion


def test_tracks_join_detections_and_fill_missed_frames():
    a = [0.1, 0.2, 0.3, 0.8, 0.9]
    b = [0.6, 0.3, 0.75, 0.7, 0.8]
    dets = [torch.tensor([a, b]), torch.tensor([[v + 0.01 for v in a[:4]] + [0.9]]), torch.tensor([b, a]),
            torch.tensor([[0.9, 0.0, 0.95, 0.1, 0.5]])]          # a spurious box in one frame only
    tracks = link_tracks(dets)
    assert len(tracks) == 2
    by_x = sorted(tracks, key=lambda t: t[0, 0].item())
    assert by_x[1][1, 4] == 0 and torch.allclose(by_x[1][1, :4], torch.tensor(b[:4]))   # missed: held, score 0
    assert by_x[0][1, 4] > 0


def test_box_and_slot_truth_of_a_stage_scene_agree():
    meta = sample_stage(2, 5, 12.0, 4, (320, 240), 16000, "amuse-synth 3")
    truth = box_truth(meta, 8)
    visible = [s for s in meta["sources"] if s["visible"]]
    assert len(truth) == 8 and all(len(t["boxes"]) == len(visible) for t in truth)
    slots = scene_truth(meta, 8, 6, layout="slots")["cols"]
    assert int(slots[:, 0, 0].sum()) == min(6, len(visible))
    xs = slots[: len(visible), :, 1].mean(1)
    assert np.all(np.diff(xs) >= 0)                 # slots run left to right
    times = frame_times(12.0, 8)
    for t, row in zip(times, truth):
        for s, p in zip(visible, row["playing"]):
            inside = any(a <= t < b for a, b in s["seen_playing"])
            assert not (p == 1.0 and not inside) and not (p == 0.0 and inside)


def test_scene_and_regions_have_the_documented_shapes():
    torch.manual_seed(0)
    model = PerformerScene(slots=6).eval()
    frames = torch.randint(0, 255, (8, 3, 128, 128), dtype=torch.uint8)
    mask = torch.tensor([True] * 6 + [False] * 2)
    out = model.clip(frames, mask)
    assert out["cols"].shape == (6, 8, 3 + K) and out["indoor"].shape == (8,)
    assert out["cols"][:, 6:].abs().sum() == 0       # padding frames stay empty
    regions = PerformerRegions(model, regions=4)
    tokens = regions(frames[None].expand(2, -1, -1, -1, -1), mask[None].expand(2, -1))
    assert tokens.shape == (2, 8, 4, 5 + model.crops.dim)
    assert pool_regions(tokens).shape == (2, 8, 2 * (5 + model.crops.dim))


def test_motion_is_read_in_the_performers_own_box_so_a_camera_pan_is_not_motion():
    frames = torch.zeros((3, 3, 64, 64), dtype=torch.uint8)
    for f in range(3):                                   # the same figure, panned 4 px per frame
        frames[f, :, 20:40, 10 + 4 * f:22 + 4 * f] = 200
    boxes = torch.tensor([[(8 + 4 * f) / 64, 16 / 64, (24 + 4 * f) / 64, 44 / 64] for f in range(3)])
    idx = torch.arange(3)
    fixed = crop_stack(frames, boxes, idx)
    tracked = crop_stack(frames, boxes, idx, boxes[(idx - 1).clamp(min=0)], boxes[(idx + 1).clamp(max=2)])
    assert fixed[:, 3:].abs().mean() > 0.05
    assert tracked[:, 3:].abs().mean() < 0.2 * fixed[:, 3:].abs().mean()
