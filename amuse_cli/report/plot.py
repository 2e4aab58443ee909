"""`--plot`: the per-type accuracy chart a paper prints, drawn from run folders (matplotlib, optional).

One figure per benchmark (runs scored on different releases never share axes). The nine question
types stand under Audio / Visual / Audio-Visual; the group averages and Avg sit in their own panel.
Each run (a recipe's seeds pooled) is one coloured bar: its mean, error bars for the spread over
seeds (or the --ci interval) and one dot per seed. Published rows that --reference puts beside the
runs are hatched outlines, their source in the caption. The prior and question-only runs of the
same benchmark are drawn as level lines across each column rather than as bars.

The data (`charts`) is kept apart from the drawing (`draw`), so a test can read what is drawn.
"""
from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from amuse_cli.atomic import write_atomic
from amuse_cli.data.metrics import cells_from_predictions
from amuse_cli.data.taxonomy import COLUMNS, GROUPS, GROUP_SHORT
from amuse_cli.errors import AmuseError
from amuse_cli.report import reference as ref
from amuse_cli.report.layout import files_caption, make_report, trained_elsewhere

COLUMN_WIDTH = 3.4      # inches: one column of a two-column paper (ACL 3.0, CVPR 3.25, IEEE 3.5)
FONT_PT = 7             # legible at print size in a column-wide figure
PNG_DPI = 200           # slides and READMEs; a paper takes the PDF
LEGEND_CHARS = 30       # a longer legend label wraps: the legend panel is half a column wide
CAPTION_CHARS = 84      # caption line length that stays within the column at FONT_PT - 1.5
FORMATS = (".png", ".pdf", ".svg")
# model names drawn as level lines rather than bars: a blind baseline marks the floor of a benchmark
LEVELS = {"prior": "answer prior", "question_only": "question-only"}
LEVEL_STYLES = (("black", "-"), ("#8B0000", "--"), ("#555555", ":"), ("black", "-."))  # colour, dashes
# Okabe-Ito (colour-blind safe) without its black, which the level lines use; then tab10's remainder
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442",
           "#8C564B", "#7F7F7F", "#BCBD22")
TYPE_COLUMNS = tuple(c for c in COLUMNS if not c.endswith("Avg"))
AVG_COLUMNS = tuple(c for c in COLUMNS if c.endswith("Avg"))


def require_matplotlib():
    try:
        import matplotlib
    except ModuleNotFoundError:
        raise AmuseError("--plot needs matplotlib, which is not installed; "
                         "run `pip install 'amuse[plot]'` (or `pip install matplotlib`)") from None
    matplotlib.use("Agg")  # files only, no display needed
    import matplotlib.pyplot as plt
    return plt


