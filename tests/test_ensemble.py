"""Replications in one job: the seed rule, independence of the number of workers, the tables,
the objective, and memory (finished models are freed)."""

from __future__ import annotations

import dataclasses
import gc
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ensemble, outputs, provenance, tables
from sim.cli import Job, load_config, run_job
from sim.model import CareerModel

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["scale=0.01", "years=6"]
TIMING = list(tables.TIMING_COLUMNS)


def sim(*args, cwd: Path):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_replication_seeds_follow_the_documented_rule():
    seed = 20261122
    assert ensemble.replication_seed(seed, 0) == seed
    seeds = [ensemble.replication_seed(seed, k) for k in range(1, 200)]
    for k, s in enumerate(seeds, 1):
        word = np.random.SeedSequence(seed, spawn_key=(k,)).generate_state(1, np.uint64)[0]
        assert s == int(word) >> 1
        assert 0 <= s <= 2**63 - 1
    assert len(set(seeds)) == len(seeds) and seed not in seeds
    assert ensemble.replication_seed(seed + 1, 1) != ensemble.replication_seed(seed, 1)


def test_results_do_not_depend_on_the_number_of_workers():
    plan = ensemble.Plan(load_config(SMALL), 5)
    alone = ensemble.run_replications(plan, 3, workers=1)
    pooled = ensemble.run_replications(plan, 3, workers=2)
    assert [r.replication for r in pooled] == [0, 1, 2]
    for a, b in zip(alone, pooled):
        assert a.seed == b.seed and a.summary == b.summary
        pd.testing.assert_frame_equal(a.timeseries, b.timeseries)
    assert alone[0].summary != alone[1].summary  # replications differ


