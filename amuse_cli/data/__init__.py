"""Annotation files, taxonomy, question vocabulary (and, once extracted, the cached dataset)."""