def check_path(path, option: str = "--plot") -> Path:
    """The file format comes from the suffix: PNG for slides, PDF or SVG (vector) for a paper."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise AmuseError(f"{option} {path}: unknown figure format '{path.suffix}'; "
                         f"name the file .png, .pdf (vector, for a paper) or .svg")
    return path


def check_outputs(**paths) -> None:
    """Before any work: matplotlib importable and every figure file named .png, .pdf or .svg."""
    for option, path in paths.items():
        if path:
            require_matplotlib()
            check_path(path, f"--{option}")


def paper_style() -> dict:
    """rcParams for a column-wide figure; applied through rc_context, so nothing leaks."""
    return {"font.size": FONT_PT, "axes.titlesize": FONT_PT, "axes.labelsize": FONT_PT,
            "xtick.labelsize": FONT_PT - 1, "ytick.labelsize": FONT_PT - 0.5, "legend.fontsize": FONT_PT - 0.5,
            "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
            "hatch.linewidth": 0.6, "pdf.fonttype": 42, "svg.fonttype": "none"}  # 42: text stays text


def save(fig, path: Path) -> Path:
    """Written atomically (never half a file); PNG at print resolution, PDF/SVG as vectors."""
    buf = io.BytesIO()
    fig.savefig(buf, format=path.suffix.lower()[1:], dpi=PNG_DPI, bbox_inches="tight", pad_inches=0.02)
    return write_atomic(path, buf.getvalue())


# --- what is drawn -------------------------------------------------------------------------------

@dataclass
class Series:
    """One bar per column (a run or a published row) or one level line per column (prior, question-only)."""
    label: str
    acc: dict[str, float | None]                          # column -> accuracy (%)
    err: dict[str, tuple[float, float]] | None = None     # column -> (low, high) bounds (%)
    seeds: list[dict[str, float | None]] = field(default_factory=list)  # per-seed accuracies, 2+ seeds


@dataclass
class Chart:
    benchmark: str
    split: str
    runs: list[Series]
    published: list[Series]
    levels: list[Series]
    caption: str


def seed_accuracies(runs) -> list[dict[str, float | None]]:
    return [{c: v["acc"] for c, v in cells_from_predictions(r.predictions).items()} for r in runs]


def error_bounds(row: dict, ci: bool) -> dict[str, tuple[float, float]] | None:
    """The --ci interval where asked, else mean ± std over seeds (None for a single run)."""
    if ci:
        return {c: tuple(v["ci"]) for c, v in row["cells"].items() if v.get("ci")}
    if row["seeds"] < 2:
        return None
    return {c: (v["acc"] - v["std"], v["acc"] + v["std"]) for c, v in row["cells"].items()
            if v.get("std") is not None and v["acc"] is not None}


def run_label(row: dict, recipes: list[str]) -> str:
    """The recipe's name where it is unique among the chart's rows, else the table's row name; its
    seeds; what it trained on where that is not the benchmark scored; `*` for a part of a test file
    (as the table marks them)."""
    name = row["recipe"] if recipes.count(row["recipe"]) == 1 else row["name"]
    seeds = (f"{row['seeds']} seeds" if row["seeds"] > 1 else
             f"seed {row['seed_values'][0]}" if row["seed_values"][0] is not None else "")
    facts = [seeds] * bool(seeds) + [f"trained on {row['trained_on']}"] * trained_elsewhere(row)
    return name + (f" ({', '.join(facts)})" if facts else "") + (" *" if row.get("complete") is False else "")


def _method_key(method: str) -> str:
    return method.split(" (")[0].strip().lower()


def select_published(tables: list[dict], spec: str | None) -> list[tuple[dict, dict]]:
    """(table, row) pairs of one chart to draw. spec: None for every row of the first table shown;
    "none"; or comma-separated TABLE-ID or TABLE-ID:METHOD (a method by its name, with or without
    the parenthesised part, any case). Items naming a table not beside this chart's runs are left
    to the other charts (`check_published` says when no chart has it)."""
    if (spec or "").strip().lower() == "none":
        return []
    if spec is None:
        return [(tables[0], row) for row in tables[0]["rows"]] if tables else []
    by_id = {t["id"]: t for t in tables}
    chosen = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        tid, _, method = (part.strip() for part in item.partition(":"))
        if tid not in by_id:
            continue
        rows = [r for r in by_id[tid]["rows"] if not method or method.lower() in
                (r["method"].lower(), _method_key(r["method"]))]
        if not rows:
            raise AmuseError(f"--plot-published {item!r}: table {tid} has no method '{method}'; "
                             f"its methods: {', '.join(r['method'] for r in by_id[tid]['rows'])}")
        chosen += [(by_id[tid], r) for r in rows if (by_id[tid], r) not in chosen]
    return chosen


def check_published(spec: str | None, shown: list[str]) -> None:
    """Every table that --plot-published names must sit beside some chart's runs."""
    for item in (s.strip() for s in (spec or "").split(",") if s.strip() and s.strip().lower() != "none"):
        tid = item.partition(":")[0].strip()
        if tid not in shown:
            raise AmuseError(f"--plot-published {item!r}: no published table '{tid}' beside these runs; "
                             f"shown here: {', '.join(shown) or 'none (see --reference)'}")


def _table_tag(table: dict) -> str:
    """`Amuse paper Table 2` from the title `MUSIC-AVQA v1 test, Amuse paper Table 2`."""
    return table["title"].rsplit(", ", 1)[-1]


