"""The scenario comparison (sim.compare), its figures (sim.plots) and the report (sim.report)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import compare, metrics, plots, report
from sim.compare import SCENARIO

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- differences by hand

def _small() -> pd.DataFrame:
    """Three seeds; scenario b has seed 9 that a lacks (unpaired uses it, paired cannot)."""
    return pd.DataFrame({
        SCENARIO: ["a", "a", "a", "b", "b", "b", "b"],
        "seed": [1, 2, 3, 1, 2, 3, 9],
        "m": [1.0, 2.0, 3.0, 2.0, 4.0, 3.5, 10.0],
    })


def test_paired_differences_by_hand():
    d = compare.paired_differences(_small(), "a", "b", "m")
    assert sorted(d.tolist()) == [0.5, 1.0, 2.0]   # (2-1, 4-2, 3.5-3); seed 9 has no partner
    row = compare.differences(_small(), ["m"], "a").iloc[0]
    assert row["n"] == 3 and row["paired_median"] == 1.0
    # numpy's linear percentiles of [0.5, 1, 2]: 5th = 0.5 + 0.1 * 0.5, 95th = 1 + 0.9 * 1
    assert row["paired_low"] == pytest.approx(0.55) and row["paired_high"] == pytest.approx(1.9)
    assert row["paired_mean"] == pytest.approx(3.5 / 3)
    # three pairs are too few for a verdict (the interval is the spread of three numbers)
    assert not row["spans_zero"] and row["too_few"]
    assert "too few replications for a verdict (n=3)" in row["verdict"] and "higher" not in row["verdict"]


def test_unpaired_differences_by_hand():
    u = compare.unpaired_differences(_small(), "a", "b", "m")
    want = sorted(x - y for x in (2.0, 4.0, 3.5, 10.0) for y in (1.0, 2.0, 3.0))
    assert sorted(u.tolist()) == want
    row = compare.differences(_small(), ["m"], "a").iloc[0]
    # -1, 0, 0.5, 1, 1, 1.5, 2, 2.5, 3, 7, 8, 9: the median (Hodges-Lehmann) is (1.5 + 2) / 2
    assert row["unpaired_median"] == pytest.approx(1.75)
    assert row["unpaired_low"] == pytest.approx(np.quantile(want, 0.05))


def test_missing_values_are_left_out_of_both_differences():
    t = _small()
    t.loc[(t[SCENARIO] == "b") & (t["seed"] == 2), "m"] = np.nan
    assert sorted(compare.paired_differences(t, "a", "b", "m").tolist()) == [0.5, 1.0]
    assert len(compare.unpaired_differences(t, "a", "b", "m")) == 3 * 3


def test_spread_is_median_and_90_percent_interval():
    t = pd.DataFrame({SCENARIO: ["a"] * 21, "m": np.arange(21.0)})
    row = compare.spread(t, ["m"]).iloc[0]
    assert (row["median"], row["low"], row["high"], row["n"]) == (10.0, 1.0, 19.0, 21)


def _synthetic(shift: float, reps: int = 400, seed: int = 0) -> pd.DataFrame:
    """Common random numbers: each seed has a large shared level, each scenario small noise."""
    rng = np.random.default_rng(seed)
    level = rng.normal(0.3, 0.05, reps)
    rows = []
    for sc, d in (("baseline", 0.0), ("policy", shift)):
        rows.append(pd.DataFrame({SCENARIO: sc, "seed": np.arange(reps),
                                  "m": level + d + rng.normal(0, 0.005, reps)}))
    return pd.concat(rows, ignore_index=True)


def test_intervals_contain_a_known_difference_and_pairing_tightens_them():
    t = _synthetic(0.02)
    row = compare.differences(t, ["m"], "baseline").iloc[0]
    assert row["paired_low"] < 0.02 < row["paired_high"]
    assert row["paired_mean_low"] < 0.02 < row["paired_mean_high"]
    assert row["unpaired_low"] < 0.02 < row["unpaired_high"]
    # the shared level cancels in paired differences only
    assert (row["paired_high"] - row["paired_low"]) < (row["unpaired_high"] - row["unpaired_low"]) / 5
    assert not row["spans_zero"] and "higher than baseline" in row["verdict"]
    # the unpaired interval spans zero: without pairing the effect is lost in the noise
    assert row["unpaired_low"] < 0 < row["unpaired_high"]


def test_no_effect_gets_the_plain_words_verdict():
    row = compare.differences(_synthetic(0.0), ["m"], "baseline").iloc[0]
    assert row["spans_zero"] and "no clear difference" in row["verdict"] and "spans zero" in row["verdict"]


def test_equal_in_every_replication_is_said_so():
    t = _synthetic(0.0)
    t.loc[t[SCENARIO] == "policy", "m"] = t.loc[t[SCENARIO] == "baseline", "m"].to_numpy()
    row = compare.differences(t, ["m"], "baseline").iloc[0]
    assert row["spans_zero"] and "equal in all 400 paired replications" in row["verdict"]


def test_fewer_than_the_minimum_of_pairs_get_no_verdict():
    one = compare.differences(_synthetic(0.02, reps=1), ["m"], "baseline").iloc[0]
    assert one["too_few"] and "too few replications for a verdict (n=1)" in one["verdict"]
    assert "lower" not in one["verdict"] and "higher" not in one["verdict"]
    enough = compare.differences(_synthetic(0.02, reps=compare.MIN_PAIRED), ["m"], "baseline").iloc[0]
    assert not enough["too_few"] and "higher than baseline" in enough["verdict"]
    assert f"median of {compare.MIN_PAIRED} paired replications" in enough["verdict"]


def test_an_interval_ending_at_zero_is_no_clear_difference_and_said_so():
    t = pd.DataFrame({SCENARIO: ["a"] * 6 + ["b"] * 6, "seed": list(range(6)) * 2,
                      "m": [1.0] * 6 + [1.0, 1.0, 1.0, 1.0, 1.0, 1.5]})
    row = compare.differences(t, ["m"], "a").iloc[0]
    assert row["paired_low"] == 0 and row["paired_high"] > 0
    assert row["spans_zero"] and "no clear difference" in row["verdict"]
    assert "reaches zero at one end" in row["verdict"] and "spans zero" not in row["verdict"]


def test_counts_are_worded_in_the_singular_and_plural():
    assert compare.plural(1, "replication") == "1 replication"
    assert compare.plural(4, "scenario") == "4 scenarios"


def test_unknown_baseline_is_refused():
    with pytest.raises(ValueError, match="no scenario 'nope'; scenarios: baseline, policy"):
        compare.differences(_synthetic(0.0), ["m"], "nope")


# ---------------------------------------------------------------- scenarios

def _runs_of(experiments, keys=None, reps=3):
    keys = keys or {}
    rows = []
    for job, exp in enumerate(experiments):
        for r in range(reps):
            row = {"job": job, "replication": r, "seed": 100 + r, "experiment": exp, "replications": reps}
            row.update({k: v[job] for k, v in keys.items()})
            row["m"] = float(job + r)
            rows.append(row)
    runs = pd.DataFrame(rows)
    yearly = runs.drop(columns="m").assign(year=2025, students=1.0)
    return runs, yearly


def test_a_scenario_is_the_experiment_and_the_swept_values():
    runs, yearly = _runs_of(["baseline", "more_scholarships"])
    assert compare.scenarios(compare.add_scenarios(runs, yearly)[0]) == ["baseline", "more_scholarships"]
    runs, yearly = _runs_of(["baseline"] * 3, {"policy.returnee_premium": [0.0, 0.15, 0.3]})
    labelled, ylab = compare.add_scenarios(runs, yearly)
    assert compare.scenarios(labelled) == ["policy.returnee_premium=0", "policy.returnee_premium=0.15",
                                           "policy.returnee_premium=0.3"]
    assert ylab[SCENARIO].tolist() == labelled[SCENARIO].tolist()
    assert compare.numeric_parameter(labelled, compare.key_columns(yearly, runs)) == "policy.returnee_premium"
    runs, yearly = _runs_of(["baseline", "more_scholarships"], {"scale": [0.1, 0.1], "origin": ["japan", "lmic"]})
    assert compare.scenarios(compare.add_scenarios(runs, yearly)[0]) == ["baseline, origin=japan",
                                                                        "more_scholarships, origin=lmic"]


# ---------------------------------------------------------------- Kaplan-Meier

def test_kaplan_meier_matches_scipy_on_a_life_table():
    from scipy import stats

    returned = np.array([3, 0, 2, 1, 0])
    censored = np.array([1, 2, 0, 1, 2])
    survival, at_risk = compare.kaplan_meier(returned, censored)
    assert at_risk.tolist() == [12, 8, 6, 4, 2]
    # by hand: (1 - 3/12), then (1 - 2/6), then (1 - 1/4)
    assert survival.tolist() == pytest.approx([0.75, 0.75, 0.5, 0.375, 0.375])
    times = np.arange(5)
    data = stats.CensoredData(uncensored=np.repeat(times, returned), right=np.repeat(times, censored))
    ref = stats.ecdf(data).sf.evaluate(times)
    assert survival == pytest.approx(ref)


def test_life_table_of_return_after_training():
    from sim.population import NO_YEAR as nope

    done = np.array([1, 1, 2, 3, 3])
    first = np.array([1, 4, nope, nope, 2])    # the last one came back before finishing, then left again
    last = np.array([1, 4, nope, nope, 6])
    exit_ = np.array([nope, nope, 5, nope, nope])
    t = metrics.return_life_table(done, first, last, exit_, horizon=8)
    assert t["returned"] == [1, 0, 0, 2, 0, 0, 0, 0]   # durations 0 (same year), 3 and 3 (6 - 3)
    assert t["censored"] == [0, 0, 0, 1, 0, 1, 0, 0]   # 5 - 2 at exit, 8 - 3 at the horizon
    assert sum(t["returned"]) + sum(t["censored"]) == 5


def test_summary_has_the_pathway_and_a_life_table(small_run):
    _, s, _, _ = small_run
    parts = [s[f"pathway_{p}_share"] for p in ("returned_public", "returned_private", "returned_academic",
                                                "abroad", "other")]
    assert sum(parts) == pytest.approx(1.0)
    assert s["pathway_abroad_share_n"] == round(s["went_abroad_share"] * s["graduates_total"])
    # the funnel narrows: applicants >= matched >= went abroad (visas are refused to some matched)
    assert s["applicant_share"] >= s["matched_share"] >= s["went_abroad_share"] > 0
    table = s["return_life_table"]
    assert len(table["returned"]) == len(table["censored"]) == 20
    assert sum(table["returned"]) > 0 and sum(table["censored"]) > 0
    # those who returned within 10 years of finishing, over the finishers followed for 10 years
    assert sum(table["returned"][:11]) >= round(s["return_share_10y"] * s["return_share_10y_n"])
    assert all(metrics.is_metric_name(f"return_life_table.{k}[{d}]") for k in ("returned", "censored")
               for d in range(20))
    assert not metrics.is_metric_name("return_life_table.arrived[0]")


# ---------------------------------------------------------------- a real sweep, its figures and its report

@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A small sweep of two experiments, as a user runs it (the default sweep folders)."""
    cwd = tmp_path_factory.mktemp("work")
    cmd = [sys.executable, "-m", "sim", "-m", "experiment=baseline,return_incentives", "replications=4",
           "scale=0.02", "years=16", "jobs=1"]
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (root,) = (cwd / "results" / "multiruns").iterdir()
    return root


