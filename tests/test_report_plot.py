"""`amuse report --plot` and `--curves`: figures drawn from run folders made here, checked by what
matplotlib drew (bars, error bars, seed dots, level lines, legend texts, caption), and through the CLI."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from amuse_cli import config
from amuse_cli.cli import cli
from amuse_cli.data.taxonomy import ANSWERS, COLUMNS, TYPES, type_column
from amuse_cli.errors import AmuseError

pytest.importorskip("matplotlib")  # in the `test` extra; skipped only where it is not installed
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402

from amuse_cli.report import curves, plot  # noqa: E402
from amuse_cli.report.runs import find_runs  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = 40  # per type


def make_run(root: Path, name: str, recipe: str = "amuse-grounded", seed: int = 0, skill: float = 0.7,
             release: str | None = None, epochs: list[dict] | None = None) -> Path:
    """A run folder as `amuse train` + `amuse eval` write it (docs/INTERFACES.md §3): config.yaml,
    predictions-test.jsonl (QUESTIONS per type, each right with probability `skill`, drawn per seed),
    metrics-test.json naming the release when given, metrics.jsonl when `epochs` is given."""
    run = root / "checkpoints" / name
    run.mkdir(parents=True)
    path = REPO / "recipes" / (f"{recipe}.yaml" if (REPO / "recipes" / f"{recipe}.yaml").exists()
                               else f"baselines/{recipe}.yaml")
    cfg = config.load(path, [f"seed={seed}", *(["data.benchmark=music-avqa-v1"] if release else [])])
    (run / "config.yaml").write_text(config.dump(cfg))
    rng = random.Random(f"{name}-{seed}")
    lines = []
    for t, (group, qtype) in enumerate(TYPES):
        for j in range(QUESTIONS):
            i = t * QUESTIONS + j
            answer = ANSWERS[i % len(ANSWERS)]
            pred = answer if rng.random() < skill - 0.05 * t else ANSWERS[(i + 1) % len(ANSWERS)]
            lines.append(json.dumps({"key": f"avqa-test:{i}", "video_id": f"{i:08d}", "question_id": i,
                                     "group": group, "type": qtype, "template": None, "question": "q",
                                     "answer": answer, "prediction": pred, "correct": pred == answer}))
    (run / "predictions-test.jsonl").write_text("\n".join(lines) + "\n")
    if release:
        (run / "metrics-test.json").write_text(json.dumps({
            "split": "test", "benchmark": "music-avqa-v1", "annotations": "/data/json_update/avqa-test.json",
            "questions": len(lines), "release": {"id": release, "benchmark": "music-avqa-v1"}}))
    if epochs:
        (run / "metrics.jsonl").write_text("".join(json.dumps(e) + "\n" for e in epochs))
    return run


def report(*args):
    return CliRunner().invoke(cli, ["report", *map(str, args)], catch_exceptions=False)


def bar_containers(ax) -> list[BarContainer]:
    return [c for c in ax.containers if isinstance(c, BarContainer)]


def legend_texts(fig) -> list[str]:
    (legend,) = [a.get_legend() for a in fig.axes if a.get_legend()]
    return [t.get_text() for t in legend.get_texts()]


# --- the bar chart -------------------------------------------------------------------------------

@pytest.fixture
def demo_runs(work):
    """The demo's figure in miniature: a recipe over 3 seeds, a gated run, the prior and question-only."""
    for seed in (0, 1, 2):
        make_run(work, f"amuse-grounded/s{seed}", seed=seed, skill=0.85)
    make_run(work, "amuse-tiny/s0", recipe="amuse-tiny", skill=0.6)
    make_run(work, "prior/s0", recipe="prior", skill=0.35)
    make_run(work, "question_only/s0", recipe="question_only", skill=0.4)
    return work


