"""`amuse report`: render the per-question-type tables from evaluated run folders.

runs.py finds and groups run folders, tables.py computes the numbers from predictions files,
layout.py assembles tables, writers.py prints them (rich, md, csv, latex, json), plot.py draws
the per-type chart (--plot), curves.py the training curves (--curves), reference.py serves the
published rows shipped in amuse_cli/reference/results.yaml.
"""
from amuse_cli.report.layout import make_report
from amuse_cli.report.runs import find_runs
from amuse_cli.report.writers import WRITERS, get_writer

__all__ = ["find_runs", "make_report", "get_writer", "WRITERS"]
