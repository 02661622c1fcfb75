"""The array-based model against the per-agent reference (``benchmarks/reference.py``).

The reference calls the model's own scalar rules per agent, the classic Mesa way, but does
everything around them on its own: yearly exit checks instead of a pre-drawn schedule,
every eligible graduate evaluating the intention rule each year instead of thinned
candidates, explicit network ties, an explicitly drawn world pool ranked against the
applicants, plain sorting for slots and scholarships, its own spin-up. So it checks the
model's orchestration: who is eligible when, in what order, within what capacity, with
what timing. The two use different random numbers, so they are compared as distributions
over seeds, not run by run.

Tolerance. For each compared quantity X (a summary metric, or a stock in a given year),
with ``n`` seeds per implementation::

    |mean(X_model) - mean(X_ref)| <= K * sqrt(sd_model**2 / n + sd_ref**2 / n) + slack(X)

with K = 4 (about a 1-in-1,000 false alarm per quantity for normal means; the comparisons
are strongly correlated, so far fewer than that many independent chances) and a small
slack for quantities that barely vary: 0.002 for shares and rates, 0.5 years for the
Kaplan-Meier median, and 1% of the reference mean plus one person for counts and stocks.
A real difference in orchestration (an off-by-one year, a wrong eligibility, a capacity
applied to the wrong pool) moves these by many standard errors.

Runs are small (scale 0.005, 47 entrants a year) with a shorter career (the oldest
retirement at 62, so a 43-year spin-up) to keep the per-agent reference fast. Default
suite: the baseline and an "abroad-heavy" configuration in which many graduates intend,
go abroad, return and leave again, 6 seeds each, 10 reported years. ``-m slow``: 20 seeds,
more policies (no home-residence rule, a lever from a later year, more electives) and the
``lmic`` and ``romania`` origins, and every stage's stock.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from sim import metrics
from sim.cli import load_config
from sim.model import FLOWS, CareerModel
from sim.population import EXITED, STAGES, STUDENT

ROOT = Path(__file__).resolve().parent.parent


def _load_reference():
    spec = importlib.util.spec_from_file_location("benchmarks_reference", ROOT / "benchmarks" / "reference.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ref = _load_reference()

K = 4.0
SHARE_SLACK = 0.002
YEARS_SLACK = 0.5
COUNT_REL_SLACK = 0.01

SHARES = ("elective_rate_annual", "elective_share_cohort", "elective_share_hic", "elective_share_research",
          "research_engagement_share", "publication_share", "intention_share", "applicant_share",
          "went_abroad_share", "match_rate", "return_share_5y", "returnee_share_public", "returnee_share_private",
          "returnee_share_academic", "knowledge_transfer_index", "home_training_quality_start",
          "home_training_quality_end", "abroad_share_end")
YEARS = ("median_years_abroad",)
COUNTS = ("graduates_total", "initial_population", "departures_total", "returns_total", "forced_returns_total",
          "reemigrations_total", "retirements_total", "deaths_total")

SMALL = ("scale=0.005", "years=12", "params.life.retirement_age_max=62")
ABROAD_HEAVY = ("params.intention.base_annual=0.05", "params.pathway.act_annual=0.5",
                "params.returning.base_annual=0.1", "params.returnees.reemigration_base_annual=0.08",
                "policy.reintegration_support=0.5", "policy.returnee_premium=0.2")


def _graduate_stock(stocks: np.ndarray) -> np.ndarray:
    """People in the model who have graduated: every stage but students and exited."""
    keep = [j for j in range(len(STAGES)) if j not in (STUDENT, EXITED)]
    return stocks[..., keep].sum(axis=-1)


def _runs(overrides: tuple[str, ...], seeds) -> dict:
    """Summary metrics and yearly stocks of both implementations, one row per seed."""
    base = load_config(list(overrides))
    out = {"model": {"summary": [], "stocks": []}, "reference": {"summary": [], "stocks": []}}
    for seed in seeds:
        cfg = dataclasses.replace(base, seed=int(seed))
        m = CareerModel(cfg).run()
        out["model"]["summary"].append(metrics.summary(m))
        out["model"]["stocks"].append(np.vstack([m.initial_stocks, m.stock_records]).astype(float))
        r = ref.ReferenceModel(cfg).run()
        out["reference"]["summary"].append(ref.reference_summary(r))
        out["reference"]["stocks"].append(np.vstack([r.initial_stocks, r.stock_records]).astype(float))
    for side in out.values():
        side["stocks"] = np.stack(side["stocks"])  # seed x year x stage
    return out


def _check(name: str, xm: np.ndarray, xr: np.ndarray, slack: float, failures: list[str]) -> None:
    n_m, n_r = len(xm), len(xr)
    se = math.sqrt(np.var(xm, ddof=1) / n_m + np.var(xr, ddof=1) / n_r)
    diff = float(np.mean(xm) - np.mean(xr))
    tol = K * se + slack
    if not abs(diff) <= tol:
        failures.append(f"{name}: model {np.mean(xm):.6g} vs reference {np.mean(xr):.6g} "
                        f"(diff {diff:+.4g}, pooled se {se:.3g}, tolerance {tol:.3g}, z {diff / se if se else math.inf:+.1f})")


def _compare(runs: dict, stock_columns: dict[str, callable]) -> list[str]:
    failures: list[str] = []
    sm, sr = runs["model"]["summary"], runs["reference"]["summary"]
    for key in SHARES + YEARS + COUNTS:
        xm = np.array([np.nan if s[key] is None else s[key] for s in sm], dtype=float)
        xr = np.array([np.nan if s[key] is None else s[key] for s in sr], dtype=float)
        xm, xr = xm[~np.isnan(xm)], xr[~np.isnan(xr)]
        if len(xm) < 3 or len(xr) < 3:
            continue
        slack = (SHARE_SLACK if key in SHARES else YEARS_SLACK if key in YEARS
                 else 1 + COUNT_REL_SLACK * abs(xr.mean()))
        _check(key, xm, xr, slack, failures)
    # the entrants are fixed by the config: they must agree exactly
    assert [s["entrants_total"] for s in sm] == [s["entrants_total"] for s in sr]
    stm, str_ = runs["model"]["stocks"], runs["reference"]["stocks"]
    for label, pick in stock_columns.items():
        ym, yr = pick(stm), pick(str_)  # seed x year
        for t in range(ym.shape[1]):
            _check(f"{label} stock, year {t} (0: the start)", ym[:, t], yr[:, t],
                   1 + COUNT_REL_SLACK * abs(yr[:, t].mean()), failures)
    return failures


DEFAULT_STOCKS = {"students": lambda s: s[..., STUDENT], "graduates": _graduate_stock}
ALL_STOCKS = {**DEFAULT_STOCKS, **{name: (lambda s, j=j: s[..., j]) for j, name in enumerate(STAGES)}}


# ---------------------------------------------------------------- default suite
@pytest.mark.parametrize("overrides", [(), ABROAD_HEAVY], ids=["baseline", "abroad_heavy"])
def test_model_matches_reference(overrides):
    runs = _runs((*SMALL, "years=10", *overrides), seeds=range(1, 7))
    failures = _compare(runs, DEFAULT_STOCKS)
    assert not failures, "model and per-agent reference disagree:\n" + "\n".join(failures)


def test_reference_conserves_people_and_is_deterministic():
    cfg = load_config([*SMALL, "years=6", "seed=3", *ABROAD_HEAVY])
    a = ref.ReferenceModel(cfg).run()
    b = ref.ReferenceModel(cfg).run()
    assert a.stock_records == b.stock_records
    assert ref.reference_summary(a) == ref.reference_summary(b)
    stocks = np.array(a.stock_records)
    entrants = np.array(a.flow_records)[:, list(FLOWS).index("entrants")]
    assert (stocks.sum(axis=1) == a.initial_size + np.cumsum(entrants)).all()
    assert len(a.people) == a.intake * (a.burn_in + cfg.years)
    assert all(p.stage != EXITED for p in a.agents)  # the exited leave model.agents
    assert (np.array(a.initial_stocks)[:-1] > 0).all()


# ---------------------------------------------------------------- slow: more seeds, more policies
@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    (),
    ABROAD_HEAVY,
    (*ABROAD_HEAVY, "policy.home_return_requirement=false", "policy.training_quality_investment=0.003",
     "policy.start_year=4"),
    ("policy.elective_slots_multiplier=3", "policy.scholarship_budget_multiplier=6",
     "params.intention.base_annual=0.02"),
    ("origin=lmic", "scale=0.01"),
    ("origin=romania", "scale=0.05"),
], ids=["baseline", "abroad_heavy", "no_home_rule_later_levers", "more_electives", "lmic_origin", "romania_origin"])
def test_model_matches_reference_full(overrides):
    runs = _runs((*SMALL, "years=20", *overrides), seeds=range(101, 121))
    failures = _compare(runs, ALL_STOCKS)
    assert not failures, "model and per-agent reference disagree:\n" + "\n".join(failures)
