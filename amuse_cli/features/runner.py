"""Extract every video of a dataset into its cache: resume, worker processes, torchrun shards, progress.

Under torchrun each rank takes videos[rank::world]; rank 0 merges every rank's journal into the
manifest after a barrier. A video that cannot be decoded is recorded as failed with its reason and
the run goes on; a cache that cannot be written (disk full) stops the run with finished work kept.
"""
from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

from amuse_cli import distributed
from amuse_cli.errors import AmuseError
from amuse_cli.features import cache as store
from amuse_cli.features.extract import check_settings, extract_with_info
from amuse_cli.features.settings import (CACHE_FORMAT, array_shapes, cache_dir, data_root, dataset_name,
                                         extraction_settings, settings_hash)
from amuse_cli.features.truth import read_meta
from amuse_cli.features.videos import (VideoSource, annotation_video_ids, list_videos, missing_annotation_files,
                                       video_folders)
from amuse_cli.progress import Progress

def _meta_path(cfg: dict, video_id: str) -> Path | None:
    folder = Path(cfg["data"]["root"]) / cfg["data"]["meta"]
    return folder / f"{video_id}.json" if folder.is_dir() else None


def source_stamp(src: VideoSource, meta: Path | None) -> dict:
    """Size and modification time of a video (and its ground truth), and what it mirrors: a cached
    record is reused only while these match, so a regenerated or replaced file is extracted again."""
    def stamp(p):
        st = Path(p).stat()
        return [st.st_size, st.st_mtime_ns]
    out = {"video": stamp(src.path), "meta": stamp(meta) if meta is not None and Path(meta).is_file() else None}
    return out | {"flip_of": src.path.stem} if src.flip else out


def extract_one(job: tuple) -> tuple[str, dict]:
    """Worker: extract and store one video; bad media becomes a `failed` record, never an exception."""
    src, video_id, settings, meta_path, cache = job
    path = src.path
    start, cpu = time.perf_counter(), time.process_time()   # wall time, and CPU time (not inflated by a busy machine)
    try:
        source = source_stamp(src, meta_path)
    except OSError as e:
        return video_id, {"status": "failed", "reason": f"unreadable ({e.strerror})"}
    try:
        meta = read_meta(meta_path) if meta_path is not None and Path(meta_path).is_file() else None
        arrays, info = extract_with_info(path, settings, meta, flip=src.flip)
    except store.CacheWriteError:
        raise
    except AmuseError as e:
        return video_id, {"status": "failed", "reason": str(e).replace(f"{path}: ", "")}
    except Exception as e:  # noqa: BLE001 - one odd file must not stop thousands of others
        return video_id, {"status": "failed", "reason": f"{type(e).__name__}: {e}"}
    record = store.write_video(Path(cache), video_id, arrays)
    record.update(info, source=source, seconds=round(time.perf_counter() - start, 3),
                  cpu_seconds=round(time.process_time() - cpu, 3))
    return video_id, record


def _init_worker() -> None:
    import torch
    torch.set_num_threads(1)  # one process per core is faster than threads fighting over cores


def _results(jobs: list, workers: int):
    if workers <= 1 or len(jobs) <= 1:
        import torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)   # small per-video ops: one thread beats a contended pool by ~10x
        try:
            for job in jobs:
                yield extract_one(job)
        finally:
            torch.set_num_threads(threads)
        return
    with mp.get_context("spawn").Pool(min(workers, len(jobs)), initializer=_init_worker) as pool:
        yield from pool.imap_unordered(extract_one, jobs, chunksize=1)


def change_scores(tp: int, fp: int, fn: int) -> dict:
    """Rhythm-change precision / recall / F1 against the ground truth (1.0 where nothing to find or said).

    Agreement alone flatters a labeller that never says "change" (most segments do not change)."""
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"rhythm_change_precision": round(precision, 4), "rhythm_change_recall": round(recall, 4),
            "rhythm_change_f1": round(f1, 4), "rhythm_true_changes": int(tp + fn)}


