"""Scenarios compared: who is a scenario, the spread of each metric across replications, the
difference to a baseline paired by replication seed and unpaired, and the return curve.

Pure functions of the tables ``sim.outputs.read_runs`` and ``read_yearly`` return; the figures
(``sim.plots``) and the report (``sim.report``) are built on them.

**What a scenario is.** The rows of one configuration that differ only by replication seed:
the ``experiment`` together with the values of every key set on the command line that
differs between jobs (``replications`` and ``jobs`` apart). In a sweep
``-m experiment=baseline,more_scholarships`` the scenarios are ``baseline`` and
``more_scholarships``; in ``-m policy.returnee_premium=0,0.15`` they are
``policy.returnee_premium=0`` and ``policy.returnee_premium=0.15`` (the experiment is named
only when it differs too: ``more_scholarships, policy.returnee_premium=0.15``). A sweep over
``seed`` alone is one scenario with more replications.

**Intervals.** A scenario's 90% interval is the 5th to 95th percentile of a metric across
its replications: the range of outcomes one run of the scenario gives. A difference to the
baseline is taken per replication seed (the model draws every decision from counter-based
streams, so two scenarios with the same seed share their chance events: common random
numbers); its 90% interval is the 5th to 95th percentile of those paired differences. The
unpaired difference takes every replication of the scenario against every replication of
the baseline, as if they had been run with independent seeds (point: the median of those
differences, the Hodges-Lehmann estimate). The tables also give the mean paired difference
with its 90% confidence interval (Student's t), how sure we are of the average effect.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

SCENARIO = "scenario"
# fewer paired replications than this give no verdict: with 1-4 the 5th-95th percentiles are
# the extremes of a handful of values, not an interval (an assumption of this report; the
# differences and intervals are still tabled)
MIN_PAIRED = 5
LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)   # 90% and 50% intervals and the median
# columns that identify a row or say how big a run was, never what scenario it is
NOT_SCENARIO = {"job", "replication", "seed", "replications", "source", "jobs"}

# headline metrics: (label, unit) for the axes; the report uses those the runs table holds
HEADLINE = {
    "elective_share_cohort": ("graduates with an international elective", "share of graduates"),
    "intention_share": ("graduates who intended to train abroad", "share of graduates"),
    "applicant_share": ("graduates who applied abroad", "share of graduates"),
    "matched_share": ("graduates matched abroad", "share of graduates"),
    "went_abroad_share": ("graduates who trained abroad", "share of graduates"),
    "match_rate": ("match rate", "matched / applications"),
    "return_share_5y": ("back home within 5 years of training", "share of those who finished"),
    "return_share_10y": ("back home within 10 years of training", "share of those who finished"),
    "median_years_abroad": ("median years abroad (Kaplan-Meier)", "years"),
    "abroad_share_end": ("graduates abroad at the end", "share of graduates in the model"),
    "knowledge_transfer_index": ("returns whose knowledge transfer took hold", "share of returns"),
    "home_training_quality_end": ("home training quality at the end", "index 0-1"),
}


def metric_label(metric: str) -> tuple[str, str]:
    """(label, unit) of a metric for axes and tables (a generic pair for unknown names)."""
    if metric in HEADLINE:
        return HEADLINE[metric]
    unit = "share" if metric.endswith("_share") or "share_" in metric else "value"
    return metric.replace("_", " "), unit


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_columns(yearly: pd.DataFrame | None, runs: pd.DataFrame) -> list[str]:
    """The keys set on the command line: the yearly table's columns between ``experiment``
    and ``year`` (both tables carry them; the runs table also holds metrics after them)."""
    if yearly is not None and "experiment" in yearly.columns and "year" in yearly.columns:
        cols = list(yearly.columns)
        return [c for c in cols[cols.index("experiment") + 1:cols.index("year")] if c in runs.columns]
    return []


def scenario_columns(df: pd.DataFrame, keys: Sequence[str]) -> list[str]:
    """``experiment`` and the keys whose values differ between rows (what tells scenarios
    apart), without the replication bookkeeping (:data:`NOT_SCENARIO`)."""
    cols = [c for c in keys if c not in NOT_SCENARIO and c in df.columns and df[c].nunique(dropna=False) > 1]
    if "experiment" in df.columns and (df["experiment"].nunique(dropna=False) > 1 or not cols):
        cols = ["experiment", *cols]
    return cols


def label_scenarios(df: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One label per row: the experiment's name, then ``key=value`` for the other columns."""
    if not columns:
        return pd.Series(["all"] * len(df), index=df.index, dtype=object)
    parts = []
    for c in columns:
        values = df[c].map(_fmt) if c == "experiment" else c + "=" + df[c].map(_fmt)
        parts.append(values.astype(str))
    label = parts[0]
    for p in parts[1:]:
        label = label + ", " + p
    return label