def _caption(bench: str, split: str, rows: list[dict], published, levels: list[Series], ci: bool) -> str:
    text = f"Accuracy (%) per question type, {split} split of {ref.describe(bench)}"
    text += (files_caption(rows) or f", {rows[0]['cells']['Avg']['n']:,} questions") + "."
    if any(r.get("complete") is False for r in rows):
        text += (" * A part of the released test file: published rows score the whole file, so they do not "
                 "compare number for number.")
    if ci:
        text += " Error bars: 95% bootstrap interval (questions resampled)."
    elif any(r["seeds"] > 1 for r in rows):
        text += " Error bars: ± one std over seeds; dots: single seeds."
    if levels:
        text += " Lines: " + ", ".join(s.label for s in levels) + " (blind baselines, same benchmark)."
    sources = [ref.source_line(t)[len("Source: "):] for t in dict((t["id"], t) for t, _ in published).values()]
    if sources:
        text += f" Hatched: published ({'; '.join(sources)})."
    return text


def charts(groups, reference: str = "auto", ci: bool = False, published: str | None = None) -> list[Chart]:
    """One Chart per benchmark, its numbers and published rows exactly as `amuse report` tables them."""
    by_bench: dict[str, list] = {}
    for g in groups:
        by_bench.setdefault(g[0].benchmark, []).append(g)
    out, shown = [], []
    for bench, bgroups in by_bench.items():
        rep = make_report(bgroups, by="type", reference=reference, ci=ci)
        rows = rep.data["runs"]
        recipes = [r["recipe"] for r in rows]
        models = [(g[0].config.get("model") or {}).get("name") for g in bgroups]
        runs, levels = [], []
        for g, row, model in zip(bgroups, rows, models):
            if model in LEVELS:
                label = LEVELS[model] if models.count(model) == 1 else f"{LEVELS[model]}: {row['name']}"
                levels.append(Series(label, {c: v["acc"] for c, v in row["cells"].items()}))
                continue
            runs.append(Series(run_label(row, recipes), {c: v["acc"] for c, v in row["cells"].items()},
                               error_bounds(row, ci), seed_accuracies(g) if len(g) > 1 else []))
        # the per-type tables only (not -R's head/tail nor v2.0's grouped tables: other columns)
        tables = [t for t in rep.data.get("reference", []) if t["rows"] and set(COLUMNS) <= set(t["rows"][0]["cells"])]
        shown += [t["id"] for t in tables]
        picked = select_published(tables, published)
        several = len({t["id"] for t, _ in picked}) > 1  # then each label names its table
        pub = [Series(f"{r['method']}, {_table_tag(t)}" if several else r["method"], dict(r["cells"]))
               for t, r in picked]
        if not runs and not pub:
            runs, levels = levels, []  # only blind baselines: draw them as bars after all
        out.append(Chart(bench, rows[0]["split"], runs, pub, levels, _caption(bench, rows[0]["split"], rows,
                                                                              picked, levels, ci)))
    check_published(published, shown)
    return out


# --- drawing -------------------------------------------------------------------------------------

def type_positions() -> dict[str, float]:
    """x of each type column: the groups' columns side by side, a gap between groups."""
    pos, x = {}, 0.0
    for group in GROUPS:
        for c in (c for c in TYPE_COLUMNS if c.startswith(GROUP_SHORT[group] + "-")):
            pos[c] = x
            x += 1.0
        x += 0.5
    return pos


def avg_positions() -> dict[str, float]:
    """A-Avg, V-Avg, AV-Avg side by side, then Avg set apart."""
    return {"A-Avg": 0.0, "V-Avg": 1.0, "AV-Avg": 2.0, "Avg": 3.5}