def summarize(records: dict[str, dict], video_ids: list[str], seconds: float, extracted: int) -> dict:
    recs = [records[v] for v in video_ids if v in records]
    ok = [r for r in recs if r.get("status") == "ok"]
    out = {"videos": len(video_ids), "videos_ok": len(ok), "videos_failed": len(recs) - len(ok),
           "videos_extracted_this_run": extracted, "seconds": round(seconds, 2),
           "mb_per_video": round(sum(r["bytes"] for r in ok) / len(ok) / 1e6, 4) if ok else 0.0,
           "videos_without_audio": sum(1 for r in ok if not r.get("has_audio", True))}
    truth = [r for r in ok if "truth" in r]
    segments = sum(r["segments"] for r in truth)
    if segments:
        out["rhythm_agreement"] = round(sum(r["truth"]["rhythm_agree"] for r in truth) / segments, 4)
        out["bpm_mae"] = round(sum(r["truth"]["bpm_abs_err"] for r in truth) / segments, 3)
        out["sources_agreement"] = round(sum(r["truth"]["sources_agree"] for r in truth) / segments, 4)
        if all("rhythm_tp" in r["truth"] for r in truth):       # caches written before these counts lack them
            out.update(change_scores(*(sum(r["truth"][k] for r in truth) for k in ("rhythm_tp", "rhythm_fp",
                                                                                  "rhythm_fn"))))
    return out


def _manifest(cfg, settings, records, listed, summary) -> dict:
    """listed: folder -> the video_ids extracted from it, by this run and every earlier one (several
    folders, or several runs with different data.videos, fill one cache). Complete when every
    listed video has a record (ok or failed)."""
    wanted = {v for ids in listed.values() for v in ids}
    return {"cache_format": CACHE_FORMAT, "dataset": dataset_name(cfg),
            "data_root": data_root(cfg), "settings": settings,
            "settings_hash": settings_hash(settings), "shapes": array_shapes(settings),
            "versions": store.versions(), "complete": wanted <= set(records), "summary": summary,
            "folders": {f: sorted(ids) for f, ids in sorted(listed.items())},
            "videos": {v: records[v] for v in sorted(records) if v in wanted}}


def _earlier_folders(cache: Path) -> list[Path]:
    """Folders an earlier run extracted into this cache (their `<id>` may be mirrored for `<id>_flip`)."""
    return [Path(f) for f in (store.read_manifest(cache) or {}).get("folders", {})] if cache.is_dir() else []


def _listed(cache: Path, videos: dict[str, VideoSource], folders: list[Path]) -> dict[str, list[str]]:
    """The folders this cache holds: the earlier manifest's, with this run's folders (re)listed. A
    mirrored copy is listed under the folder of the video it mirrors, so it stays in the manifest."""
    listed = dict((store.read_manifest(cache) or {}).get("folders", {}))
    for folder in folders:                  # list_videos builds every path as folder / name
        listed[str(folder.resolve())] = [v for v, src in videos.items() if src.path.parent == folder]
    mine = {str(f.resolve()) for f in folders}
    for v, src in videos.items():
        key = str(src.path.parent.resolve())
        if key not in mine and v not in listed.get(key, []):
            listed[key] = sorted([*listed.get(key, []), v])
    return listed


def _up_to_date(cache: Path, video_id: str, record: dict | None, src: VideoSource, meta: Path | None,
                verify: bool = False) -> bool:
    """A cached video a rerun skips: its files are intact and its source (video, ground truth) unchanged."""
    return record is not None and store.file_ok(cache, video_id, record, checksum=verify) \
        and record.get("source") == source_stamp(src, meta)


def _attempt(problems: list[str], check, *args):
    """check(*args), or None with its AmuseError's message added to `problems`."""
    try:
        return check(*args)
    except AmuseError as e:
        problems.append(str(e))
        return None


def _clip_names(cfg: dict, present: set[str]) -> dict | None:
    """v2.0's csv (when under data.root, docs/real-data.md): clips with no file under their name."""
    from amuse_cli.data.v2clips import CSV_PLACE, naming_problems, read_clips
    path = Path(cfg["data"]["root"]) / CSV_PLACE
    if not path.is_file():
        return None
    clips = read_clips(path)
    return {"csv": str(path), "clips": len(clips), **naming_problems(clips, present)}


