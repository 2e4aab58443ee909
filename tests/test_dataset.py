"""open_cache + AVQADataset (docs/INTERFACES.md section 2) over a cache built from tiny_synth."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch
from torch.utils.data import DataLoader

from amuse_cli import config
from amuse_cli.data.annotations import load_annotations
from amuse_cli.engine.datasets import AVQADataset
from amuse_cli.features.lookup import open_cache
from amuse_cli.data.taxonomy import ANSWER_IDS, TEMPLATE_IDS
from amuse_cli.data.vocab import Vocab
from amuse_cli.errors import AmuseError
from test_features_cli import REPO, tiny_cache  # noqa: F401  (session fixture: the extracted cache)


def records_of(cfg, split="train"):
    return load_annotations(f"{cfg['data']['root']}/{cfg['data'][split]}")


def test_items_have_the_contract_shapes_and_collate(tiny_cache):  # noqa: F811
    cfg, _ = tiny_cache
    cache = open_cache(cfg)
    f = cfg["features"]
    T, S, M = f["frames"], f["segments"], f["n_mels"]
    assert cache.shapes["frames"] == [T, 3, f["frame_size"], f["frame_size"]]
    assert cache.shapes["logmel"] == [T, M, 100] and cache.shapes["rhythm"] == [S]
    records = records_of(cfg)
    vocab = Vocab.build(records)
    ds = AVQADataset(records, cache, vocab, max_tokens=cfg["data"]["max_tokens"])
    assert len(ds) == len(records)
    item = ds[3]
    want = {"frames": (torch.uint8, [T, 3, f["frame_size"], f["frame_size"]]),
            "logmel": (torch.float32, [T, M, 100]), "frame_mask": (torch.bool, [T]),
            "rhythm": (torch.float32, [S]), "bpm": (torch.float32, [S]), "sources": (torch.float32, [S]),
            "source_classes": (torch.float32, [S, 22]), "segment_mask": (torch.bool, [S]), "question": (torch.int64, [cfg["data"]["max_tokens"]]),
            "pieces": (torch.int64, [cfg["data"]["max_tokens"], vocab.max_pieces]),
            "answer": (torch.int64, []), "template": (torch.int64, []), "index": (torch.int64, [])}
    assert set(item) == set(want)
    for k, (dtype, shape) in want.items():
        assert item[k].dtype == dtype and list(item[k].shape) == shape, k
    rec = records[3]
    assert item["answer"].item() == ANSWER_IDS[rec.answer] and item["index"].item() == 3
    assert item["template"].item() == TEMPLATE_IDS[rec.template]
    assert item["question"].tolist() == vocab.encode(rec.tokens, cfg["data"]["max_tokens"])
    # the same video gives the same arrays, bit for bit, as its cached file
    arrays = cache.arrays(rec.video_id)
    assert torch.equal(item["frames"], torch.from_numpy(arrays["frames"]))
    assert torch.equal(item["logmel"], torch.from_numpy(arrays["logmel"]).float())
    batch = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert batch["frames"].shape == (4, T, 3, f["frame_size"], f["frame_size"]) and batch["answer"].shape == (4,)


def test_refuses_missing_mismatched_and_incomplete_caches(tiny_cache, tmp_path):  # noqa: F811
    cfg, path = tiny_cache
    elsewhere = config.load(REPO / "recipes/amuse.yaml", [f"data.root={cfg['data']['root']}",
                                                          f"features.cache={tmp_path}"])
    with pytest.raises(AmuseError, match=r"no feature cache .*amuse extract-features recipes/amuse.yaml data.root="):
        open_cache(elsewhere)
    other = config.load(REPO / "recipes/amuse.yaml", [f"data.root={cfg['data']['root']}",
                                                      f"features.cache={cfg['features']['cache']}",
                                                      "features.frames=4"])
    with pytest.raises(AmuseError,
                       match=r"other settings \(features.frames=4 \(cache has 8\)\).*amuse extract-features"):
        open_cache(other)
    # a cache whose run was interrupted
    copy = tmp_path / path.name
    shutil.copytree(path, copy)
    m = json.loads((copy / "manifest.json").read_text())
    m["complete"] = False
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(AmuseError, match="incomplete.*resume it: amuse extract-features"):
        open_cache(elsewhere)
    # the same settings written by an older extraction: the message names the format, not an empty list
    m.update(complete=True, cache_format=m["cache_format"] - 1, settings_hash="00000000")
    (copy / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(AmuseError, match=r"other settings \(cache format \d+; this version reads format \d+\); rebuild"):
        open_cache(elsewhere)


def test_questions_about_uncached_videos(tiny_cache):  # noqa: F811
    cfg, _ = tiny_cache
    cache = open_cache(cfg)
    records = records_of(cfg, "test")
    ghost = dataclasses.replace(records[0], video_id="99999999", key="avqa-test:ghost")
    with pytest.raises(AmuseError, match="1 questions refer to videos missing .*avqa-test:ghost.*99999999"):
        AVQADataset(records + [ghost], cache, Vocab.build(records))
    ds = AVQADataset(records + [ghost], cache, Vocab.build(records), skip_missing=True)
    assert ds.skipped == 1 and len(ds) == len(records)
    assert ds[len(records) - 1]["index"].item() == len(records) - 1
