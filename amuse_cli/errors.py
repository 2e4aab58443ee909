"""One exception type for every failure a user can fix; the CLI prints it on one line, exit 2."""
from __future__ import annotations


class AmuseError(Exception):
    """A problem with the user's input: message says what, where, and what to do."""

    exit_code = 2


class ConfigError(AmuseError):
    """A recipe or override is wrong (unknown key, wrong type, missing value, bad name)."""


class AnnotationError(AmuseError):
    """An annotation file or record cannot be read as MUSIC-AVQA."""