def test_replication_k_alone_equals_row_k_of_an_ensemble(tmp_path):
    r = sim(*SMALL, "replications=3", "jobs=2", f"hydra.run.dir={tmp_path / 'ens'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    runs = outputs.read_runs(tmp_path / "ens")
    assert runs["replication"].tolist() == [0, 1, 2]
    assert runs["seed"].tolist() == [20261122, *(ensemble.replication_seed(20261122, k) for k in (1, 2))]
    seed2 = int(runs["seed"].iloc[2])
    r = sim(*SMALL, f"seed={seed2}", f"hydra.run.dir={tmp_path / 'alone'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    alone = outputs.read_runs(tmp_path / "alone")
    same = [c for c in alone.columns if c not in ("replication", *TIMING)]
    pd.testing.assert_series_equal(alone[same].iloc[0], runs[same].iloc[2], check_names=False)
    yearly = outputs.read_yearly(tmp_path / "ens")
    assert len(yearly) == 3 * 6 and list(yearly.columns[:3]) == ["replication", "seed", "experiment"]
    ts = outputs.read_timeseries(tmp_path / "alone")
    ts2 = yearly.loc[yearly["replication"] == 2, list(ts.columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(ts2, ts)
    assert {"scale", "years", "replications"} <= set(yearly.columns) and "jobs" not in yearly.columns
    # replication 0 is the run with the seed itself: the folder's summary.json
    assert outputs.read_summary(tmp_path / "ens")["graduates_total"] == runs["graduates_total"].iloc[0]


def test_sampled_replications_draw_their_own_parameters():
    cfg = load_config([*SMALL, "params.uncertainty=sampled"])
    reps = ensemble.run_replications(ensemble.Plan(cfg, 11), 2, workers=1)
    for r in reps:
        assert r.drawn == provenance.sample(cfg, r.seed)
    assert reps[0].drawn != reps[1].drawn
    runs = tables.runs_frame(reps, "baseline", {})
    key = next(k for k, v in reps[0].drawn.items() if not isinstance(v, list))
    assert runs[key].tolist() == [r.drawn[key] for r in reps]
    assert (runs["parameters_sampled"] == 1).all()


def test_finished_models_are_freed():
    """A finished model sits in reference cycles; without collecting them after each
    replication several stay alive at once (4.7 GB at scale 10)."""
    gc.collect()
    before = {id(o) for o in gc.get_objects() if isinstance(o, CareerModel)}  # other tests' fixtures
    ensemble.run_replications(ensemble.Plan(load_config(SMALL), 1), 4, workers=1)
    alive = [o for o in gc.get_objects() if isinstance(o, CareerModel) and id(o) not in before]
    assert alive == []


def _rep(k: int, summary: dict) -> ensemble.Replication:
    ts = pd.DataFrame({"year": [2001, 2002], "students": [10 + k, 11 + k]})
    return ensemble.Replication(k, 100 + k, summary, ts, {"origin.income_gap": 0.1 * k, "x.probs": [0.5, 0.5]})


def test_tables_are_tidy_and_typed():
    reps = [_rep(0, {"share": None, "share_n": 0, "count": 3, "by_group": {"sex": {"female": {"share": 0.5}}}}),
            _rep(1, {"share": 0.25, "share_n": 4, "count": 5, "by_group": {"sex": {"female": {"share": None}}}})]
    keys = {"policy.returnee_premium": 0.3, "origin": "romania"}
    runs = tables.runs_frame(reps, "baseline", keys)
    assert list(runs.columns[:5]) == ["replication", "seed", "experiment", "policy.returnee_premium", "origin"]
    assert runs["share"].dtype == "float64" and math.isnan(runs["share"].iloc[0])
    assert runs["share_n"].dtype == "int64" and runs["count"].tolist() == [3, 5]
    assert runs["by_group.sex.female.share"].dtype == "float64"
    assert runs["x.probs[1]"].tolist() == [0.5, 0.5]
    assert runs["origin.income_gap"].tolist() == [0.0, 0.1]
    yearly = tables.yearly_frame(reps, "baseline", keys)
    assert len(yearly) == 4 and yearly["year"].tolist() == [2001, 2002, 2001, 2002]  # years as the model gives them
    assert yearly["policy.returnee_premium"].tolist() == [0.3] * 4
    # a column missing from one job is NaN in the sweep's table, rows ordered by job
    both = tables.combine([tables.with_job(runs, 1), tables.with_job(runs.drop(columns=["share"]), 0)])
    assert both["job"].tolist() == [0, 0, 1, 1] and both["share"].isna().tolist() == [True, True, True, False]


def test_metric_names_are_what_the_summary_holds(small_run):
    from sim import metrics

    names = set(tables.flatten(small_run[1]))  # flattened as in runs.parquet
    assert all(metrics.is_metric_name(n) for n in names), [n for n in names if not metrics.is_metric_name(n)]
    assert set(metrics.SUMMARY_METRICS) <= names
    assert not any(map(metrics.is_metric_name, ["went_abroad_shar", "by_group.sex.went_abroad_share",
                                                "by_group.sex.female.match_rate", "by_group..female.intention_share"]))


def test_objective_is_the_mean_over_replications_ignoring_missing_values():
    runs = pd.DataFrame({"a": [0.2, np.nan, 0.4], "b": [np.nan, np.nan, np.nan]})
    assert tables.objective_value(runs, "a") == pytest.approx(0.3)
    assert math.isnan(tables.objective_value(runs, "b"))
    with pytest.raises(KeyError):
        tables.objective_value(runs, "nope")
    from sim.targets import Target

    targets = [Target("a", 0.3, 0.2, 0.4, "x"), Target("b", 0.5, 0.0, 1.0, "x")]
    # (0.2 - 0.3) / 0.1 = -1 -> 1; b missing is left out; row 2: (0.4-0.3)/0.1 = 1 -> 1
    assert tables.objective_value(runs, "targets", targets) == pytest.approx(1.0)


def _job(tmp_path: Path, cfg) -> Job:
    return Job(tmp_path / "run", False, None, None, [], {"experiment": "baseline", "params": "default"}, "", None)


def test_the_task_returns_a_float_for_an_objective(tmp_path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(ROOT / "configs"), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*SMALL, "replications=2", "objective=went_abroad_share"])
        value = run_job(cfg, _job(tmp_path, cfg))
        runs = outputs.read_runs(tmp_path / "run")
        assert isinstance(value, float) and value == pytest.approx(runs["went_abroad_share"].mean())
        assert json.loads((tmp_path / "run" / "job.json").read_text())["objective_value"] == value
        # kept on a rerun: the same value, read back from the folder
        assert run_job(cfg, _job(tmp_path, cfg)) == value
        cfg = compose(config_name="config", overrides=[*SMALL, "objective=targets"])
        assert isinstance(run_job(cfg, _job(tmp_path, cfg)), float)
        # a metric missing (null) in every replication: null in job.json (not NaN, which is not
        # JSON), and the worst value for the sweeper (Optuna stops a whole search on NaN)
        cfg = compose(config_name="config", overrides=["scale=0.02", "years=5", "objective=return_share_10y"])
        assert run_job(cfg, _job(tmp_path / "short", cfg)) == math.inf
        assert json.loads((tmp_path / "short" / "run" / "job.json").read_text())["objective_value"] is None


def test_run_level_keys_are_checked_and_never_reach_the_model():
    from sim.cli import UserError, check_command_line

    cfg = load_config([*SMALL, "replications=3", "jobs=2", "outputs.events=false"])
    assert type(cfg).__name__ == "SimConfig" and not hasattr(cfg, "replications")
    assert dataclasses.fields(cfg) == dataclasses.fields(load_config(SMALL))
    lines = check_command_line([*SMALL, "replications=0", "jobs=-1", "outputs.plots=maybe", "objective=a b"])
    assert [ln.split(":")[0] for ln in lines] == ["outputs.plots", "replications", "jobs", "objective"], lines
    assert "true or false" in lines[0] and "[1, 100000]" in lines[1]
    # every shipped origin has targets; a user's own origin (renamed) has none
    assert check_command_line([*SMALL, "origin=lmic", "objective=targets"]) == []
    assert check_command_line([*SMALL, "origin.name=elsewhere", "objective=targets"])[0].startswith("objective:")
    # an unknown metric is refused before anything runs; known ones (with _n, by_group) pass
    assert check_command_line([*SMALL, "objective=went_abroad_shar"])[0].startswith("objective: 'went_abroad_shar'")
    for known in ("went_abroad_share", "match_rate_n", "by_group.sex.female.return_share_10y",
                  "by_group.section.english.went_abroad_share"):  # groupings that depend on the origin pass
        assert check_command_line([*SMALL, f"objective={known}"]) == [], known
    with pytest.raises(UserError):
        load_config(["replications=abc"])


def test_sweep_root_keeps_an_integer_key_exact_when_some_jobs_leave_it_unset(tmp_path):
    """``-m base_seed=null,5430015622721608711``: joined as float the seed was rounded to
    5430015622721608704; metrics still turn missing values into NaN floats."""
    big = 5430015622721608711
    unset = tables._typed(pd.DataFrame({"replication": [0], "seed": [1], "experiment": ["baseline"],
                                        "base_seed": [None], "match_rate": [None], "graduates_total": [3]}),
                          skip=("experiment",))
    set_ = pd.DataFrame({"replication": [0], "seed": [1], "experiment": ["baseline"], "base_seed": [big],
                         "match_rate": [0.5], "graduates_total": [4]})
    both = tables.combine([tables.with_job(set_, 1), tables.with_job(unset, 0)])
    assert both["base_seed"].isna().tolist() == [True, False]
    assert int(both["base_seed"].iloc[1]) == big
    assert both["match_rate"].dtype == np.float64 and math.isnan(both["match_rate"].iloc[0])
    path = tmp_path / "runs.parquet"
    outputs.write_parquet(path, both)
    assert int(pd.read_parquet(path)["base_seed"].iloc[1]) == big


def test_what_workers_say_reaches_the_parent_once(tmp_path):
    # each worker process says it runs the decision loops uncompiled (as it would say it is
    # compiling them); the parent says it once, instead of every worker on its own stderr
    code = ("from sim import ensemble; from sim.cli import load_config; "
            "reps = ensemble.run_replications(ensemble.Plan(load_config(['scale=0.002', 'years=2']), 3), 4, "
            "workers=2); print(sorted({r.pid for r in reps}))")
    env = {**__import__("os").environ, "NUMBA_DISABLE_JIT": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env=env)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout.strip().splitlines()[-1])) == 2  # two workers ran replications
    said = [line for line in done.stderr.splitlines() if "NUMBA_DISABLE_JIT=1" in line]
    assert len(said) == 1, done.stderr


def test_compile_times_of_workers_are_said_with_their_process(caplog):
    import logging

    reps = [ensemble.Replication(k, k, {}, None, {}, pid=pid, notes=("compiling the loops", f"compiled in 0.{k} s"))
            for k, pid in enumerate((101, 102))]
    said: set[str] = set()
    with caplog.at_level(logging.INFO, logger="sim.kernels"):
        for rep in reps:
            ensemble._say_notes(rep, said)
    assert [r.getMessage() for r in caplog.records] == [
        "compiling the loops", "compiled in 0.0 s (worker process 101)", "compiled in 0.1 s (worker process 102)"]
