"""Invariants under random configurations (Hypothesis).

Small populations (about 20 to 200 entrants a year), 3 to 25 years, random seeds,
probabilities, multipliers, capacities, network sizes, course lengths and experiments.
For every run drawn:

- every person is in exactly one stage each year: replaying the event log person by
  person, each event starts from the stage the person is in, and the stages at the end of
  each year are the time series' stocks (and the model's arrays at the end);
- stocks are never negative and add up to the initial school plus cumulative entrants;
- every rate and share in the summary (and in each group of ``by_group``) is finite and
  in [0, 1]; every number is finite; counts are non-negative;
- flows agree with the event log; capacities hold (electives accepted <= slots, matches
  <= positions); one time-series row per year.

A second property draws any field of the configuration within the range the validation
allows: what validation accepts, the model must run, with the same invariants.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sim import metrics
from sim.cli import load_config
from sim.config import SimConfig, validate
from sim.model import CareerModel
from sim.population import STAGES

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
INTAKE = 9403  # configs/origin/japan.yaml
NOT_YET = -1   # replay code for people who have not entered


def _num(x: float) -> str:
    return repr(float(x))


@st.composite
def small_configs(draw) -> list[str]:
    """Overrides for a random valid configuration with a small population."""
    entrants = draw(st.integers(20, 200))
    school = draw(st.integers(3, 8))
    weights = draw(st.lists(st.integers(0, 10), min_size=4, max_size=4).filter(lambda w: sum(w) > 0))
    probs = [w / sum(weights) for w in weights]
    probs[-1] = 1 - sum(probs[:-1])
    start = list(range(max(1, school - 3), school + 1))
    prob = st.floats(0, 1)
    ovs = [
        f"experiment={draw(st.sampled_from(EXPERIMENTS))}",
        f"seed={draw(st.integers(0, 2**40))}",
        f"years={draw(st.integers(3, 25))}",
        f"scale={_num(entrants / INTAKE)}",
        f"origin.school_years={school}",
        f"origin.elective_years=[{max(1, school - 1)},{school}]",
        f"params.research.start_years=[{','.join(map(str, start))}]",
        f"params.research.base_hazard=[{','.join(_num(draw(st.floats(0, 0.3))) for _ in start)}]",
        f"origin.female_share={_num(draw(prob))}",
        f"origin.electives.hic_slots={draw(st.integers(0, 3000))}",
        f"params.elective.apply_base={_num(draw(prob))}",
        f"params.intention.base_annual={_num(draw(st.floats(0, 0.3)))}",
        f"params.pathway.act_annual={_num(draw(prob))}",
        f"params.returnees.reemigration_base_annual={_num(draw(st.floats(0, 0.3)))}",
        f"params.life.retirement_age_max={_num(draw(st.floats(62, 80)))}",
        f"policy.start_year={draw(st.integers(1, 3))}",
        f"params.returning.base_annual={_num(draw(prob))}",
        f"params.match.retry_prob={_num(draw(prob))}",
        f"params.life.student_dropout_annual={_num(draw(st.floats(0, 0.2)))}",
        f"destination.exam_pass_prob={_num(draw(prob))}",
        f"destination.visa_denial_prob={_num(draw(prob))}",
        f"destination.img_positions={draw(st.integers(0, 8000))}",
        f"destination.world_pool_applicants={draw(st.integers(0, 20000))}",
        f"destination.training_years_probs=[{','.join(map(_num, probs))}]",
        f"policy.img_positions_multiplier={_num(draw(st.floats(0, 3)))}",
        f"policy.elective_slots_multiplier={_num(draw(st.floats(0, 3)))}",
        f"policy.visa_denial_multiplier={_num(draw(st.floats(0, 5)))}",
        f"policy.home_return_requirement={str(draw(st.booleans())).lower()}",
        f"params.network.peers={draw(st.integers(0, 20))}",
        f"params.network.alumni={draw(st.integers(0, 10))}",
    ]
    return ovs


def _is_share(key: str) -> bool:
    if key.endswith("_n"):  # a share's denominator: a count
        return False
    return ("share" in key or "rate" in key or key.endswith("_index") or key.startswith("home_training_quality")
            or key == "median_years_abroad_censored")


def check_summary(summary: dict, path: str = "") -> None:
    for key, value in summary.items():
        where = f"{path}{key}"
        if isinstance(value, dict):
            check_summary(value, where + ".")
            continue
        if isinstance(value, list):  # the life table of return: counts by whole years
            assert all(isinstance(v, int) and v >= 0 for v in value), (where, value)
            continue
        if value is None:  # a share with an empty denominator, or the median with nobody abroad
            n = summary.get(f"{key}_n", summary.get("median_years_abroad_n") if key.startswith("median") else None)
            assert n == 0, (where, n)
            continue
        assert isinstance(value, (int, float)) and not isinstance(value, bool), where
        assert math.isfinite(value), (where, value)
        assert value >= 0, (where, value)
        if _is_share(key):
            assert 0 <= value <= 1, (where, value)


def check_run(model: CareerModel) -> None:
    cfg = model.cfg
    summary, ts, ev = metrics.summary(model), metrics.timeseries(model), metrics.events(model)
    n = model.pop.n
    # one row per calendar year
    assert list(ts["year"]) == list(range(cfg.start_year, cfg.start_year + cfg.years))
    # stocks: non-negative, adding up to the initial population plus cumulative entrants
    stocks = ts[list(STAGES)].to_numpy()
    assert (stocks >= 0).all()
    np.testing.assert_array_equal(stocks.sum(axis=1), model.initial_size + ts["entrants"].cumsum().to_numpy())
    reported = (model.pop.stage[:n] != STAGES.index("exited")) | (model.pop.exit_year[:n] >= 1)
    assert summary["initial_population"] + summary["entrants_total"] == int(reported.sum())
    assert len(np.unique(model.mobile)) == len(model.mobile)
    # the records beside the mobile list are the people's own fields, row for row
    assert len(model.mobile_fixed) == len(model.mobile)
    for field in model.mobile_fixed.dtype.names:
        np.testing.assert_array_equal(model.mobile_fixed[field], getattr(model.pop, field)[model.mobile], field)
    # every person in exactly one stage each year: replay the event log person by person,
    # from the stages at the start of the first reported year
    code = {s: i for i, s in enumerate(STAGES)}
    stage = np.full(n, NOT_YET, dtype=np.int64)
    stage[: len(model.initial_stage)] = model.initial_stage
    gone_before = (stage == code["exited"])
    stage[gone_before] = NOT_YET  # left during the spin-up: not part of the reported world
    years = ev["year"].to_numpy() - cfg.start_year + 1
    agents = ev["agent_id"].to_numpy()
    frm = ev["from_stage"].cat.codes.to_numpy()  # -1 for entry
    to = ev["to_stage"].cat.codes.to_numpy()
    assert (to >= 0).all() and ((agents >= 0) & (agents < n)).all()
    assert (np.diff(years) >= 0).all() and years.min(initial=1) >= 1 and years.max(initial=1) <= cfg.years
    assert (frm != to).all(), "an event that changes nothing"
    bounds = np.searchsorted(years, np.arange(1, cfg.years + 2))
    for y in range(1, cfg.years + 1):
        for i in range(bounds[y - 1], bounds[y]):
            a = agents[i]
            assert stage[a] == frm[i], f"year {y}: event {i} moves person {a} from a stage they are not in"
            stage[a] = to[i]
        entered = stage[stage != NOT_YET]
        np.testing.assert_array_equal(np.bincount(entered, minlength=len(STAGES)), stocks[y - 1], f"year {y}")
    assert (stage[~gone_before] != NOT_YET).all()
    np.testing.assert_array_equal(stage[~gone_before], model.pop.stage[:n][~gone_before])
    # flows agree with the log
    per_year = lambda mask: np.bincount(years[mask], minlength=cfg.years + 1)[1:]  # noqa: E731
    cause = ev["cause"].astype(str).to_numpy()
    np.testing.assert_array_equal(per_year(cause == "entry"), ts["entrants"].to_numpy())
    np.testing.assert_array_equal(per_year(cause == "graduation"), ts["graduates"].to_numpy())
    np.testing.assert_array_equal(per_year(to == code["training_abroad"]), ts["departures"].to_numpy())
    np.testing.assert_array_equal(per_year(to == code["exited"]), ts["exits"].to_numpy())
    # capacities
    assert (ts["electives_accepted"] <= ts["elective_slots"]).all()
    assert (ts["electives_started"] <= ts["electives_accepted"]).all()
    assert (ts["matches"] <= ts["positions"]).all()
    assert (ts["matches"] <= ts["applications"]).all()
    # summary: finite, non-negative, shares in [0, 1]; returnee sectors add up
    check_summary(summary)
    sectors = [summary[f"returnee_share_{s}"] for s in ("public", "private", "academic")]
    if summary["returnee_share_public_n"] == 0:  # no returnees: no sector mix
        assert sectors == [None, None, None]
    else:
        assert math.isclose(sum(sectors), 1)
    # the life table of return covers everyone who finished training abroad in the horizon, once
    table = summary["return_life_table"]
    assert len(table["returned"]) == len(table["censored"]) == cfg.years
    assert sum(table["returned"]) + sum(table["censored"]) == int((model.pop.training_done_year[:n] >= 1).sum())
    pathway = [summary[f"pathway_{p}_share"] for p in ("returned_public", "returned_private", "returned_academic",
                                                        "abroad", "other")]
    assert pathway == [None] * 5 if summary["pathway_abroad_share_n"] == 0 else math.isclose(sum(pathway), 1)
    assert ts.notna().all().all()


def run(overrides: list[str]) -> CareerModel:
    return CareerModel(load_config(overrides), materialize_agents=False).run()


@settings(max_examples=20, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs())
def test_invariants_hold_for_random_small_configurations(overrides):
    check_run(run(overrides))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_configs())
def test_invariants_hold_for_many_random_small_configurations(overrides):
    check_run(run(overrides))


# ---------------------------------------------------------------- anything validation accepts runs

BASE = load_config(["scale=0.01", "years=3"])
# fields whose allowed maximum is too slow to run many times (arrays drawn every year);
# their range is covered up to these values
CAPS = {"intake_per_year": 100_000, "world_pool_applicants": 50_000, "img_positions": 50_000, "hic_slots": 50_000, "lmic_slots": 50_000,
        "peers": 30, "alumni": 30}


def _field_values(f: dataclasses.Field, current):
    meta = f.metadata or {}
    lo, hi = meta.get("lo"), meta.get("hi")
    t = f.type if isinstance(f.type, str) else f.type.__name__
    if t == "bool":
        return st.booleans()
    if t not in ("int", "float"):
        return None
    hi = CAPS.get(f.name, hi)
    if t == "int":
        lo_i = int(lo) if lo is not None else -1000
        hi_i = int(hi) if hi is not None else 1000
        return st.integers(lo_i, hi_i)
    lo_f = lo if lo is not None else -50.0
    hi_f = hi if hi is not None else 50.0
    edges = [v for v in (lo, hi, current) if v is not None and not (meta.get("lo_open") and v == lo)]
    inner = st.floats(lo_f, hi_f, exclude_min=bool(meta.get("lo_open")), allow_nan=False)
    return st.one_of(st.sampled_from(edges), inner) if edges else inner


def _leaves(obj, prefix=()):
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            yield from _leaves(value, prefix + (f.name,))
        elif f.name not in ("seed", "years", "scale") or prefix:
            yield prefix + (f.name,), f, value


LEAVES = [(path, f, v) for path, f, v in _leaves(BASE) if _field_values(f, v) is not None]


def _replace(obj, path, value):
    if len(path) == 1:
        return dataclasses.replace(obj, **{path[0]: value})
    return dataclasses.replace(obj, **{path[0]: _replace(getattr(obj, path[0]), path[1:], value)})


@st.composite
def any_valid_config(draw) -> SimConfig:
    cfg = dataclasses.replace(BASE, seed=draw(st.integers(0, 2**63 - 1)), years=draw(st.integers(1, 12)),
                              scale=draw(st.sampled_from([0.0001, 0.001, 0.005, 0.01])))
    chosen = draw(st.lists(st.sampled_from(range(len(LEAVES))), min_size=1, max_size=12, unique=True))
    for i in chosen:
        path, f, current = LEAVES[i]
        cfg = _replace(cfg, path, draw(_field_values(f, current)))
    assume(not validate(cfg))
    return cfg


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(any_valid_config())
def test_what_validation_accepts_runs(cfg):
    check_run(CareerModel(cfg, materialize_agents=False).run())


@pytest.mark.slow
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(any_valid_config())
def test_what_validation_accepts_runs_many(cfg):
    check_run(CareerModel(cfg, materialize_agents=False).run())