@pytest.fixture(scope="module")
def tables(sweep):
    from sim.outputs import read_runs, read_yearly

    return read_runs(sweep), read_yearly(sweep)


def _check_figure(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())[..., :3]
    assert (pixels < 250).any(axis=-1).mean() > 0.02, "figure is blank"
    drawn = [a for a in fig.axes if a.get_visible()]
    assert drawn
    for a in drawn:
        assert a.get_xlabel() and a.get_ylabel(), a.get_title()
        assert a.has_data()
    titles = " ".join([fig._suptitle.get_text() if fig._suptitle else ""] + [a.get_title() for a in drawn])
    return titles


def test_every_figure_is_drawn_with_labelled_axes_and_names_scenarios(tables):
    runs, yearly = tables
    for fig in (plots.plot_yearly(yearly), plots.plot_metrics(runs), plots.plot_differences(runs),
                plots.plot_pathway(runs), plots.plot_return_curve(runs)):
        titles = _check_figure(fig)
        texts = titles + " ".join(t.get_text() for a in fig.axes for t in a.get_yticklabels())
        texts += " ".join(t.get_text() for a in fig.axes if a.get_legend() for t in a.get_legend().get_texts())
        for sc in ("baseline", "return_incentives"):
            assert sc in texts
        assert "n=4" in texts


