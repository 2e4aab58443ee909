"""`--plot`: grouped bar chart, question types on the x axis, one bar per run (matplotlib, optional)."""
from __future__ import annotations

from pathlib import Path

from amuse_cli.data.taxonomy import COLUMNS
from amuse_cli.errors import AmuseError
from amuse_cli.atomic import write_atomic

FIGURE_SIZE = (12.0, 4.5)  # inches
DPI = 120


def require_matplotlib():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise AmuseError("--plot needs matplotlib, which is not installed; "
                         "run `pip install 'amuse[plot]'` (or `pip install matplotlib`)") from None
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def bar_chart(rows: list[dict], path) -> Path:
    """rows: tables.type_row dicts; error bars show the std over seeds where there are several."""
    import io

    import numpy as np

    plt = require_matplotlib()
    x = np.arange(len(COLUMNS))
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=FIGURE_SIZE)
    for i, row in enumerate(rows):
        acc = [row["cells"][c]["acc"] if row["cells"][c]["acc"] is not None else np.nan for c in COLUMNS]
        err = [row["cells"][c].get("std") or 0.0 for c in COLUMNS] if row["seeds"] > 1 else None
        label = f"{row['name']} ({row['seeds']} seeds)" if row["seeds"] > 1 else row["name"]
        ax.bar(x + (i - (len(rows) - 1) / 2) * width, acc, width, yerr=err, capsize=2, label=label)
    ax.set_xticks(x, COLUMNS, rotation=45, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Accuracy per question type, {rows[0]['split']} split")
    ax.legend(fontsize="small")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())
