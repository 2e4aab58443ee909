"""`amuse synth`: procedurally rendered music performances (real mp4) with exact ground truth.

scene (ground truth from a seeded RNG) -> video + audio (numpy) -> writer (PyAV mp4)
                                       -> questions (33 templates, answers from the truth, balanced)
generate.py runs it all in parallel and writes the dataset folder and its card.
"""
GENERATOR = "amuse-synth 2"   # 2: mimes (seen playing, not heard)
