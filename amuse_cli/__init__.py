"""amuse: a command-line experiment suite for music audio-visual question answering."""
__version__ = "0.1.0"  # the one place: pyproject.toml reads it (dynamic version)
