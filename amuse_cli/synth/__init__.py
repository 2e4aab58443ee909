"""`amuse synth`: procedurally rendered music performances (real mp4) with exact ground truth.

A world (worlds.py) is a choice of stages: plan the scene (ground truth from a seeded RNG) -> picture +
sound (numpy) -> writer (PyAV mp4); questions (33 templates, answers from the truth, balanced) -> wording.
generate.py runs it all in parallel and writes the dataset folder and its card.
"""
GENERATOR = "amuse-synth 3"          # the default stage world: free staging, motion only, sampled sound
CLASSIC_GENERATOR = "amuse-synth 2"  # the classic world (2: mimes, seen playing but not heard)
