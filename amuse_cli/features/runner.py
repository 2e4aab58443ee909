"""Extract every video of a dataset into its cache: resume, worker processes, torchrun shards, progress.

Under torchrun each rank takes videos[rank::world]; rank 0 merges every rank's journal into the
manifest after a barrier. A video that cannot be decoded is recorded as failed with its reason and
the run goes on; a cache that cannot be written (disk full) stops the run with finished work kept.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import time
from pathlib import Path

from amuse_cli.errors import AmuseError
from amuse_cli.features import cache as store
from amuse_cli.features.extract import check_settings, extract_with_info
from amuse_cli.features.settings import (CACHE_FORMAT, array_shapes, cache_dir, data_root, dataset_name,
                                         extraction_settings, settings_hash)
from amuse_cli.features.truth import read_meta
from amuse_cli.features.videos import VideoSource, list_videos, video_folders

PLAIN_LOG_EVERY_S = 10.0      # seconds between progress lines when stdout is not a terminal


def dist_rank_world() -> tuple[int, int]:
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


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
    start = time.perf_counter()
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
    record.update(info, source=source, seconds=round(time.perf_counter() - start, 3))
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


def _listed(cache: Path, videos: dict[str, VideoSource], folders: list[Path]) -> dict[str, list[str]]:
    """The folders this cache holds: the earlier manifest's, with this run's folders (re)listed."""
    listed = dict((store.read_manifest(cache) or {}).get("folders", {}))
    for folder in folders:                  # list_videos builds every path as folder / name
        listed[str(folder.resolve())] = [v for v, src in videos.items() if src.path.parent == folder]
    return listed


def _barrier(world: int) -> None:
    """Wait for every rank (torchrun's env:// rendezvous, gloo: CPU is enough for a barrier)."""
    if world <= 1:
        return
    import torch.distributed as dist
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group("gloo")
    dist.barrier()
    if owned:
        dist.destroy_process_group()


def run(cfg: dict, workers: int = 1, resume: bool = True, verify: bool = False, progress=None) -> dict:
    """Extract the dataset of `cfg` into its cache; returns the manifest (summary inside)."""
    settings = extraction_settings(cfg)         # what the cache is named after and its manifest records
    job_settings = {**settings, "device": cfg["features"]["device"]}
    check_settings(job_settings)                # a bad method or missing weights fails before any work
    workers = _workers_that_fit(job_settings, workers)
    videos = list_videos(cfg)
    video_ids = list(videos)
    cache = cache_dir(cfg)
    cache.mkdir(parents=True, exist_ok=True)
    listed = _listed(cache, videos, video_folders(cfg))
    rank, world = dist_rank_world()
    if not resume and rank == 0:
        store.clear_journals(cache)
    records = store.known_records(cache) if resume else {}
    if rank == 0:
        store.write_manifest(cache, _manifest(cfg, settings, records, listed, {}) | {"complete": False})
    shard = video_ids[rank::world]
    metas = {v: _meta_path(cfg, videos[v].path.stem) for v in shard}
    done = {v for v in shard if v in records and store.file_ok(cache, v, records[v], checksum=verify)
            and records[v].get("source") == source_stamp(videos[v], metas[v])}
    jobs = [(videos[v], v, job_settings, metas[v], str(cache)) for v in shard if v not in done]
    start = time.perf_counter()
    journal = store.Journal(cache, rank)
    if progress is not None:
        progress.start(total=len(shard), skipped=len(done))
    try:
        for video_id, record in _results(jobs, workers):
            journal.append(video_id, record)
            records[video_id] = record
            if progress is not None:
                progress.advance(video_id, record)
    finally:
        journal.close()
        if progress is not None:
            progress.stop()
    _barrier(world)
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


class ProgressReporter:
    """A rich progress bar (videos/s, ETA) on a terminal; plain log lines otherwise."""

    def __init__(self, console, enabled: bool = True):
        self.console, self.enabled = console, enabled
        self.bar = None

    def start(self, total: int, skipped: int) -> None:
        self.total, self.done, self.failed, self.t0, self.last = total, skipped, 0, time.perf_counter(), 0.0
        self.skipped = skipped
        if skipped:
            self.console.print(f"resuming: {skipped} of {total} videos already cached")
        if self.enabled and self.console.is_terminal:
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeRemainingColumn)
            self.bar = Progress(TextColumn("extract"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[rate]} videos/s  failed {task.fields[failed]}"),
                                TimeRemainingColumn(), console=self.console, transient=False)
            self.task = self.bar.add_task("extract", total=total, completed=skipped, rate="-", failed=0)
            self.bar.start()

    def _rate(self) -> float:
        return (self.done - self.skipped) / max(time.perf_counter() - self.t0, 1e-9)

    def advance(self, video_id: str, record: dict) -> None:
        self.done += 1
        self.failed += record.get("status") != "ok"
        if self.bar is not None:
            self.bar.update(self.task, advance=1, rate=f"{self._rate():.2f}", failed=self.failed)
            return
        now = time.perf_counter()
        if record.get("status") != "ok":
            self.console.print(f"failed {video_id}: {record.get('reason')}", highlight=False)
        if self.enabled and (now - self.last >= PLAIN_LOG_EVERY_S or self.done == self.total):
            self.last = now
            rate = self._rate()
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            pct = 100 * self.done // max(self.total, 1)
            self.console.print(f"extract {self.done}/{self.total} ({pct}%) {rate:.2f} videos/s failed {self.failed} "
                               f"eta {time.strftime('%H:%M:%S', time.gmtime(eta))}", highlight=False)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


