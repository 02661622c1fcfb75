"""Runs from a base population (``base_seed``): the same base gives the same start, a run
alone equals the same run from a shared base, the base is never changed by the runs that
start from it, and everything after the spin-up is each run's own."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim import ensemble, metrics, outputs, tables
from sim.cli import load_config
from sim.model import BasePopulation, CareerModel, ConfigError
from sim.population import FIELDS
from sim.processes import life

SMALL = ["scale=0.02", "years=8"]
TIMING = list(tables.TIMING_COLUMNS)


def _cfg(*args: str, seed: int = 3, base_seed: int | None = 11):
    return dataclasses.replace(load_config([*SMALL, *args]), seed=seed, base_seed=base_seed)


def _outcome(model: CareerModel) -> tuple[dict, pd.DataFrame]:
    return metrics.summary(model), metrics.timeseries(model)


def _same(a: tuple[dict, pd.DataFrame], b: tuple[dict, pd.DataFrame]) -> None:
    assert a[0] == b[0]
    pd.testing.assert_frame_equal(a[1], b[1])


def _state(model: CareerModel) -> dict:
    pop = model.pop
    state = {name: getattr(pop, name)[: pop.drawn].copy() for name in FIELDS}
    state.update(stocks=model.stocks.copy(), mobile=model.mobile.copy(), quality=model.quality,
                 pending=model.processes["intention"].pending_year[: model.processes["intention"].n_pending].copy())
    return state


def test_a_run_alone_equals_the_same_run_from_a_shared_base_whatever_ran_before():
    base = BasePopulation(_cfg())
    before = _state(base.model)
    shared = []
    for seed in (3, 4, 5):  # each run leaves its arrays to the next (as replications do)
        model = CareerModel(_cfg(seed=seed), base=base).run()
        shared.append(_outcome(model))
        base.recycle(model)
        assert model.pop is None  # a recycled model cannot be read by mistake
    for seed, outcome in zip((3, 4, 5), shared):
        _same(outcome, _outcome(CareerModel(_cfg(seed=seed)).run()))
    after = _state(base.model)
    for key, value in before.items():  # the base is as it was built
        assert np.array_equal(value, after[key]) if isinstance(value, np.ndarray) else value == after[key], key


def test_runs_share_the_start_and_differ_after_it():
    base = BasePopulation(_cfg())
    a, b = (CareerModel(_cfg(seed=seed), base=base) for seed in (3, 4))
    assert np.array_equal(a.initial_stocks, b.initial_stocks) and a.quality_start == b.quality_start
    assert np.array_equal(a.initial_stage, b.initial_stage)
    # the cohorts entering in the reported years are each run's own draws
    later = slice(a.intake * a.burn_in, a.n_people)
    assert not np.array_equal(a.pop.motivation[later], b.pop.motivation[later])
    assert np.array_equal(a.pop.motivation[: a.intake * a.burn_in], b.pop.motivation[: b.intake * b.burn_in])
    sa, sb = metrics.summary(a.run()), metrics.summary(b.run())
    assert sa["initial_population"] == sb["initial_population"]
    assert (sa["departures_total"], sa["went_abroad_share"]) != (sb["departures_total"], sb["went_abroad_share"])
    # another base seed: another starting population
    c = CareerModel(_cfg(seed=3, base_seed=12))
    assert not np.array_equal(a.initial_stage, c.initial_stage)


def test_the_default_run_spins_up_its_own_population():
    own = CareerModel(_cfg(base_seed=None))
    other = CareerModel(_cfg(seed=4, base_seed=None))
    assert not np.array_equal(own.initial_stage, other.initial_stage)
    assert set(own.setup_seconds) == {"draw", "spin_up"}


def test_a_base_serves_only_its_own_configuration():
    base = BasePopulation(_cfg())
    with pytest.raises(ValueError, match="another configuration"):
        CareerModel(_cfg("policy.returnee_premium=0.3"), base=base)
    with pytest.raises(ValueError, match="another configuration"):
        CareerModel(_cfg(base_seed=12), base=base)
    with pytest.raises(ValueError, match="without base_seed"):
        CareerModel(_cfg(base_seed=None), base=base)
    with pytest.raises(ValueError, match="base_seed: not set"):
        BasePopulation(_cfg(base_seed=None))
    with pytest.raises(ConfigError, match=r"base_seed: -1 is out of range; expected an integer in \[0, "):
        BasePopulation(_cfg(base_seed=-1))
    assert base.fits(_cfg(seed=99)) and not base.fits(_cfg(seed=99, base_seed=12))


def test_merged_exit_schedules_equal_one_sort():
    rng = np.random.default_rng(1)
    years = rng.integers(-5, 12, 400).astype(np.int64)
    years[rng.random(400) < 0.2] = 32767  # never, within the years
    causes = rng.integers(0, len(life.EXIT_CAUSES), 400).astype(np.int8)
    whole = life.by_year(years, causes, -4, 10, 0)
    first = life.by_year(years[:150], causes[:150], -4, 10, 0)
    second = life.by_year(years[150:], causes[150:], -4, 10, 150)
    for a, b in zip(life.merged(first, second), whole):
        assert np.array_equal(a, b)


def test_ensemble_replications_share_one_base_and_each_equals_its_run_alone():
    plan = ensemble.Plan(_cfg(), 7)
    alone = ensemble.run_replications(plan, 3, workers=1)
    pooled = ensemble.run_replications(plan, 3, workers=2)
    for a, b in zip(alone, pooled):
        assert a.summary == b.summary
    for r in alone:
        model = CareerModel(dataclasses.replace(plan.cfg, seed=r.seed)).run()
        assert metrics.summary(model) == {k: v for k, v in r.summary.items() if k != "parameters_sampled"}
    assert len({r.summary["initial_population"] for r in alone}) == 1
    assert len({r.summary["departures_total"] for r in alone}) > 1
    assert ensemble._BASE == []  # not kept past the job


def test_sampled_parameters_with_a_base_seed_spin_up_each_replication():
    """Each replication draws its own parameters, so each has its own base population (from
    the same base seed): replication k alone still equals row k."""
    cfg = _cfg("params.uncertainty=sampled")
    reps = ensemble.run_replications(ensemble.Plan(cfg, 5), 2, workers=1)
    assert reps[0].drawn != reps[1].drawn
    assert reps[0].summary["initial_population"] != reps[1].summary["initial_population"]
    from sim import provenance

    for r in reps:
        model = CareerModel(provenance.apply(dataclasses.replace(cfg, seed=r.seed), r.drawn)).run()
        assert metrics.summary(model)["departures_total"] == r.summary["departures_total"]


def test_replication_k_alone_equals_row_k_from_the_command_line(tmp_path):
    def sim(*args):
        r = subprocess.run([sys.executable, "-m", "sim", *SMALL, *args], cwd=tmp_path, capture_output=True,
                           text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r

    sim("replications=3", "jobs=2", "base_seed=5", "hydra.run.dir=ens")
    runs = outputs.read_runs(tmp_path / "ens")
    assert runs["base_seed"].tolist() == [5, 5, 5]
    assert runs["initial_population"].nunique() == 1
    seed2 = int(runs["seed"].iloc[2])
    sim(f"seed={seed2}", "base_seed=5", "hydra.run.dir=alone")
    alone = outputs.read_runs(tmp_path / "alone")
    same = [c for c in alone.columns if c not in ("replication", *TIMING)]
    pd.testing.assert_series_equal(alone[same].iloc[0], runs[same].iloc[2], check_names=False)
    assert json.loads((tmp_path / "alone" / "run.json").read_text())["base_seed"] == 5
    assert json.loads((tmp_path / "ens" / "job.json").read_text())["base_seed"] == 5


@pytest.mark.parametrize("value, line", [
    ("-1", "base_seed: -1 is out of range; expected an integer in [0, 9223372036854775807] or null"),
    ("abc", "base_seed: 'abc' is not an integer"),
    ("true", "base_seed: true is not an integer"),
])
def test_a_bad_base_seed_is_one_line_and_writes_nothing(tmp_path, value, line):
    r = subprocess.run([sys.executable, "-m", "sim", *SMALL, f"base_seed={value}", "hydra.run.dir=out"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2
    assert line in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()


def test_mesa_agents_of_a_run_from_a_base_are_the_people_present():
    from sim.population import EXITED

    model = CareerModel(_cfg(), materialize_agents=True)
    for _ in range(2):
        present = np.flatnonzero(model.pop.stage[: model.pop.n] != EXITED)
        assert sorted(a.pid for a in model.agents) == present.tolist() and len(present) > 0
        model.step()
