"""The array-based model against the per-agent reference (``benchmarks/reference.py``).

The reference implements the same rules as ``sim/model.py`` the classic Mesa way (one
``mesa.Agent`` per person deciding with scalar draws, one ``agents.do`` per phase, the
capacity-limited parts as sorted lists). The two use different random numbers, so they
are compared as distributions over seeds, not run by run.

Tolerance. For each compared quantity X (a summary metric, or a stock in a given year),
with ``n`` seeds per implementation::

    |mean(X_model) - mean(X_ref)| <= K * sqrt(sd_model**2 / n + sd_ref**2 / n) + slack(X)

with K = 4 (about a 1-in-1,000 false alarm per quantity for normal means with n = 10, t
with ~18 degrees of freedom; the comparisons are strongly correlated, so far fewer than
that many independent chances) and a small slack for quantities that barely vary:
0.001 for shares and rates, 0.5 years for the Kaplan-Meier median, and 0.5% of the
reference mean plus one person for counts and stocks. A real rule difference (a wrong
coefficient, an off-by-one year, a threshold applied the wrong way) moves these by many
standard errors.

Default suite: two configurations (the baseline, and an "abroad-heavy" one in which many
graduates go abroad, so that the exam, match, visa, return and sector rules are exercised
with large counts) at scale 0.02 (188 entrants a year) for 20 years, 10 seeds each; about
20-30 s. ``-m slow``: the same at scale 0.05 over 25 years with 24 seeds, plus policy
variants (no home-return rule, quality investment, more slots and scholarships) and the
``lmic`` origin, and every stage's stock; about 6-7 minutes.
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
from sim.app import load_config
from sim.model import CareerModel
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
SHARE_SLACK = 0.001
YEARS_SLACK = 0.5
COUNT_REL_SLACK = 0.005

SHARES = ("elective_rate_annual", "elective_share_cohort", "elective_share_hic", "elective_share_research",
          "elective_oversubscription", "research_engagement_share", "publication_share", "applicant_share",
          "went_abroad_share", "match_rate", "first_attempt_match_share", "eventual_match_share",
          "return_share_5y", "return_share_10y", "returnee_share_public", "returnee_share_private",
          "returnee_share_academic", "knowledge_transfer_index", "home_training_quality_end", "abroad_share_end")
YEARS = ("median_years_abroad",)
COUNTS = ("graduates_total", "departures_total", "returns_total", "forced_returns_total")

ABROAD_HEAVY = ("params.abroad.base_annual=0.05", "params.returning.base_annual=0.1",
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
        out["model"]["stocks"].append(np.asarray(m.stock_records, dtype=float))
        r = ref.ReferenceModel(cfg).run()
        out["reference"]["summary"].append(ref.reference_summary(r))
        out["reference"]["stocks"].append(np.asarray(r.stock_records, dtype=float))
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
        xm = np.array([s[key] for s in sm], dtype=float)
        xr = np.array([s[key] for s in sr], dtype=float)
        slack = (SHARE_SLACK if key in SHARES else YEARS_SLACK if key in YEARS
                 else 1 + COUNT_REL_SLACK * abs(xr.mean()))
        _check(key, xm, xr, slack, failures)
    # the two entrants series are fixed by the config: they must agree exactly
    assert [s["entrants_total"] for s in sm] == [s["entrants_total"] for s in sr]
    assert [s["initial_population"] for s in sm] == [s["initial_population"] for s in sr]
    stm, str_ = runs["model"]["stocks"], runs["reference"]["stocks"]
    for label, pick in stock_columns.items():
        ym, yr = pick(stm), pick(str_)  # seed x year
        for t in range(ym.shape[1]):
            _check(f"{label} stock, year {t + 1}", ym[:, t], yr[:, t], 1 + COUNT_REL_SLACK * abs(yr[:, t].mean()),
                   failures)
    return failures


DEFAULT_STOCKS = {"students": lambda s: s[..., STUDENT], "graduates": _graduate_stock}
ALL_STOCKS = {**DEFAULT_STOCKS, **{name: (lambda s, j=j: s[..., j]) for j, name in enumerate(STAGES)}}


# ---------------------------------------------------------------- default suite
@pytest.mark.parametrize("overrides", [(), ABROAD_HEAVY], ids=["baseline", "abroad_heavy"])
def test_model_matches_reference(overrides):
    runs = _runs(("scale=0.02", "years=20", *overrides), seeds=range(1, 11))
    failures = _compare(runs, DEFAULT_STOCKS)
    assert not failures, "model and per-agent reference disagree:\n" + "\n".join(failures)


def test_reference_conserves_people_and_is_deterministic():
    cfg = load_config(["scale=0.01", "years=12", "seed=3", *ABROAD_HEAVY])
    a = ref.ReferenceModel(cfg).run()
    b = ref.ReferenceModel(cfg).run()
    assert a.stock_records == b.stock_records
    assert ref.reference_summary(a) == ref.reference_summary(b)
    ts = ref.reference_timeseries(a)
    total = ts[list(STAGES)].sum(axis=1)
    assert (total == a.initial_size + ts["entrants"].cumsum()).all()
    assert len(a.people) == a.initial_size + a.intake * cfg.years
    assert len(a.agents) == len(a.people) - a.n_exited  # exited agents leave model.agents
    assert ts["departures"].sum() > 0 and ts["returns"].sum() > 0


# ---------------------------------------------------------------- slow: bigger, more seeds, more policies
@pytest.mark.slow
@pytest.mark.parametrize("overrides", [
    (),
    ABROAD_HEAVY,
    (*ABROAD_HEAVY, "policy.home_return_requirement=false", "policy.training_quality_investment=0.003"),
    ("policy.elective_slots_multiplier=3", "policy.scholarship_budget_usd=6000000", "params.abroad.base_annual=0.02"),
    ("origin=lmic",),
], ids=["baseline", "abroad_heavy", "no_home_return_rule", "more_electives", "lmic_origin"])
def test_model_matches_reference_full(overrides):
    runs = _runs(("scale=0.05", "years=25", *overrides), seeds=range(101, 125))
    failures = _compare(runs, ALL_STOCKS)
    assert not failures, "model and per-agent reference disagree:\n" + "\n".join(failures)
