"""Sensitivity analysis, calibration machinery, the posterior uncertainty mode and validation.

The design's mapping from the unit interval to prior quantiles, Morris indices of a known
function through the command's own code path, resuming a design, posterior draws, and the
one-line errors of the commands.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim import ensemble, posterior, provenance, sensitivity
from sim.cli import load_config

ROOT = Path(__file__).resolve().parent.parent
TINY = ["scale=0.01", "years=3"]


@pytest.fixture(scope="module")
def cfg():
    return load_config(["scale=0.01", "years=3"])


@pytest.fixture(scope="module")
def facs(cfg):
    return provenance.factors(cfg)


# --- prior -> design ----------------------------------------------------------------------

@pytest.mark.parametrize("prior, dist", [
    ({"dist": "normal", "mean": 0.4, "sd": 0.2}, stats.norm(0.4, 0.2)),
    ({"dist": "beta", "a": 3, "b": 7}, stats.beta(3, 7)),
    ({"dist": "lognormal", "median": 0.05, "gsd": 2.0}, stats.lognorm(np.log(2.0), scale=0.05)),
    ({"dist": "lognormal", "mu": 1.0, "sigma": 0.5}, stats.lognorm(0.5, scale=np.e)),
    ({"dist": "uniform", "low": 2, "high": 6}, stats.uniform(2, 4)),
    ({"dist": "triangular", "low": 1, "mode": 2, "high": 5}, stats.triang(0.25, 1, 4)),
])
def test_quantiles_are_the_priors_inverse_cdf(prior, dist):
    q = np.array([0.005, 0.1, 0.5, 0.9, 0.995])
    got = provenance.quantile(prior, q)[:, 0]
    assert np.allclose(got, dist.ppf(q), rtol=1e-12)
    assert np.all(np.diff(got) > 0)


def test_unit_design_spans_the_central_99_percent():
    assert sensitivity.to_quantile(0.0) == pytest.approx(0.005)
    assert sensitivity.to_quantile(1.0) == pytest.approx(0.995)
    assert sensitivity.to_quantile(0.5) == pytest.approx(0.5)


def test_design_point_values_follow_each_prior(cfg, facs):
    normal = next(f for f in facs if f.prior["dist"] == "normal" and not f.is_list and f.lo is None and f.hi is None)
    beta = next(f for f in facs if f.prior["dist"] == "beta" and not f.is_list)
    lst = next(f for f in facs if f.is_list and not f.prior.get("normalise"))
    unit = np.array([[0.5, 0.5, 1.0], [0.0, 1.0, 0.0]])
    points = sensitivity.point_values(cfg, [normal, beta, lst], unit)
    assert points[0][normal.key] == pytest.approx(normal.prior["mean"])
    assert points[0][beta.key] == pytest.approx(stats.beta.ppf(0.5, beta.prior["a"], beta.prior["b"]))
    assert points[1][normal.key] == pytest.approx(stats.norm.ppf(0.005, normal.prior["mean"], normal.prior["sd"]))
    assert points[1][beta.key] == pytest.approx(stats.beta.ppf(0.995, beta.prior["a"], beta.prior["b"]))
    # every element of a list parameter at the same quantile, inside its valid range
    assert isinstance(points[0][lst.key], list) and len(points[0][lst.key]) == lst.size
    assert all(b >= a for a, b in zip(points[1][lst.key], points[0][lst.key]))
    # the values are a valid configuration
    from sim.config import validate

    assert validate(provenance.apply(cfg, points[1])) == []


def test_factors_are_what_sampled_mode_draws(cfg, facs):
    assert [f.key for f in facs] == list(provenance.sample(cfg, 3))


# --- Morris on a known function, through the command's code path -----------------------------

def test_morris_indices_of_a_known_function():
    prob = sensitivity.problem([_F("a"), _F("b"), _F("c"), _F("d")])
    settings = sensitivity.Settings(method="morris", trajectories=20, levels=4)
    unit = sensitivity.unit_design(settings, prob, seed=5)
    assert unit.shape == (20 * 5, 4)
    # linear in a (slope 3), no effect of b, quadratic in c, interaction of c and d
    y = 3 * unit[:, 0] + 0 * unit[:, 1] + unit[:, 2] ** 2 + 2 * unit[:, 2] * unit[:, 3]
    frame = sensitivity.analyse(settings, prob, unit, y, seed=5).set_index("parameter")
    assert frame.loc["a", "mu_star"] == pytest.approx(3.0)
    assert frame.loc["a", "sigma"] == pytest.approx(0.0, abs=1e-9)
    assert frame.loc["b", "mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert frame.loc["c", "sigma"] > 0.1 and frame.loc["d", "sigma"] > 0.1  # non-linear / interacting
    assert list(frame.index[:1]) == ["a"]


class _F:
    """A stand-in factor for :func:`sensitivity.problem`."""

    def __init__(self, key):
        self.key, self.decision = key, "x"


def test_morris_leaves_out_trajectories_with_a_missing_value():
    prob = sensitivity.problem([_F("a"), _F("b")])
    settings = sensitivity.Settings(method="morris", trajectories=4)
    unit = sensitivity.unit_design(settings, prob, seed=1)
    y = 2 * unit[:, 0]
    y[4] = np.nan  # in the second trajectory (3 points each)
    x, y2, note = sensitivity.complete_points(settings, prob, unit, y, "m")
    assert len(x) == 9 and not np.isnan(y2).any() and "1 of 4 trajectories left out" in note
    sobol = sensitivity.Settings(method="sobol")
    assert sensitivity.complete_points(sobol, prob, unit, y, "m")[0] is None


# --- running a design: resumable, same results for any number of workers ---------------------

def test_evaluate_resumes_and_reuses_finished_points(cfg, facs, tmp_path, monkeypatch):
    unit = np.array([[0.2] * len(facs), [0.8] * len(facs)])
    tasks = [(7, v) for v in sensitivity.point_values(cfg, facs, unit)]
    first = sensitivity.evaluate(cfg, tasks[:1], tmp_path, workers=1, label="t", batch=1)
    calls = []
    real = ensemble.run_replications
    monkeypatch.setattr(ensemble, "run_replications", lambda plan, n, *a, **k: calls.append(n) or real(plan, n, *a, **k))
    both = sensitivity.evaluate(cfg, tasks, tmp_path, workers=1, label="t", batch=1)
    assert calls == [1]  # only the second point ran
    assert both.loc[0, "went_abroad_share"] == first.loc[0, "went_abroad_share"]
    again = sensitivity.evaluate(cfg, tasks, tmp_path, workers=1, label="t", batch=1)
    assert calls == [1]
    pd.testing.assert_frame_equal(both, again)
    # a design point's result is the model run with those values and that seed
    alone = ensemble.run_one(ensemble.Plan(provenance.apply(cfg, tasks[1][1]), 7), 0)
    assert both.loc[1, "graduates_total"] == alone.summary["graduates_total"]
    assert both.loc[1, "went_abroad_share"] == pytest.approx(alone.summary["went_abroad_share"], nan_ok=True)
    # by_group metrics are saved too (a calibration target may be one); they used to be dropped
    key = "by_group.sex.female.went_abroad_share"
    assert both.loc[1, key] == pytest.approx(alone.summary["by_group"]["sex"]["female"]["went_abroad_share"],
                                             nan_ok=True)
    assert both.loc[1, "by_group.sex.female.graduates_total"] == alone.summary["by_group"]["sex"]["female"][
        "graduates_total"]


def test_by_group_outcomes_are_checked_against_the_origin(cfg):
    from sim import metrics

    assert sensitivity.parse(["outcomes=by_group.sex.female.went_abroad_share"]).outcomes == (
        "by_group.sex.female.went_abroad_share",)
    with pytest.raises(sensitivity.SensitivityError, match="outcomes: by_group.sex.female.nope"):
        sensitivity.parse(["outcomes=by_group.sex.female.nope"])
    sensitivity.check_outcomes(("by_group.sex.male.publication_share",), cfg.origin)
    with pytest.raises(sensitivity.SensitivityError, match="section") as err:
        sensitivity.check_outcomes(("by_group.section.domestic.publication_share",), cfg.origin)
    assert len(err.value.lines) == 1
    romania = load_config(["origin=romania", *TINY])
    sensitivity.check_outcomes(("by_group.section.international.publication_share",), romania.origin)
    # the levels the check allows are exactly the ones a summary holds
    summary = ensemble.run_one(ensemble.Plan(romania, 1), 0).summary
    assert {g: tuple(v) for g, v in summary["by_group"].items()} == metrics.group_levels(romania.origin)


@pytest.mark.slow
def test_design_results_do_not_depend_on_workers(cfg, facs, tmp_path):
    unit = np.random.default_rng(0).random((6, len(facs)))
    tasks = [(11, v) for v in sensitivity.point_values(cfg, facs, unit)]
    one = sensitivity.evaluate(cfg, tasks, tmp_path / "one", workers=1, label="t")
    two = sensitivity.evaluate(cfg, tasks, tmp_path / "two", workers=2, label="t")
    pd.testing.assert_frame_equal(one, two)


def run_cmd(module, args, cwd):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_morris_command_with_its_default_folder(tmp_path):
    args = ["method=morris", "trajectories=2", *TINY, "outcomes=went_abroad_share,graduates_total", "jobs=1"]
    r = run_cmd("sim.sensitivity", args, tmp_path)
    assert r.returncode == 0, r.stderr
    (folder,) = (tmp_path / "results" / "sensitivity").iterdir()
    indices = pd.read_csv(folder / "indices.csv")
    assert set(indices["outcome"]) <= {"went_abroad_share", "graduates_total"}
    assert {"mu_star", "mu_star_conf", "sigma"} <= set(indices.columns)
    assert (folder / "morris_mu_star_sigma.png").is_file() and (folder / "ranked.png").is_file()
    # the entry intake's parameters move the number of graduates; rerunning reuses every point
    r2 = run_cmd("sim.sensitivity", args, tmp_path)
    assert r2.returncode == 0 and "runs done" not in r2.stderr, r2.stderr
    pd.testing.assert_frame_equal(indices, pd.read_csv(folder / "indices.csv"))
    # the same design with an outcome no run has (nobody ten years past training in 3 years):
    # the runs are reused, nothing is analysed, exit 2, and the earlier outcomes' figures are gone
    r3 = run_cmd("sim.sensitivity", [*args[:-2], "outcomes=return_share_10y", "jobs=1"], tmp_path)
    assert r3.returncode == 2 and "runs done" not in r3.stderr, r3.stderr
    assert [p.name for p in (tmp_path / "results" / "sensitivity").iterdir()] == [folder.name]
    assert not (folder / "ranked.png").exists() and not (folder / "morris_mu_star_sigma.png").exists()


# --- one-line errors -------------------------------------------------------------------------

def _one_line_each(r, fields):
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert "Traceback" not in r.stderr
    assert len(lines) == len(fields), r.stderr
    for f in fields:
        assert sum(ln.startswith(f"error: {f}") for ln in lines) == 1, r.stderr


def test_sensitivity_bad_input(tmp_path):
    r = run_cmd("sim.sensitivity", ["method=foo", "trajectories=x", "samples=3", "outcomes=nope"], tmp_path)
    _one_line_each(r, ["method", "trajectories", "samples", "outcomes"])
    r = run_cmd("sim.sensitivity", ["origin=mars"], tmp_path)
    _one_line_each(r, ["origin"])
    assert not any(tmp_path.iterdir())


def test_sensitivity_refuses_a_folder_that_is_not_its_own(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    r = run_cmd("sim.sensitivity", ["out=mine", *TINY], tmp_path)
    _one_line_each(r, ["out"])
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]


def test_calibrate_bad_input(tmp_path):
    r = run_cmd("sim.calibrate", ["population=1", "ship=maybe", "parameters=params.nope"], tmp_path)
    _one_line_each(r, ["population", "ship"])
    r = run_cmd("sim.calibrate", ["origin=lmic", "parameters=params.nope"], tmp_path)
    _one_line_each(r, ["parameters"])
    twice = "parameters=params.research.base_hazard,params.research.base_hazard"
    r = run_cmd("sim.calibrate", ["origin=romania", twice, *TINY], tmp_path)
    _one_line_each(r, ["parameters"])  # it used to run every generation, then crash
    assert "given twice" in r.stderr and not (tmp_path / "results").exists()
    r = run_cmd("sim.calibrate", ["bogus=1", "objective=match_rate", *TINY], tmp_path)
    _one_line_each(r, ["objective"])
    r = run_cmd("sim.calibrate", ["bogus=1", *TINY], tmp_path)
    _one_line_each(r, ["bogus"])
    assert "population" in r.stderr and "objective" not in r.stderr  # this command's keys, not python -m sim's


def test_calibrate_refuses_a_screen_of_another_origin(tmp_path, monkeypatch):
    from sim import calibrate

    screen = tmp_path / "screen"
    screen.mkdir()
    (screen / "design.json").write_text(json.dumps({"spec": {"origin": "japan", "method": "morris"}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sensitivity.SensitivityError) as err:
        calibrate.run(["origin=romania", f"sensitivity={screen}", *TINY])
    assert len(err.value.lines) == 1 and "screen of origin 'japan', not 'romania'" in err.value.lines[0]
    assert not (tmp_path / "results").exists()


def test_calibrate_refuses_an_origin_without_targets(tmp_path, monkeypatch):
    from sim import calibrate, targets

    monkeypatch.setattr(targets, "TARGETS_DIR", tmp_path)  # an origin nobody wrote targets for
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sensitivity.SensitivityError) as err:
        calibrate.run(["origin=lmic", "parameters=params.elective.apply_base", *TINY])
    assert len(err.value.lines) == 1 and err.value.lines[0].startswith("origin:")
    assert not (tmp_path / "results").exists()


def test_posterior_mode_without_a_posterior_is_one_line(tmp_path):
    # every shipped origin has a posterior; a user's own origin (renamed) has none
    r = run_cmd("sim", ["origin.name=elsewhere", "params.uncertainty=posterior", *TINY, "hydra.run.dir=out"],
                tmp_path)
    _one_line_each(r, ["params.uncertainty"])
    assert "'elsewhere'" in r.stderr and not (tmp_path / "out").exists()


# --- posterior draws ----------------------------------------------------------------------------

def test_posterior_draws_are_seeded_and_weighted(cfg, facs, tmp_path):
    scalar = [f for f in facs if not f.is_list and not f.integer][:2]
    values = pd.DataFrame({scalar[0].key: [0.1, 0.2, 0.3], scalar[1].key: [1.0, 2.0, 3.0]})
    posterior.write(cfg.origin.name, values, np.array([0.0, 1.0, 4.0]), {"command": "test"}, directory=tmp_path)
    names, _, weights, meta = posterior.load(cfg.origin.name, tmp_path)
    assert names == [scalar[0].key, scalar[1].key] and np.allclose(weights, [0, 0.2, 0.8])
    assert meta["command"] == "test"
    draws = [posterior.draw(cfg, ensemble.replication_seed(3, k), tmp_path) for k in range(400)]
    picked = [d[scalar[1].key] for d in draws]
    assert 1.0 not in picked  # weight 0: never drawn
    assert 0.72 < picked.count(3.0) / len(picked) < 0.88
    assert all(d[scalar[0].key] == {2.0: 0.2, 3.0: 0.3}[d[scalar[1].key]] for d in draws)  # rows kept whole
    assert draws[:20] == [posterior.draw(cfg, ensemble.replication_seed(3, k), tmp_path) for k in range(20)]
    # a parameter the run sets away from its central value is a scenario choice: not drawn
    moved = provenance.apply(cfg, {scalar[1].key: 99.0})
    assert scalar[1].key not in posterior.draw(moved, 5, tmp_path)


def test_posterior_mode_runs_replications_from_the_shipped_posterior():
    if not posterior.posterior_path("japan").is_file():
        pytest.skip("no shipped posterior for japan")
    cfg = load_config(["params.uncertainty=posterior", *TINY])
    names = posterior.load("japan")[0]
    reps = ensemble.run_replications(ensemble.Plan(cfg, cfg.seed), 3, 1)
    assert all(set(r.drawn) == set(names) for r in reps)
    assert reps[1].drawn == posterior.draw(cfg, reps[1].seed)
    assert reps[0].summary["parameters_sampled"] == 1


def test_a_posterior_runs_files_say_where_its_values_come_from(tmp_path):
    """config.yaml's values are the central ones and parameters.json's are posterior draws: both
    say so (parameters.json used to say 'drawn from their priors')."""
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "sim", "params.uncertainty=posterior", "replications=2", *TINY,
                        f"hydra.run.dir={out}"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    config = (out / "config.yaml").read_text()
    assert config.startswith("# params.uncertainty=posterior: the values below are the central values")
    assert "calibrated posterior" in config.splitlines()[1]
    note = json.loads((out / "parameters.json").read_text())["note"]
    assert "posterior" in note and "priors" not in note


# --- validation table in sync --------------------------------------------------------------------

def test_validation_doc_matches_the_pattern_list():
    from sim import validation as validate

    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    assert f"Generated by `{validate.COMMAND}" in text
    rows = [ln for ln in text.splitlines() if ln.startswith("| ") and not ln.startswith("| pattern")]
    assert [r.split(" | ")[0][2:] for r in rows] == [p.pattern for p in validate.PATTERNS]
    assert len(validate.PATTERNS) >= 6
    keys = text.split("Pattern keys, in order: ")[1]
    assert keys.strip().rstrip(".") == ", ".join(f"`{p.key}`" for p in validate.PATTERNS)
    for p in validate.PATTERNS:
        holds = next(r for r in rows if r.startswith(f"| {p.pattern} |")).rstrip(" |").endswith("yes")
        assert holds == (f"({p.key})" not in text.split("## Where the model misses")[1])


@pytest.mark.slow
def test_calibrate_command_with_its_default_folder(tmp_path):
    shipped = ROOT / "configs" / "posterior" / "japan.parquet"
    before = shipped.read_bytes() if shipped.is_file() else None
    args = ["origin=japan", "parameters=params.elective.apply_base,params.research.base_hazard", "population=10",
            "generations=2", "replications=1", "check=4", "scale=0.01", "years=12", "jobs=1"]
    r = run_cmd("sim.calibrate", args, tmp_path)
    assert r.returncode == 0, r.stderr
    (folder,) = (tmp_path / "results" / "calibration").iterdir()
    names, columns, weights, meta = posterior.load("japan", folder)
    assert names == ["params.elective.apply_base", "params.research.base_hazard"]
    assert len(weights) == 10 and weights.sum() == pytest.approx(1.0)
    assert all(isinstance(v, list) for v in columns[1])  # a list parameter stays a list
    assert meta["command"].startswith("python -m sim.calibrate origin=japan")
    report = __import__("json").loads((folder / "calibration.json").read_text())
    assert [g["t"] for g in report["generations"]] == [0, 1]
    progress = [ln for ln in r.stderr.splitlines() if ln.startswith("calibrate: ")]
    assert progress[0] == ("calibrate: calibrating 2 parameters (given on the command line): "
                           "params.elective.apply_base, params.research.base_hazard")
    assert progress[1].startswith("calibrate: generation 1 of at most 2: epsilon ")
    assert sum("accepted 10 of" in ln for ln in progress) == 2, r.stderr
    check = report["predictive_check"]
    assert progress[-1] == (f"calibrate: predictive check: {round(check['share_meeting_every_target'] * 4)} of 4 "
                            "replications met every target")
    assert report["generations"][1]["epsilon"] <= report["generations"][0]["epsilon"]
    assert report["predictive_check"]["replications"] == 4
    comparison = pd.read_csv(folder / "posterior_vs_prior.csv")
    assert list(comparison["parameter"]) == names
    assert (shipped.read_bytes() if shipped.is_file() else None) == before  # not shipped without ship=true


@pytest.mark.slow
def test_validate_command_writes_its_table(tmp_path):
    r = run_cmd("sim.validation", ["replications=2", "scale=0.01", "out=v.md"], tmp_path)
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "v.md").read_text()
    assert "Generated by `python -m sim.validation replications=2 scale=0.01`" in text
    from sim import validation as validate

    assert all(f"| {p.pattern} |" in text for p in validate.PATTERNS)
