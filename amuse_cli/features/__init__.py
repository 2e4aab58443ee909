"""Feature extraction: frames, log-mel windows and per-segment rhythm/source labels, cached per video.

settings (what the recipe asks for, and its hash) -> extract (one video) -> cache (files, manifest)
-> runner (all videos: workers, torchrun shards, progress, failures).
"""