def test_seeds_pool_into_one_bar_with_spread_and_blind_baselines_are_level_lines(demo_runs):
    (chart,) = plot.charts(find_runs([], "test"))
    fig = plot.draw(chart)
    types, avgs, _ = fig.axes
    # two runs drawn as bars (the 3 seeds pooled, the gated run); prior and question-only are lines
    assert [len(c) for c in bar_containers(types)] == [9, 9]
    assert [len(c) for c in bar_containers(avgs)] == [4, 4]
    assert legend_texts(fig) == ["amuse-grounded (3 seeds)", "amuse-tiny (seed 0)", "answer prior", "question-only"]
    # the pooled bar's height is the seed mean; error bars span mean ± std; one dot per seed
    pooled = chart.runs[0]
    heights = [b.get_height() for b in bar_containers(avgs)[0]]
    assert heights == pytest.approx([pooled.acc[c] for c in ("A-Avg", "V-Avg", "AV-Avg", "Avg")])
    assert len(pooled.seeds) == 3
    mean = sum(s["Avg"] for s in pooled.seeds) / 3
    assert pooled.acc["Avg"] == pytest.approx(mean, abs=0.005)
    (errs,) = [c for c in avgs.containers if isinstance(c, ErrorbarContainer)]  # the single run has none
    segments = errs.lines[2][0].get_segments()
    lo, hi = pooled.err["Avg"]
    assert (segments[3][0][1], segments[3][1][1]) == pytest.approx((lo, hi))
    assert hi - lo > 0
    dots = [c for c in types.collections if isinstance(c, PathCollection)]
    assert len(dots) == 1 and len(dots[0].get_offsets()) == 9 * 3
    # level lines: one segment per column at the baseline's accuracy
    lines = {c.get_label(): c for c in types.collections if isinstance(c, LineCollection) and
             not c.get_label().startswith("_")}
    assert set(lines) == {"answer prior", "question-only"}
    prior_y = [seg[0][1] for seg in lines["answer prior"].get_segments()]
    assert prior_y == pytest.approx([chart.levels[0].acc[c] for c in plot.TYPE_COLUMNS])
    assert "Lines: answer prior, question-only" in chart.caption and "Error bars" in chart.caption


def test_ci_intervals_become_the_error_bars(demo_runs):
    (chart,) = plot.charts(find_runs(["checkpoints/amuse-tiny"], "test"), ci=True)
    fig = plot.draw(chart)
    (errs,) = [c for c in fig.axes[0].containers if isinstance(c, ErrorbarContainer)]
    lows = [seg[0][1] for seg in errs.lines[2][0].get_segments()]
    assert lows == pytest.approx([chart.runs[0].err[c][0] for c in plot.TYPE_COLUMNS])
    assert all(chart.runs[0].err[c][0] <= chart.runs[0].acc[c] <= chart.runs[0].err[c][1] for c in COLUMNS)
    assert "bootstrap" in chart.caption


def test_eight_runs_get_eight_colours_and_fit_the_legend(work):
    for k in range(8):
        make_run(work, f"r{k}/s0", recipe="amuse-tiny", skill=0.3 + 0.05 * k)
        cfg = (work / "checkpoints" / f"r{k}/s0" / "config.yaml")
        cfg.write_text(cfg.read_text().replace("epochs: 30", f"epochs: {30 + k}", 1))  # 8 recipes
    (chart,) = plot.charts(find_runs([], "test"))
    fig = plot.draw(chart)
    bars = bar_containers(fig.axes[0])
    assert len(bars) == 8 and len({b.patches[0].get_facecolor() for b in bars}) == 8
    assert len(legend_texts(fig)) == 8
    width = bars[0].patches[0].get_width()
    assert width * 8 < 0.9  # a type's bars stay inside its column


def v1_run(work, name="v1/s0", seed=0):
    return make_run(work, name, recipe="amuse-tiny", seed=seed, release="music-avqa-v1-updated")


def test_published_rows_are_hatched_beside_a_v1_run_with_their_source(work):
    v1_run(work)
    (chart,) = plot.charts(find_runs([], "test"), reference="v1", published="amuse-table2:Amuse")
    fig = plot.draw(chart)
    run_bars, pub_bars = bar_containers(fig.axes[1])
    assert [p.get_height() for p in pub_bars] == [83.58, 85.84, 82.43, 83.52]  # Table 2, Amuse
    assert pub_bars.patches[0].get_hatch() and pub_bars.patches[0].get_facecolor()[:3] == (1.0, 1.0, 1.0)
    assert not run_bars.patches[0].get_hatch()
    assert legend_texts(fig) == ["amuse-tiny (seed 0)", "Amuse"]
    assert "Hatched: published (Diao et al., Amuse" in chart.caption and "Table 2" in chart.caption
    # default: the first table shown (Table 2, 7 methods); none: no published bars
    (every,) = plot.charts(find_runs([], "test"), reference="v1")
    assert len(every.published) == 7
    (bare,) = plot.charts(find_runs([], "test"), reference="v1", published="none")
    assert bare.published == [] and "Hatched" not in bare.caption
    # LAST-Att printed no group averages: no bar there, the others drawn
    last = next(s for s in every.published if s.label.startswith("LAST-Att"))
    assert last.acc["A-Avg"] is None and last.acc["Avg"] == 75.45
    with pytest.raises(AmuseError, match="table amuse-table2 has no method 'Nope'.*AVST"):
        plot.charts(find_runs([], "test"), reference="v1", published="amuse-table2:Nope")
    with pytest.raises(AmuseError, match="no published table 'amuse-table3'.*amuse-table2"):
        plot.charts(find_runs([], "test"), reference="v1", published="amuse-table3")


