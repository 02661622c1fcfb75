"""The tidy tables of an ensemble or a sweep: one row per replication (``runs.parquet``) and one
row per replication and year (``yearly.parquet``).

Columns are derived from what the summary and the yearly table hold, never from a fixed list:
a new metric becomes a new column. Identifying columns come first: ``job`` (at a sweep root),
``replication``, ``seed``, ``experiment``, then one column per key set on the command line or
swept (its dotted path; list values as ``key[i]``). The runs table then holds the parameter
values drawn under ``params.uncertainty=sampled`` (same dotted paths), every scalar metric of
the summary (``by_group`` entries as ``by_group.elective.yes.went_abroad_share``), and the
replication's size and timings. A metric that is missing (``null`` in ``summary.json``) is NaN
in a float column.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

ID_COLUMNS = ("job", "replication", "seed", "experiment")
TIMING_COLUMNS = ("setup_seconds", "run_seconds", "metrics_seconds")


def scalars(key: str, value: Any) -> dict[str, Any]:
    """``{key: value}``, or ``{key[0]: .., key[1]: ..}`` for a list."""
    if isinstance(value, (list, tuple)):
        return {f"{key}[{i}]": v for i, v in enumerate(value)}
    return {key: value}


def flatten(summary: dict, prefix: str = "") -> dict[str, Any]:
    """Every scalar of a summary, nested levels joined with dots."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out.update(scalars(name, value))
    return out


def _typed(df: pd.DataFrame, skip: Iterable[str] = ()) -> pd.DataFrame:
    """Columns of numbers and nulls (or of nulls only) as float64, so a missing metric is NaN."""
    skip = set(skip)
    for col in df.columns:
        if col in skip or df[col].dtype != object:
            continue
        values = df[col].dropna()
        if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values):
            df[col] = df[col].astype("float64")
    return df


def runs_frame(reps: Sequence, experiment: str | None, keys: dict[str, Any]) -> pd.DataFrame:
    """The runs table of one job: ``reps`` are :class:`sim.ensemble.Replication` results."""
    rows = []
    for r in reps:
        row: dict[str, Any] = {"replication": r.replication, "seed": r.seed, "experiment": experiment, **keys}
        for key, value in r.drawn.items():
            row.update(scalars(key, value))
        for key, value in flatten(r.summary).items():
            row.setdefault(key, value)
        row.update({"people_simulated": r.people, "setup_seconds": round(r.setup_seconds, 4),
                    "run_seconds": round(r.run_seconds, 4), "metrics_seconds": round(r.metrics_seconds, 4)})
        rows.append(row)
    return _typed(pd.DataFrame(rows), skip=("experiment",))


def yearly_frame(reps: Sequence, experiment: str | None, keys: dict[str, Any]) -> pd.DataFrame:
    """The yearly tables of one job's replications stacked, identifying columns first."""
    stacked = pd.concat([r.timeseries for r in reps], ignore_index=True)
    rows = np.array([len(r.timeseries) for r in reps])
    ids = pd.DataFrame({"replication": np.repeat(np.array([r.replication for r in reps], dtype=np.int64), rows),
                        "seed": np.repeat(np.array([r.seed for r in reps], dtype=np.int64), rows)})
    ids["experiment"] = experiment
    for key, value in keys.items():
        ids[key] = [value] * len(stacked)
    return pd.concat([ids, stacked], axis=1)


def with_job(df: pd.DataFrame, job: int) -> pd.DataFrame:
    """``df`` with a first column ``job``."""
    df = df.copy()
    df.insert(0, "job", np.int64(job))
    return df


def _integers(column: pd.Series) -> bool | None:
    """Whether every value of ``column`` is an integer (None if it has no values at all)."""
    values = column.dropna()
    if len(values) == 0:
        return None
    if pd.api.types.is_integer_dtype(column.dtype):
        return True
    return column.dtype == object and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                                          for v in values)


def _exact_integer_keys(frames: list[pd.DataFrame]) -> list[pd.DataFrame]:
    """``frames`` with each key column (not a metric) that holds integers in some jobs and
    nothing in others (``base_seed=null,5`` swept) as pandas' nullable ``Int64``: joined as
    float it would round seeds above 2**53."""
    from .metrics import is_metric_name

    columns = dict.fromkeys(c for f in frames for c in f.columns)
    exact = []
    for col in columns:
        if is_metric_name(col) or col in ID_COLUMNS:
            continue
        kinds = [_integers(f[col]) if col in f.columns else None for f in frames]
        if None in kinds and True in kinds and False not in kinds:
            exact.append(col)
    if not exact:
        return frames
    out = []
    for f in frames:
        f = f.copy()
        for col in exact:
            if col not in f.columns or _integers(f[col]) is None:
                f[col] = pd.array([pd.NA] * len(f), dtype="Int64")
            else:
                f[col] = f[col].astype("Int64")
        out.append(f)
    return out


def combine(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Tables of several jobs (each with ``job``) as one, ordered by job, replication (and year).
    Integer keys that some jobs leave unset stay exact (``Int64``, missing as ``<NA>``)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    df = pd.concat(_exact_integer_keys(frames), ignore_index=True)
    order = [c for c in ("job", "replication", "year") if c in df.columns]
    return _typed(df.sort_values(order, kind="stable").reset_index(drop=True), skip=("experiment",))


# ---------------------------------------------------------------- the objective of a sweep

def _number(v: Any) -> float:
    if v is None or isinstance(v, bool) or not isinstance(v, numbers.Real):
        return math.nan
    return float(v)


def targets_distance(row: dict[str, Any], targets: list) -> float:
    """Mean over ``targets`` (``sim.targets.Target``) of ((model - target) / half-width of the
    target's interval) squared, for one replication; targets whose metric is missing are left
    out; NaN when all are."""
    terms = []
    for t in targets:
        v = _number(row.get(t.metric))
        if math.isnan(v):
            continue
        half = (t.high - t.low) / 2 or 1.0
        terms.append(((v - t.value) / half) ** 2)
    return float(sum(terms) / len(terms)) if terms else math.nan


def objective_value(runs: pd.DataFrame, objective: str, targets: list | None = None) -> float:
    """The float a job returns to a sweeper: the mean over replications of one value each.

    ``objective`` is a column of the runs table (a metric name, dotted for ``by_group``) or
    ``targets``: :func:`targets_distance` to the origin's calibration targets (0 when every
    metric sits on its target, 1 when they sit at the edges of their intervals on average).
    Replications where the value is missing (a metric whose denominator was empty) are left
    out of the mean; if every one is missing the result is NaN, which Optuna records as a
    failed trial. Raises ``KeyError`` for a metric the summary does not have.
    """
    if objective == "targets":
        values = [targets_distance(row, targets or []) for row in runs.to_dict("records")]
    else:
        if objective not in runs.columns:
            raise KeyError(objective)
        values = [_number(v) for v in runs[objective].tolist()]
    finite = [v for v in values if not math.isnan(v)]
    return float(sum(finite) / len(finite)) if finite else math.nan