def plan(cfg: dict) -> dict:
    """What `run` would do, checked and counted without extracting (`extract-features --dry-run`): the
    settings and weights, the annotation files, the videos found, those already cached, and the ones
    the annotations name that neither a folder nor the cache holds. Every problem is collected in
    `problems` (the run would stop on any), not only the first."""
    problems: list[str] = []
    settings = extraction_settings(cfg)
    _attempt(problems, check_settings, {**settings, "device": cfg["features"]["device"]})
    problems += missing_annotation_files(cfg)
    cache = cache_dir(cfg)
    videos = _attempt(problems, list_videos, cfg, _earlier_folders(cache)) or {}
    records = store.known_records(cache) if cache.is_dir() else {}
    cached = [v for v, src in videos.items()
              if _up_to_date(cache, v, records.get(v), src, _meta_path(cfg, src.path.stem))]
    in_cache = {v for v, r in records.items() if r.get("status") == "ok"}
    named = _attempt(problems, annotation_video_ids, cfg) or set()
    return {"cache": str(cache), "videos": len(videos), "cached": len(cached), "problems": problems,
            "missing": sorted(named - set(videos) - in_cache),
            "clips": _attempt(problems, _clip_names, cfg, set(videos) | in_cache)}


def run(cfg: dict, workers: int = 1, resume: bool = True, verify: bool = False, progress: bool = True) -> dict:
    """Extract the dataset of `cfg` into its cache; returns the manifest (summary inside)."""
    settings = extraction_settings(cfg)         # what the cache is named after and its manifest records
    job_settings = {**settings, "device": cfg["features"]["device"]}
    check_settings(job_settings)                # a bad method or missing weights fails before any work
    workers = _workers_that_fit(job_settings, workers)
    cache = cache_dir(cfg)
    for line in missing_annotation_files(cfg):      # its `<id>_flip` videos cannot be made: say so
        print(f"warning: {line}", flush=True)
    videos = list_videos(cfg, _earlier_folders(cache))
    video_ids = list(videos)
    cache.mkdir(parents=True, exist_ok=True)
    listed = _listed(cache, videos, video_folders(cfg))
    rank, world = distributed.rank_world()
    if not resume and rank == 0:
        store.clear_journals(cache)
    records = store.known_records(cache) if resume else {}
    if rank == 0:
        store.write_manifest(cache, _manifest(cfg, settings, records, listed, {}) | {"complete": False})
    shard = video_ids[rank::world]
    metas = {v: _meta_path(cfg, videos[v].path.stem) for v in shard}
    done = {v for v in shard if _up_to_date(cache, v, records.get(v), videos[v], metas[v], verify)}
    jobs = [(videos[v], v, job_settings, metas[v], str(cache)) for v in shard if v not in done]
    start = time.perf_counter()
    journal = store.Journal(cache, rank)
    bar = Progress("extract", len(shard), done=len(done), enabled=progress, unit="videos")
    if done:
        bar.print(f"resuming: {len(done)} of {len(shard)} videos already cached")
    failed = 0
    try:
        bar.start()
        for video_id, record in _results(jobs, workers):
            journal.append(video_id, record)
            records[video_id] = record
            if record.get("status") != "ok":
                failed += 1
                bar.print(f"failed {video_id}: {record.get('reason')}")
            bar.advance(info=f"failed {failed}")
    finally:
        journal.close()
        bar.stop()
    if world > 1:  # rank 0 merges every rank's journal once all are written
        distributed.setup("cpu")
        distributed.barrier()
        distributed.cleanup()
    records = store.known_records(cache)
    every = sorted({v for ids in listed.values() for v in ids})
    summary = summarize(records, every, time.perf_counter() - start, len(jobs))
    manifest = _manifest(cfg, settings, records, listed, summary)
    if rank == 0:
        store.write_manifest(cache, manifest)
    manifest["path"] = str(cache)
    return manifest


def _workers_that_fit(settings: dict, workers: int) -> int:
    """Fewer worker processes when each one's tagger would not fit in free memory (said so)."""
    if settings["source_method"] != "tagger" or workers <= 1:
        return workers
    from amuse_cli.features import sources
    device = str(sources.tagger_device(settings["device"]))
    fit = sources.max_tagger_workers(settings["tagger_weights"], device=device, segments=settings["segments"],
                                     segment_seconds=settings["segment_seconds"])
    if fit < workers:
        print(f"using {fit} of {workers} workers: each holds a tagger and more would not fit in free memory",
              flush=True)
    sources.release_taggers()      # the copy check_settings loaded; each worker loads (maps) its own
    return min(workers, fit)