def print_report(console, manifest: dict) -> None:
    """The summary line and a table of failed videos with their reasons."""
    s = manifest["summary"]
    line = (f"cache {manifest['path']}: {s['videos_ok']} ok, {s['videos_failed']} failed, "
            f"{s['mb_per_video']:.2f} MB/video, {s['videos_extracted_this_run']} extracted in {s['seconds']:.1f} s")
    if "rhythm_agreement" in s:
        line += f"; vs ground truth: rhythm_agreement {s['rhythm_agreement']:.3f}, bpm_mae {s['bpm_mae']:.1f}"
    if "rhythm_change_f1" in s:
        line += (f", rhythm changes P {s['rhythm_change_precision']:.2f} R {s['rhythm_change_recall']:.2f} "
                 f"F1 {s['rhythm_change_f1']:.2f} ({s['rhythm_true_changes']} true)")
    if s["videos_without_audio"]:
        line += f"; {s['videos_without_audio']} without audio (silence cached)"
    console.print(line, highlight=False)
    failed = [(v, r.get("reason", "")) for v, r in manifest["videos"].items() if r.get("status") != "ok"]
    if not failed:
        return
    from rich.table import Table
    table = Table(title=f"{len(failed)} videos failed", title_justify="left")
    table.add_column("video_id")
    table.add_column("reason", overflow="fold")
    for v, reason in failed:
        table.add_row(v, reason)
    console.print(table)


def ensure_synthetic(cfg: dict, echo) -> None:
    """The default synthetic dataset is generated on first use (`amuse synth`), saying so."""
    import subprocess
    import sys

    from amuse_cli.paths import DEFAULT_SYNTH_DIR

    root = Path(cfg["data"]["root"])
    if any(f.is_dir() for f in video_folders(cfg)) or cfg["data"]["benchmark"] != "synthetic" \
            or root.resolve() != Path(DEFAULT_SYNTH_DIR).resolve():
        return
    echo(f"{root} has no dataset yet: generating the synthetic benchmark first (amuse synth --out {root})")
    rc = subprocess.call([sys.executable, "-m", "amuse_cli", "synth", "--out", str(root)])
    if rc != 0:
        raise AmuseError(f"`amuse synth --out {root}` failed (exit {rc}); run it yourself to see why, "
                         f"or point data.root at an existing dataset")