def test_figures_draw_into_a_given_ax(tables):
    from matplotlib.figure import Figure

    runs, yearly = tables
    fig = Figure(figsize=(12, 8))
    axes = fig.subplots(2, 3).ravel()
    assert plots.plot_yearly(yearly, ["training_abroad"], ax=axes[0]) is fig
    assert plots.plot_metrics(runs, ["went_abroad_share"], ax=axes[1]) is fig
    assert plots.plot_differences(runs, "baseline", ["return_share_5y"], ax=axes[2]) is fig
    assert plots.plot_pathway(runs, ax=axes[3]) is fig
    assert plots.plot_return_curve(runs, ax=axes[4]) is fig
    runs2 = runs.assign(**{"policy.returnee_premium": runs["job"] * 0.1})
    assert plots.plot_response(runs2, "policy.returnee_premium", ["went_abroad_share"], ax=axes[5]) is fig
    _check_figure(fig)
    with pytest.raises(ValueError, match="one metric"):
        plots.plot_metrics(runs, ["went_abroad_share", "match_rate"], ax=axes[1])


def test_response_curve_against_a_numeric_parameter():
    rng = np.random.default_rng(1)
    x = np.repeat([0.0, 0.1, 0.2, 0.3], 30)
    runs = pd.DataFrame({"replication": np.tile(np.arange(30), 4), "seed": np.tile(np.arange(30), 4),
                         "experiment": "baseline", "policy.returnee_premium": x,
                         "return_share_10y": 0.3 + x + rng.normal(0, 0.01, len(x))})
    fig = plots.plot_response(runs, "policy.returnee_premium", ["return_share_10y"])
    _check_figure(fig)
    line = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 4][0]
    assert np.all(np.diff(line.get_ydata()) > 0)   # the median rises with the premium
    with pytest.raises(KeyError):
        plots.plot_response(runs, "policy.nope")