def add_scenarios(runs: pd.DataFrame, yearly: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Copies of the tables with a ``scenario`` column (see the module's docstring), ordered as
    the scenarios first appear (job order). Tables that already have one are kept as they are."""
    if SCENARIO in runs.columns:
        return runs, yearly
    keys = key_columns(yearly, runs)
    cols = scenario_columns(runs, keys)
    runs = runs.copy()
    runs[SCENARIO] = label_scenarios(runs, cols)
    if yearly is not None:
        yearly = yearly.copy()
        yearly[SCENARIO] = label_scenarios(yearly, cols) if all(c in yearly.columns for c in cols) else \
            _join_scenario(yearly, runs)
    return runs, yearly


def _join_scenario(yearly: pd.DataFrame, runs: pd.DataFrame) -> pd.Series:
    on = [c for c in ("source", "job", "replication") if c in yearly.columns and c in runs.columns]
    return yearly[on].merge(runs[[*on, SCENARIO]], on=on, how="left")[SCENARIO].values


def scenarios(runs: pd.DataFrame) -> list[str]:
    """Scenario labels in order of first appearance."""
    return list(dict.fromkeys(runs[SCENARIO].tolist()))


def headline_metrics(runs: pd.DataFrame, wanted: Iterable[str] | None = None) -> list[str]:
    """The metrics to report: ``wanted`` (each must be a column; raises ``KeyError`` naming the
    first missing one), else the :data:`HEADLINE` metrics the table holds with some value."""
    if wanted:
        wanted = list(wanted)
        for m in wanted:
            if m not in runs.columns:
                raise KeyError(m)
        return wanted
    return [m for m in HEADLINE if m in runs.columns and runs[m].notna().any()]


def spread(runs: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """Per scenario and metric: ``n`` (replications with a value), ``median``, ``low`` and
    ``high`` (5th and 95th percentiles: the 90% interval), ``q25``, ``q75``, ``mean``."""
    rows = []
    for sc, group in runs.groupby(SCENARIO, sort=False):
        for m in metrics:
            v = group[m].to_numpy(dtype=float)
            v = v[~np.isnan(v)]
            q = np.quantile(v, LEVELS) if len(v) else [math.nan] * len(LEVELS)
            rows.append({SCENARIO: sc, "metric": m, "n": len(v), "median": q[2], "low": q[0], "high": q[4],
                         "q25": q[1], "q75": q[3], "mean": float(v.mean()) if len(v) else math.nan})
    return pd.DataFrame(rows)


def paired_differences(runs: pd.DataFrame, baseline: str, scenario: str, metric: str) -> np.ndarray:
    """``scenario - baseline`` of ``metric`` for each replication seed both have (with a
    value in both), in the scenario's row order."""
    a = runs.loc[runs[SCENARIO] == scenario, ["seed", metric]].drop_duplicates("seed")
    b = runs.loc[runs[SCENARIO] == baseline, ["seed", metric]].drop_duplicates("seed")
    both = a.merge(b, on="seed", suffixes=("", "_base"))
    d = both[metric].to_numpy(float) - both[f"{metric}_base"].to_numpy(float)
    return d[~np.isnan(d)]


def unpaired_differences(runs: pd.DataFrame, baseline: str, scenario: str, metric: str,
                         limit: int = 1_000_000) -> np.ndarray:
    """``x - y`` for every replication ``x`` of the scenario and ``y`` of the baseline (values
    present in both). Beyond ``limit`` pairs, an even subsample of the scenario's values is
    taken (the quantiles change by far less than their sampling error)."""
    x = runs.loc[runs[SCENARIO] == scenario, metric].to_numpy(float)
    y = runs.loc[runs[SCENARIO] == baseline, metric].to_numpy(float)
    x, y = x[~np.isnan(x)], y[~np.isnan(y)]
    if len(x) * len(y) > limit:
        x = np.sort(x)[np.linspace(0, len(x) - 1, max(1, limit // max(len(y), 1))).astype(int)]
    return (x[:, None] - y[None, :]).ravel()


def _t_interval(d: np.ndarray, level: float = 0.9) -> tuple[float, float]:
    from scipy import stats

    if len(d) < 2:
        return math.nan, math.nan
    sd = d.std(ddof=1)
    if sd == 0:
        return float(d.mean()), float(d.mean())
    lo, hi = stats.t.interval(level, len(d) - 1, loc=d.mean(), scale=sd / math.sqrt(len(d)))
    return float(lo), float(hi)


def plural(n: int, word: str) -> str:
    """``"1 replication"``, ``"2 replications"``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def verdict(metric: str, scenario: str, baseline: str, median: float, low: float, high: float, n: int,
            higher: int) -> str:
    """Plain words for one paired difference (``higher``: replications where the scenario is
    above the baseline). Fewer than :data:`MIN_PAIRED` pairs get no verdict; an interval
    with zero inside or at one end is no clear difference."""
    label, unit = metric_label(metric)
    if n == 0 or math.isnan(low):
        return f"{label}: no replication of {scenario} and {baseline} shares a seed with a value; no comparison."
    if n < MIN_PAIRED:
        return (f"{label}: too few replications for a verdict (n={n}); at least {MIN_PAIRED} paired "
                f"replications of {scenario} and {baseline} are needed.")
    if low == high == 0:
        return f"{label}: no difference; {scenario} and {baseline} are equal in all {n} paired replications."
    if low <= 0 <= high:
        where = "spans zero" if low < 0 < high else "reaches zero at one end"
        return (f"{label}: no clear difference between {scenario} and {baseline}; the 90% interval of the paired "
                f"differences ({low:+.3g} to {high:+.3g}, {unit}) {where} (higher in {higher} of {n} "
                "replications).")
    word = "higher" if median > 0 else "lower"
    return (f"{label}: {scenario} is {word} than {baseline} by {abs(median):.3g} ({unit}; median of {n} paired "
            f"replications; 90% interval {low:+.3g} to {high:+.3g}).")


def differences(runs: pd.DataFrame, metrics: Sequence[str], baseline: str) -> pd.DataFrame:
    """Each scenario but the baseline against it, per metric: the paired difference (``n``
    seeds, ``paired_median``, ``paired_low``, ``paired_high``: 5th-95th percentiles;
    ``paired_mean`` with ``paired_mean_low``/``paired_mean_high``, its 90% t interval), the
    unpaired difference (``unpaired_median``, ``unpaired_low``, ``unpaired_high``),
    ``spans_zero`` (the paired 90% interval contains 0, inside or at an end), ``too_few`` (fewer
    than :data:`MIN_PAIRED` pairs: no verdict) and ``verdict`` (plain words).
    Raises ``ValueError`` if ``baseline`` is not a scenario."""
    names = scenarios(runs)
    if baseline not in names:
        raise ValueError(f"baseline: no scenario {baseline!r}; scenarios: {', '.join(names)}")
    rows = []
    for sc in names:
        if sc == baseline:
            continue
        for m in metrics:
            d = paired_differences(runs, baseline, sc, m)
            u = unpaired_differences(runs, baseline, sc, m)
            pq = np.quantile(d, (0.05, 0.5, 0.95)) if len(d) else [math.nan] * 3
            uq = np.quantile(u, (0.05, 0.5, 0.95)) if len(u) else [math.nan] * 3
            mlo, mhi = _t_interval(d)
            rows.append({SCENARIO: sc, "baseline": baseline, "metric": m, "n": len(d),
                         "paired_median": pq[1], "paired_low": pq[0], "paired_high": pq[2],
                         "paired_mean": float(d.mean()) if len(d) else math.nan,
                         "paired_mean_low": mlo, "paired_mean_high": mhi,
                         "unpaired_median": uq[1], "unpaired_low": uq[0], "unpaired_high": uq[2],
                         "spans_zero": bool(len(d)) and pq[0] <= 0 <= pq[2],
                         "too_few": len(d) < MIN_PAIRED,
                         "verdict": verdict(m, sc, baseline, pq[1], pq[0], pq[2], len(d), int((d > 0).sum()))})
    return pd.DataFrame(rows)


def yearly_bands(yearly: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per scenario, column and year: quantiles :data:`LEVELS` across replications (columns
    ``q05``, ``q25``, ``q50``, ``q75``, ``q95``) and ``n``, the replications."""
    q = yearly.groupby([SCENARIO, "year"], sort=False)[list(columns)].quantile(list(LEVELS))
    q.index = q.index.set_names([SCENARIO, "year", "level"])
    long = q.reset_index().melt(id_vars=[SCENARIO, "year", "level"], var_name="column")
    out = long.pivot_table(index=[SCENARIO, "column", "year"], columns="level", values="value", sort=False)
    out.columns = [f"q{int(round(c * 100)):02d}" for c in out.columns]
    out = out.reset_index()
    reps = yearly.groupby(SCENARIO, sort=False).size() / yearly.groupby(SCENARIO, sort=False)["year"].nunique()
    out["n"] = out[SCENARIO].map(reps).astype(int)
    return out


# ---------------------------------------------------------------- return after training abroad

def life_table(runs: pd.DataFrame, table: str = "return_life_table") -> tuple[np.ndarray, np.ndarray]:
    """(returned, censored), each of shape (rows, years): the life-table columns of the runs
    table (``return_life_table.returned[d]``, ``...censored[d]``), zeros where missing."""
    def block(kind: str) -> np.ndarray:
        cols = sorted((c for c in runs.columns if c.startswith(f"{table}.{kind}[")),
                      key=lambda c: int(c.rsplit("[", 1)[1][:-1]))
        return runs[cols].fillna(0).to_numpy(float) if cols else np.zeros((len(runs), 0))
    return block("returned"), block("censored")


def kaplan_meier(returned: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier survival (still abroad) from life tables: ``returned[..., d]`` events and
    ``censored[..., d]`` censorings ``d`` whole years after training (any leading shape).

    Returns (survival, at_risk), both of the same shape: ``survival[..., d]`` is the estimated
    share still abroad after ``d`` years (the product over ``j <= d`` of ``1 - r_j / n_j``),
    ``at_risk[..., d]`` the people at risk at ``d`` (censored at ``d`` count as at risk at
    ``d``). Where nobody is at risk the curve stays at its last value (NaN if nobody at all).
    """
    returned, censored = np.asarray(returned, float), np.asarray(censored, float)
    total = (returned + censored).sum(axis=-1, keepdims=True)
    left = np.cumsum(returned + censored, axis=-1) - (returned + censored)
    at_risk = total - left
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(at_risk > 0, 1.0 - returned / np.where(at_risk > 0, at_risk, 1.0), 1.0)
    survival = np.cumprod(step, axis=-1)
    survival = np.where(total > 0, survival, np.nan)
    return survival, at_risk


def return_curves(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and years since training (``years``): the Kaplan-Meier share still abroad
    of the pooled replications (``pooled``), the 5th/50th/95th percentiles of the
    per-replication curves (``q05``, ``q50``, ``q95``), those at risk and censored (pooled,
    summed over replications: ``at_risk``, ``censored``) and ``n`` replications."""
    rows = []
    for sc, group in runs.groupby(SCENARIO, sort=False):
        r, c = life_table(group)
        if r.shape[1] == 0:
            continue
        pooled, at_risk = kaplan_meier(r.sum(axis=0), c.sum(axis=0))
        each, _ = kaplan_meier(r, c)
        has = ~np.isnan(each[:, 0])
        q = np.quantile(each[has], (0.05, 0.5, 0.95), axis=0) if has.any() else np.full((3, r.shape[1]), np.nan)
        rows.append(pd.DataFrame({SCENARIO: sc, "years": np.arange(r.shape[1]), "pooled": pooled,
                                  "q05": q[0], "q50": q[1], "q95": q[2], "at_risk": at_risk,
                                  "censored": c.sum(axis=0), "n": int(has.sum())}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=[SCENARIO, "years", "pooled", "q05", "q50", "q95", "at_risk", "censored", "n"])


# ---------------------------------------------------------------- the career pathway

PATHWAY_RETURNED = ("pathway_returned_public_share", "pathway_returned_private_share",
                    "pathway_returned_academic_share", "pathway_abroad_share", "pathway_other_share")


def _split_of_median(g: pd.DataFrame, ok: np.ndarray, grads: np.ndarray, kind: str,
                     parts: Sequence[str]) -> list[float]:
    """The median across replications of the graduates with an elective per 1,000 graduates,
    split by the parts' pooled shares (their sums over replications over the total's): the
    parts add up to the median, the same for every split (medians of parts do not add up)."""
    cols = [f"by_group.{kind}.{p}.graduates_total" for p in parts]
    if not all(c in g.columns for c in cols) or not ok.any():
        return [math.nan] * len(parts)
    v = g[cols].to_numpy(float)[ok] / grads[ok, None] * 1000   # (replications, parts)
    v = v[~np.isnan(v).any(axis=1)]
    total = v.sum(axis=1)
    if not len(v):
        return [math.nan] * len(parts)
    if total.sum() == 0:
        return [0.0] * len(parts)
    return (float(np.median(total)) * v.sum(axis=0) / total.sum()).tolist()


def pathway(runs: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, the career pathway of the horizon's graduates per 1,000 graduates
    (median across replications): ``stage``, ``part`` (a split of the stage, e.g. elective
    type, or ``all``) and ``per_1000``. The elective's parts split the median of their total
    by pooled shares, so that both splits add up to the same median. Stages: graduates; international elective (by type,
    and by place); intended to train abroad; applied; matched; trained abroad; where those
    who trained abroad are at the end (returned by sector, still abroad, other)."""
    def med(group, col, scale=1.0):
        if col not in group.columns:
            return math.nan
        return float(np.nanmedian(group[col].to_numpy(float) * scale)) if group[col].notna().any() else math.nan

    rows = []
    for sc, g in runs.groupby(SCENARIO, sort=False):
        grads = g["graduates_total"].to_numpy(float)
        ok = grads > 0

        add = lambda stage, part, value: rows.append({SCENARIO: sc, "stage": stage, "part": part,  # noqa: E731
                                                     "per_1000": value, "n": int(ok.sum())})
        add("graduates", "all", 1000.0)
        for kind, parts in (("elective_type", ("clinical", "research")),
                            ("elective_place", ("destination", "other_hic", "lmic"))):
            for part, value in zip(parts, _split_of_median(g, ok, grads, kind, parts)):
                add(f"elective by {kind.split('_')[1]}", part, value)
        for stage, col in (("intended", "intention_share"), ("applied", "applicant_share"),
                           ("matched", "matched_share"), ("trained abroad", "went_abroad_share")):
            add(stage, "all", med(g, col, 1000))
        abroad = g["went_abroad_share"].to_numpy(float) * 1000 if "went_abroad_share" in g.columns else None
        for col in PATHWAY_RETURNED:
            part = col.replace("pathway_", "").replace("_share", "").replace("returned_", "returned ")
            value = math.nan
            if abroad is not None and col in g.columns:
                v = abroad * g[col].to_numpy(float)
                v = v[~np.isnan(v)]
                value = float(np.median(v)) if len(v) else (0.0 if np.nanmedian(abroad) == 0 else math.nan)
            add("at the end", part, value)
    return pd.DataFrame(rows)


def numeric_parameter(runs: pd.DataFrame, keys: Sequence[str]) -> str | None:
    """The swept numeric key when scenarios differ by exactly one numeric key taking at least
    three values (a response curve is worth drawing), else None."""
    cands = [c for c in keys if c not in NOT_SCENARIO and c in runs.columns
             and pd.api.types.is_numeric_dtype(runs[c]) and runs[c].nunique() >= 3]
    return cands[0] if len(cands) == 1 else None