def test_no_published_rows_beside_synthetic_runs(demo_runs):
    (chart,) = plot.charts(find_runs([], "test"), reference="v1")
    assert chart.published == [] and "Hatched" not in chart.caption


def test_cli_writes_png_and_vector_pdf_one_per_benchmark(demo_runs):
    result = report("--format", "md", "--out", "t.md", "--plot", "bars.pdf")
    assert result.exit_code == 0, result.output
    pdf = (demo_runs / "bars.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Subtype /Image" not in pdf  # vector: no raster inside
    assert b"/FontFile2" in pdf  # TrueType text (pdf.fonttype 42), selectable in the paper
    v1_run(demo_runs)
    result = report("--plot", "bars.png", "--reference", "v1", "--plot-published", "amuse-table2:Amuse")
    assert result.exit_code == 0, result.output
    for bench in ("synthetic", "music-avqa-v1-updated"):
        png = (demo_runs / f"bars-{bench}.png").read_bytes()
        assert png[:8] == b"\x89PNG\r\n\x1a\n", bench
    assert "wrote bars-synthetic.png" in result.stderr
    assert not list(demo_runs.glob(".*.tmp*"))


def test_bad_figure_requests_are_one_line_errors(demo_runs):
    result = report("--plot", "bars.jpg")
    assert result.exit_code == 2 and "name the file .png, .pdf" in result.stderr
    assert not (demo_runs / "bars.jpg").exists()
    result = report("--plot", "bars.png", "--plot-published", "amuse-table2")  # synthetic: none shown
    assert result.exit_code == 2 and "no published table 'amuse-table2'" in result.stderr
    result = report("--plot-published", "amuse-table2")
    assert result.exit_code == 2 and "--plot-published needs --plot" in result.stderr


# --- training curves -----------------------------------------------------------------------------

def epochs_log(accs: list[float], losses: list[float] | None = None, lr: float | None = 1e-3) -> list[dict]:
    rows = [{"stage": "stage1", "epoch": 1, "loss": 2.0}]
    for e, acc in enumerate(accs, 1):
        rows.append({"stage": "qa", "epoch": e, "step": 10 * e, "train_loss": (losses or [2.0 / e] * len(accs))[e - 1],
                     "val_acc": acc, "val": {c: acc for c in COLUMNS}, "lr": lr, "samples_per_s": 100.0})
    return rows


def test_curves_mark_the_epoch_selected_on_val(work):
    make_run(work, "a/s0", epochs=epochs_log([40.0, 55.0, 61.0, 61.0, 58.0]))   # first best: epoch 3
    make_run(work, "b/s0", epochs=epochs_log([30.0, 50.0, 45.0]))
    make_run(work, "prior/s0", recipe="prior", epochs=epochs_log([35.0], [0.0], lr=None))
    found = curves.read_curves([])
    assert [(c.name, c.selected) for c in found] == [("a/s0", 3), ("b/s0", 2), ("prior/s0", 1)]
    fig = curves.draw(found)
    val, loss = fig.axes[:2]
    lines = [ln for ln in val.get_lines() if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in lines] == ["a/s0", "b/s0", "prior/s0"]
    assert list(lines[0].get_ydata()) == [40.0, 55.0, 61.0, 61.0, 58.0]
    stars = [c for c in val.collections if isinstance(c, PathCollection)]
    assert len(stars) == 1 and [tuple(p) for p in stars[0].get_offsets()] == [(3, 61.0), (2, 50.0), (1, 35.0)]
    # the prior trains nothing: no loss curve
    assert [ln.get_label() for ln in loss.get_lines() if not ln.get_label().startswith("_")] == ["a/s0", "b/s0"]
    assert "selected on val" in " ".join(legend_texts(fig))


def test_curves_through_the_cli(work):
    make_run(work, "a/s0", epochs=epochs_log([40.0, 55.0]))
    (work / "checkpoints" / "train-only").mkdir()
    (work / "checkpoints" / "train-only" / "config.yaml").write_text("name: x\n")
    (work / "checkpoints" / "train-only" / "metrics.jsonl").write_text(json.dumps(epochs_log([10.0])[1]) + "\n")
    result = report("--curves", "curves.pdf", "--format", "md")
    assert result.exit_code == 0, result.output
    assert (work / "curves.pdf").read_bytes().startswith(b"%PDF")
    assert "Accuracy" in result.stdout  # the table still prints
    # a run still training (no predictions yet) is drawn; the table needs none when only curves are asked
    result = report("checkpoints/train-only", "--curves", "c.png")
    assert result.exit_code == 0, result.output
    assert (work / "c.png").read_bytes()[:4] == b"\x89PNG"
    assert "no evaluated run" in result.stderr


def test_dry_run_names_the_figures_and_writes_nothing(work):
    make_run(work, "a/s0", epochs=epochs_log([40.0, 55.0]))
    result = report("--plot", "bars.pdf", "--curves", "curves.png", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would draw a/s0 into curves.png" in result.output and "bars.pdf" in result.output
    assert sorted(p.name for p in work.iterdir()) == ["checkpoints"]


def test_curves_without_any_log_is_a_clear_error(work):
    make_run(work, "a/s0")
    result = report("--curves", "c.png")
    assert result.exit_code == 2 and "metrics.jsonl" in result.stderr and "amuse train" in result.stderr
    assert not (work / "c.png").exists()


def test_type_columns_match_taxonomy():
    assert list(plot.type_positions()) == [type_column(g, t) for g, t in TYPES]


# --- through the real pipeline -------------------------------------------------------------------

def test_figures_of_a_real_tiny_run_beside_the_prior(tiny_run, work, one_thread):
    """amuse-tiny (trained by the fixture) and the answer prior, evaluated through the CLI; the chart
    holds the eval's numbers, the curves mark the epoch whose best.pt the eval scored."""
    import shutil

    src, overrides = tiny_run
    run = work / "checkpoints" / "amuse-tiny" / "fixture"
    shutil.copytree(src, run, ignore=shutil.ignore_patterns("predictions-*", "metrics-*.json", "report"))
    runner = CliRunner()
    for args in (["eval", run, "--split", "test"],
                 ["train", REPO / "recipes/baselines/prior.yaml", *overrides, "--run-name", "p", "--no-progress"],
                 ["eval", work / "checkpoints" / "prior" / "p", "--split", "test"]):
        result = runner.invoke(cli, list(map(str, args)), catch_exceptions=False)
        assert result.exit_code == 0, result.output
    result = report("--plot", "bars.pdf", "--curves", "curves.png", "--format", "json")
    assert result.exit_code == 0, result.output
    assert (work / "bars.pdf").read_bytes().startswith(b"%PDF") and (work / "curves.png").stat().st_size > 10_000
    (chart,) = plot.charts(find_runs([], "test"))
    cells = json.loads((run / "metrics-test.json").read_text())["cells"]
    prior_cells = json.loads((work / "checkpoints/prior/p/metrics-test.json").read_text())["cells"]
    fig = plot.draw(chart)
    (bars,) = bar_containers(fig.axes[1])
    assert [b.get_height() for b in bars] == pytest.approx(
        [cells[c]["acc"] for c in plot.AVG_COLUMNS], abs=0.005)
    (level,) = [c for c in fig.axes[1].collections if isinstance(c, LineCollection) and c.get_label() == "answer prior"]
    assert [seg[0][1] for seg in level.get_segments()] == pytest.approx(
        [prior_cells[c]["acc"] for c in plot.AVG_COLUMNS], abs=0.005)
    tiny, prior = curves.read_curves([])
    assert tiny.name == "amuse-tiny/fixture" and len(tiny.epochs) == 2
    assert tiny.selected == json.loads((run / "metrics-test.json").read_text())["epoch"]
    assert prior.train_loss == [None]


def test_a_v1_part_is_marked_and_a_long_label_wraps(work):
    run = v1_run(work)
    metrics = json.loads((run / "metrics-test.json").read_text())
    metrics["release"].update(complete=False)  # a part of the released file, as `amuse eval` records it
    metrics["trained_on"] = "synthetic"
    (run / "metrics-test.json").write_text(json.dumps(metrics))
    (chart,) = plot.charts(find_runs([], "test"), reference="v1", published="amuse-table2:Amuse")
    assert chart.runs[0].label == "amuse-tiny (seed 0, trained on synthetic) *"
    assert "* A part of the released test file" in chart.caption
    fig = plot.draw(chart)
    assert legend_texts(fig)[0] == "amuse-tiny (seed 0, trained on\nsynthetic) *"