def _bars(ax, chart: Chart, pos: dict[str, float]) -> None:
    import numpy as np

    cols = list(pos)
    x = np.array([pos[c] for c in cols])
    bars = chart.runs + chart.published
    width = 0.84 / max(1, len(bars))
    for i, s in enumerate(bars):
        xs = x + (i - (len(bars) - 1) / 2) * width
        h = np.array([np.nan if s.acc.get(c) is None else s.acc[c] for c in cols], dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        if i < len(chart.runs):
            ax.bar(xs, h, width, color=colour, edgecolor="white", linewidth=0.3, label=s.label, zorder=2)
        else:
            ax.bar(xs, h, width, facecolor="white", edgecolor=colour, hatch="/////", linewidth=0.6,
                   label=s.label, zorder=2)
        if s.err:
            lo = np.array([h[j] - s.err[c][0] if c in s.err else np.nan for j, c in enumerate(cols)])
            hi = np.array([s.err[c][1] - h[j] if c in s.err else np.nan for j, c in enumerate(cols)])
            ax.errorbar(xs, h, yerr=np.vstack([lo, hi]), fmt="none", ecolor="black", elinewidth=0.6,
                        capsize=min(1.5, 30 * width), capthick=0.6, zorder=3)
        if s.seeds:
            px = np.repeat(xs, len(s.seeds))
            py = np.array([[np.nan if d.get(c) is None else d[c] for d in s.seeds] for c in cols]).ravel()
            ax.scatter(px, py, s=1.5, color="black", linewidths=0, zorder=4, label="_seeds")
    for k, s in enumerate(chart.levels):
        y = np.array([np.nan if s.acc.get(c) is None else s.acc[c] for c in cols], dtype=float)
        colour, dashes = LEVEL_STYLES[k % len(LEVEL_STYLES)]
        ax.hlines(y, x - 0.46, x + 0.46, colors=colour, linestyles=dashes, linewidth=0.9, label=s.label, zorder=5)
    ax.set_ylim(0, 100)
    ax.set_yticks(range(0, 101, 20))
    ax.grid(axis="y", linewidth=0.3, alpha=0.5, zorder=0)
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_xlim(x.min() - 0.55, x.max() + 0.55)


def draw(chart: Chart):
    """The Figure: types (top), averages (bottom left), legend (bottom right), caption under it."""
    plt = require_matplotlib()
    n_legend = len(chart.runs) + len(chart.published) + len(chart.levels)
    height = 3.3 + 0.11 * max(0, n_legend - 9)  # inches: the legend panel grows past 9 entries
    with plt.rc_context(paper_style()):
        fig = plt.figure(figsize=(COLUMN_WIDTH, height))
        grid = fig.add_gridspec(2, 2, width_ratios=(1.2, 1.0), height_ratios=(1.0, 0.85),
                                hspace=0.55, wspace=0.08)
        types, avgs, key = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
        tpos, apos = type_positions(), avg_positions()
        _bars(types, chart, tpos)
        _bars(avgs, chart, apos)
        types.set_xticks(list(tpos.values()), [c.split("-", 1)[1] for c in tpos])
        for group in GROUPS:  # group names under the type names
            xs = [x for c, x in tpos.items() if c.startswith(GROUP_SHORT[group] + "-")]
            types.annotate(group, xy=((min(xs) + max(xs)) / 2, 0), xycoords=("data", "axes fraction"),
                           xytext=(0, -15), textcoords="offset points", ha="center", va="top", fontweight="bold")
        avgs.set_xticks(list(apos.values()), list(apos))
        avgs.get_xticklabels()[-1].set_fontweight("bold")
        types.set_ylabel("accuracy (%)")
        avgs.set_ylabel("accuracy (%)")
        key.axis("off")
        drawn = dict(zip(*reversed(types.get_legend_handles_labels())))  # label -> handle
        labels = [s.label for s in chart.runs + chart.published + chart.levels]
        key.legend([drawn[label] for label in labels], [textwrap.fill(label, LEGEND_CHARS) for label in labels], loc="center left", frameon=False, handlelength=1.6, borderaxespad=0.0,
                   labelspacing=0.35)
        fig.text(0.0, -0.01, "\n".join(textwrap.wrap(chart.caption, CAPTION_CHARS, break_on_hyphens=False)), ha="left", va="top",
                 fontsize=FONT_PT - 1.5, transform=fig.transFigure)
    return fig


def bar_charts(groups, path, reference: str = "auto", ci: bool = False, published: str | None = None) -> list[Path]:
    """Draw and write the chart(s): PATH itself, or PATH-<benchmark>.<suffix> per benchmark when the
    runs were scored on several."""
    plt = require_matplotlib()
    path = check_path(path)
    found = charts(groups, reference, ci, published)
    written = []
    for chart in found:
        target = path if len(found) == 1 else path.with_name(f"{path.stem}-{chart.benchmark}{path.suffix}")
        with plt.rc_context(paper_style()):  # also at save time: PDF fonts, hatch widths
            fig = draw(chart)
            try:
                written.append(save(fig, target))
            finally:
                plt.close(fig)
    return written