def test_importing_the_plots_leaves_the_backend_alone():
    code = ("import matplotlib; matplotlib.use('svg'); import sim.plots, sim.report; "
            "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend(); "
            "import sys; assert 'matplotlib.pyplot' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_the_run_folder_plot_still_writes_a_png(tmp_path, small_run):
    _, _, ts, _ = small_run
    plots.plot_stocks(ts, tmp_path / "stocks.png", "a title", 0.05)
    assert (tmp_path / "stocks.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _report(args, cwd):
    return subprocess.run([sys.executable, "-m", "sim.report", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_report_of_a_sweep_is_self_contained_and_names_every_scenario(sweep, tmp_path):
    done = _report([sweep, "--figures", tmp_path / "figs"], ROOT)
    assert done.returncode == 0, done.stderr
    page = (sweep / "report.html").read_text()
    assert "baseline" in page and "return_incentives" in page
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.I)
    assert links and all(u.startswith("data:image/png;base64,") for u in links), links[:3]
    assert "http" not in page.replace("data:", "")
    assert len(links) >= 5   # stocks and flows, metrics, differences, pathway, return curve
    diffs = pd.read_csv(sweep / "report_differences.csv")
    assert set(diffs[SCENARIO]) == {"return_incentives"} and set(diffs["baseline"]) == {"baseline"}
    assert (diffs["paired_low"] <= diffs["paired_median"]).all()
    summary = pd.read_csv(sweep / "report_metrics.csv")
    assert set(summary[SCENARIO]) == {"baseline", "return_incentives"} and (summary["n"] <= 4).all()
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == [
        "differences.png", "metrics.png", "pathway.png", "return_curve.png", "yearly.png"]
    # the report's files are the sweep's own: a rerun of the sweep into it is not refused
    from sim.outputs import foreign_entries

    assert foreign_entries(sweep, sweep=True) == []


def test_report_of_a_single_run_folder(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim", "scale=0.02", "years=12", f"hydra.run.dir={tmp_path / 'run'}"],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    assert report.main([str(tmp_path / "run")]) == 0
    page = (tmp_path / "run" / "report.html").read_text()
    assert "Career pathway" in page and "Return after training abroad" in page and "Subgroups" in page
    assert not (tmp_path / "run" / "report_differences.csv").exists()   # one scenario: nothing to compare
    from sim.outputs import require_complete

    require_complete(tmp_path / "run")   # the run itself is untouched


def test_bad_input_gets_one_line_and_writes_nothing(sweep, tmp_path, capsys):
    cases = [
        ([tmp_path / "missing"], "no such folder"),
        ([tmp_path], "no runs here"),
        ([sweep, "--baseline", "nope"], "--baseline: no scenario 'nope'; scenarios here: baseline, return_incentives"),
        ([sweep, "--metrics", "went_abroad_shar"], "--metrics: 'went_abroad_shar' is not a column"),
        ([sweep, "--parameter", "experiment"], "--parameter: 'experiment' is not a numeric key"),
        ([sweep, sweep], "--out: required with several folders"),
    ]
    before = sorted(p.name for p in sweep.iterdir())
    for args, message in cases:
        assert report.main([str(a) for a in args]) == 2, args
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], lines
    # as a user types it: the exit code, one line, no traceback
    done = _report([tmp_path / "missing"], ROOT)
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []
    assert sorted(p.name for p in sweep.iterdir()) == before


def test_several_folders_make_one_report(sweep, tmp_path):
    assert report.main([str(sweep / "0"), str(sweep / "1"), "--out", str(tmp_path / "both")]) == 0
    diffs = pd.read_csv(tmp_path / "both" / "report_differences.csv")
    assert set(diffs[SCENARIO]) == {"return_incentives"}


def test_the_tutorial_notebook_runs(tmp_path):
    """docs/tutorial.ipynb runs top to bottom and draws its figures."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "docs" / "tutorial.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 6   # differences, metrics, yearly, pathway, return curve, two panels
    text = "".join(o.get("text", "") for o in outputs)
    assert "more_scholarships is higher than baseline" in text   # funded electives: more electives
    assert "report.html" in text


def test_a_new_result_in_a_run_folder_removes_the_report_of_the_old_one(tmp_path):
    from sim import outputs

    def commit():
        writer = outputs.RunWriter(tmp_path)
        for name in outputs.RUN_FILES:
            writer.text(name, "x")
        writer.commit()

    commit()
    for name in outputs.REPORT_FILES:
        (tmp_path / name).write_text("an earlier report")
    assert outputs.foreign_entries(tmp_path) == []   # the report is the folder's own, not a stranger's file
    commit()
    assert not any((tmp_path / name).exists() for name in outputs.REPORT_FILES)
    outputs.require_complete(tmp_path)


def test_out_refuses_a_folder_holding_other_files_and_writes_nothing(sweep, tmp_path, capsys):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "report.html").write_text("my own page")
    (mine / "notes.txt").write_text("my notes")
    before = sorted(p.name for p in (ROOT / "configs").iterdir())
    for out in (mine, ROOT / "configs", ROOT / "sim"):
        assert report.main([str(sweep), "--out", str(out)]) == 2, out
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: --out: {out} holds files that are not"), lines
    assert (mine / "report.html").read_text() == "my own page"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "report.html"]
    assert sorted(p.name for p in (ROOT / "configs").iterdir()) == before
    assert not [p for p in (ROOT / "sim").iterdir() if p.name in report.REPORT_FILES]
    # a folder holding only an earlier report is the report's own: it is replaced
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / "report.html").write_text("an earlier report")
    assert report.main([str(sweep), "--out", str(earlier)]) == 0
    assert "an earlier report" not in (earlier / "report.html").read_text()


def test_figures_folder_refuses_other_files_and_replaces_only_its_own(sweep, tmp_path, capsys):
    mine = tmp_path / "pictures"
    mine.mkdir()
    (mine / "holiday.png").write_bytes(b"my photo")
    (mine / "pathway.png").write_bytes(b"my own pathway drawing")
    out = tmp_path / "out"
    assert report.main([str(sweep), "--out", str(out), "--figures", str(mine)]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"error: --figures: {mine} holds files that are not a report's figures (holiday.png)")
    assert (mine / "pathway.png").read_bytes() == b"my own pathway drawing" and not out.exists()
    # a folder with only a report's figures (as docs/figures) is rewritten
    (mine / "holiday.png").unlink()
    assert report.main([str(sweep), "--out", str(out), "--figures", str(mine)]) == 0
    assert (mine / "pathway.png").read_bytes().startswith(b"\x89PNG")


def test_folders_whose_runs_differ_in_years_or_scale_are_not_compared(sweep, tmp_path, capsys):
    import json

    other = tmp_path / "other"
    other.mkdir()
    runs = pd.read_parquet(sweep / "0" / "runs.parquet").assign(years=5)
    runs.to_parquet(other / "runs.parquet")
    (other / "sweep.json").write_text("{}")
    assert report.main([str(sweep), str(other), "--out", str(tmp_path / "both")]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("error: the folders differ in years") and f"{sweep}: years=16" in line
    assert f"{other}: years=5" in line
    assert not (tmp_path / "both").exists()
    # settings not set on the command line are read from each run's run.json
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, scale in ((a, 0.02), (b, 1.0)):
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps({"years": 35, "scale": scale}))
    plain = pd.DataFrame({"seed": [1]})
    with pytest.raises(report.ReportError, match=f"differ in scale .{a}: scale=0.02; {b}: scale=1."):
        report.check_same_settings([(a, plain), (b, plain)])
    report.check_same_settings([(a, plain), (a, plain)])
    (b / "run.json").write_text(json.dumps({"years": 5, "scale": 1.0}))
    with pytest.raises(report.ReportError, match=f"differ in years and scale .{a}: years=35, scale=0.02; "
                                                 f"{b}: years=5, scale=1."):
        report.check_same_settings([(a, plain), (b, plain)])


def _drawn(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def test_pathway_splits_add_up_and_every_swatch_differs(tables):
    runs, _ = tables
    table = compare.pathway(compare.add_scenarios(runs)[0])
    for sc, t in table.groupby(SCENARIO):
        by_type = t.loc[t["stage"] == "elective by type", "per_1000"].sum()
        by_place = t.loc[t["stage"] == "elective by place", "per_1000"].sum()
        assert by_type == pytest.approx(by_place) and by_type > 0, sc
    for keep in (["baseline"], ["baseline", "return_incentives"]):
        fig = plots.plot_pathway(runs[runs["experiment"].isin(keep)])
        renderer = _drawn(fig)
        for a in fig.axes:
            handles = a.get_legend().legend_handles
            swatches = [(tuple(h.get_facecolor()), h.get_hatch()) for h in handles if hasattr(h, "get_hatch")]
            assert len(set(swatches)) == len(swatches), swatches
            legend = a.get_legend().get_window_extent(renderer)
            # the legend sits below the panel's x label, clear of the bars
            assert legend.y1 <= a.xaxis.label.get_window_extent(renderer).y0
            assert legend.y1 <= a.get_window_extent(renderer).y0
            assert legend.y0 >= 0 and legend.x0 >= 0 and legend.x1 <= fig.bbox.x1


def test_censoring_marks_sit_on_the_return_curve(tables):
    runs, _ = tables
    fig = plots.plot_return_curve(runs)
    ax = fig.axes[0]
    steps = [ln for ln in ax.get_lines() if ln.get_drawstyle().startswith("steps")]
    marks = [ln for ln in ax.get_lines() if ln.get_marker() == "|" and len(ln.get_xdata())]
    assert steps and marks
    end = max(max(ln.get_xdata()) for ln in steps)
    assert all(max(m.get_xdata()) <= end for m in marks)


def test_stocks_y_label_is_inside_the_figure(small_run):
    _, _, ts, _ = small_run
    for most in (300_000, 1_200_000):   # six digits were cut off; a million gets an offset ("1e6")
        fig = plots.plot_stocks(ts.assign(home_practice=ts["home_practice"] * 0 + most), None, "t", 1.0)
        renderer = _drawn(fig)
        for a in fig.axes:
            assert a.yaxis.label.get_window_extent(renderer).x0 >= 0, most


def test_stocks_of_a_one_year_run_show_the_year_without_a_warning(small_run):
    import warnings

    _, _, ts, _ = small_run
    one = ts.iloc[:1]
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # matplotlib warned of identical x limits
        fig = plots.plot_stocks(one, None, "t", 1.0)
    year = float(one["year"].iloc[0])
    for a in fig.axes:
        lo, hi = a.get_xlim()
        assert lo < year < hi
        assert all(ln.get_marker() == "o" for ln in a.get_lines())   # a single point is drawn
