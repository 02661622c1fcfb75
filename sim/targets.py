"""Compare a finished run with its calibration targets.

::

    python -m sim.targets RUN_FOLDER                      # targets from configs/targets/<origin>.yaml
    python -m sim.targets RUN_FOLDER --targets FILE.yaml  # any targets file
    python -m sim.targets RUN_FOLDER --enforce            # exit 1 if targets are missed (below)

A run of one replication is judged by its ``summary.json``; a run of several
(``replications=N``) by every replication in its ``runs.parquet``: per target the median
across replications and the share of replications within the interval, and the share of
replications that meet every target. ``--enforce`` then asks that share to be at least
``--min-share`` (0.8 by default; with one replication, that it meets every target). Both
tables are read through :mod:`sim.outputs`, which refuses a folder without its completion
marker; a sweep folder is refused (give one of its job folders); the origin comes from the
folder's ``run.json``. A targets
file lists, for each target, the ``metric`` (a ``summary.json`` key, dotted for
``by_group`` entries), its ``value``, an ``interval: [low, high]`` or a ``tolerance``,
and its ``source``. Exit codes: 0 compared (or all within, with ``--enforce``), 1 a
target missed with ``--enforce``, 2 a bad run folder or targets file (one line, no
traceback).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import resources

ROOT = Path(__file__).resolve().parent.parent
TARGETS_DIR = resources.CONFIG_DIR / "targets"
TARGET_KEYS = ("metric", "value", "interval", "tolerance", "source", "figure", "note")


class TargetsError(Exception):
    """A run folder or targets file that cannot be used; the message is one line."""


@dataclass(frozen=True)
class Target:
    metric: str
    value: float
    low: float
    high: float
    source: str
    figure: str = ""
    note: str = ""


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def load_targets(path: Path) -> tuple[str | None, list[Target]]:
    """(origin the file is for, targets) from a targets file; TargetsError if it is malformed."""
    path = Path(path)
    if not path.is_file():
        raise TargetsError(f"{path}: no such targets file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TargetsError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list) or not data["targets"]:
        raise TargetsError(f"{path}: expected a mapping with a non-empty list under 'targets'")
    origin = data.get("origin")
    out = []
    for i, t in enumerate(data["targets"], 1):
        where = f"{path}: target {i}"
        if not isinstance(t, dict):
            raise TargetsError(f"{where}: expected a mapping with metric, value, interval or tolerance, source")
        unknown = sorted(set(map(str, t)) - set(TARGET_KEYS))
        if unknown:
            raise TargetsError(f"{where}: unknown keys {', '.join(unknown)}; allowed: {', '.join(TARGET_KEYS)}")
        metric = t.get("metric")
        if not isinstance(metric, str) or not metric:
            raise TargetsError(f"{where}: no metric (a summary.json key)")
        where = f"{path}: target {i} ({metric})"
        value = t.get("value")
        if not _number(value):
            raise TargetsError(f"{where}: value {value!r} is not a finite number")
        if ("interval" in t) == ("tolerance" in t):
            raise TargetsError(f"{where}: give either interval [low, high] or tolerance, not both or neither")
        if "interval" in t:
            iv = t["interval"]
            if not (isinstance(iv, list) and len(iv) == 2 and all(map(_number, iv)) and iv[0] <= iv[1]):
                raise TargetsError(f"{where}: interval {iv!r} must be [low, high] with low <= high")
            low, high = float(iv[0]), float(iv[1])
        else:
            tol = t["tolerance"]
            if not _number(tol) or tol < 0:
                raise TargetsError(f"{where}: tolerance {tol!r} must be a number >= 0")
            low, high = float(value) - tol, float(value) + tol
        source = t.get("source")
        if not isinstance(source, str) or not source.strip():
            raise TargetsError(f"{where}: no source")
        out.append(Target(metric, float(value), low, high, source, str(t.get("figure", "")), str(t.get("note", ""))))
    return (str(origin) if origin is not None else None), out


def targets_path(origin: str) -> Path:
    return TARGETS_DIR / f"{origin}.yaml"


def metric_value(summary: dict, metric: str) -> float | None:
    """A summary metric by name; dotted names reach into ``by_group``.

    ``None`` when the run has the metric but its denominator was empty (``null`` in
    summary.json): nobody in the run was eligible, so there is nothing to compare.
    """
    node: Any = summary
    for part in metric.split("."):
        if not isinstance(node, dict) or part not in node:
            raise TargetsError(f"metric {metric!r} is not in the run's summary.json")
        node = node[part]
    if node is None:
        return None
    if not _number(node):
        raise TargetsError(f"metric {metric!r} in summary.json is not a number ({node!r})")
    return float(node)


def compare(summary: dict, targets: list[Target]) -> list[dict]:
    """One row per target: the model's value, the target, the distance and whether it is within."""
    rows = []
    for t in targets:
        model = metric_value(summary, t.metric)
        missing = model is None  # an empty denominator: a missed target, not a pass
        rows.append({"metric": t.metric, "model": model, "target": t.value, "low": t.low, "high": t.high,
                     "distance": None if missing else model - t.value,
                     "within": (not missing) and t.low <= model <= t.high, "source": t.source})
    return rows


def compare_replications(runs: "pd.DataFrame", targets: list[Target]) -> tuple[list[dict], "np.ndarray"]:
    """Targets against every replication of a runs table (one row per replication).

    Returns (rows, meets): per target the median of the replications' values (``model``,
    None when every replication's value is missing), its distance to the target, and
    ``within`` as the share of replications within the interval (a missing value is a miss);
    ``meets`` is a boolean array, one per replication, True where every target is met.
    Raises TargetsError when a target's metric is no column of the table."""
    import numpy as np

    meets = np.ones(len(runs), dtype=bool)
    rows = []
    for t in targets:
        if t.metric not in runs.columns:
            raise TargetsError(f"metric {t.metric!r} is not in the run's runs.parquet")
        values = runs[t.metric].to_numpy(dtype=float)
        ok = (values >= t.low) & (values <= t.high)  # NaN compares False: a miss
        meets &= ok
        model = None if np.isnan(values).all() else float(np.nanmedian(values))
        rows.append({"metric": t.metric, "model": model, "target": t.value, "low": t.low, "high": t.high,
                     "distance": None if model is None else model - t.value, "within": float(ok.mean()),
                     "source": t.source})
    return rows, meets


def _within_text(within: bool | float, n: int) -> str:
    if n == 1:
        return "yes" if within else "NO"
    return f"{round(within * n)}/{n}"


def format_table(rows: list[dict], n: int = 1) -> str:
    """The comparison as text; with ``n`` replications, ``model`` is their median and
    ``within`` counts the replications within the interval."""
    head = ("metric", "model" if n == 1 else f"median of {n}", "target", "interval", "distance", "within",
            "source")
    body = [(r["metric"], "null" if r["model"] is None else f"{r['model']:.4f}", f"{r['target']:.4f}",
             f"[{r['low']:.4f}, {r['high']:.4f}]", "-" if r["distance"] is None else f"{r['distance']:+.4f}",
             _within_text(r["within"], n), r["source"]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip() for row in (head, *body)]
    lines.insert(1, "  ".join("-" * w for w in widths))
    if n == 1:
        n_in = sum(r["within"] for r in rows)
        lines.append(f"{n_in} of {len(rows)} targets within their intervals")
    return "\n".join(lines)


def _run_size(folder: Path) -> str:
    """`` (origin japan, scale 0.2, 35 years)`` from run.json, or nothing; small runs are noisy,
    so a missed target there may be chance."""
    try:
        info = json.loads((Path(folder) / "run.json").read_text(encoding="utf-8"))
        return f" (origin {info['origin']}, scale {info['scale']:g}, {info['years']} years)"
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def run_origin(folder: Path) -> str:
    path = Path(folder) / "run.json"
    try:
        origin = json.loads(path.read_text(encoding="utf-8")).get("origin")
    except (OSError, ValueError, AttributeError):
        raise TargetsError(f"{path}: cannot read the run's origin; pass --targets FILE") from None
    if not isinstance(origin, str) or not origin:
        raise TargetsError(f"{path}: no origin recorded; pass --targets FILE")
    return origin


def evaluate(folder: Path, targets: Path | None = None) -> tuple[list[dict], list[str], "np.ndarray | None"]:
    """(rows, notes, meets) for a run folder: ``meets`` is None for a run of one replication
    (rows from its summary.json), else one boolean per replication (see
    :func:`compare_replications`). Raises TargetsError with a one-line message."""
    from .outputs import RUNS_TABLE, IncompleteRunError, is_sweep_root, read_runs, read_summary

    folder = Path(folder)
    if is_sweep_root(folder):
        raise TargetsError(f"{folder} is a sweep folder; give one of its job folders (e.g. {folder / '0'})")
    runs = None
    try:
        summary = read_summary(folder)
        if (folder / RUNS_TABLE).is_file():
            runs = read_runs(folder)
    except IncompleteRunError as err:
        raise TargetsError(str(err)) from None
    except (OSError, ValueError) as err:
        raise TargetsError(f"{folder}: cannot read summary.json ({err})") from None
    notes = []
    if targets is None:
        origin = run_origin(folder)
        targets = targets_path(origin)
        if not targets.is_file():
            raise TargetsError(f"no targets for origin {origin!r} ({targets} does not exist); pass --targets FILE")
    for_origin, items = load_targets(targets)
    if for_origin is not None:
        try:
            ran = run_origin(folder)
        except TargetsError:
            ran = None
        if ran is not None and ran != for_origin:
            notes.append(f"note: {targets} is for origin {for_origin!r}; this run's origin is {ran!r}")
    if runs is not None and len(runs) > 1:
        rows, meets = compare_replications(runs, items)
        return rows, notes, meets
    return compare(summary, items), notes, None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.targets",
                                 description="Compare a finished run's summary with calibration targets.")
    ap.add_argument("run", type=Path, help="a run folder written by python -m sim")
    ap.add_argument("--targets", type=Path, default=None,
                    help="targets file (default: configs/targets/<origin>.yaml for the run's origin)")
    ap.add_argument("--enforce", action="store_true",
                    help="exit 1 if targets are missed: with one replication, any target; with several, when "
                         "fewer than --min-share of the replications meet every target")
    ap.add_argument("--min-share", type=float, default=0.8,
                    help="with --enforce and several replications: the share that must meet every target "
                         "(default 0.8)")
    args = ap.parse_args(argv)
    if not 0 <= args.min_share <= 1:
        print(f"error: --min-share: {args.min_share!r} is not allowed; expected a share from 0 to 1", file=sys.stderr)
        return 2
    try:
        rows, notes, meets = evaluate(args.run, args.targets)
    except TargetsError as err:
        lines = str(err).splitlines() or ["cannot compare"]
        print(f"error: {lines[0]}", file=sys.stderr)
        return 2
    for note in notes:
        print(note, file=sys.stderr)
    print(f"run: {args.run}{_run_size(args.run)}")
    if meets is not None:
        print(format_table(rows, len(meets)))
        share = float(meets.mean())
        print(f"{int(meets.sum())} of {len(meets)} replications ({share:.0%}) meet every target")
        if args.enforce and share < args.min_share:
            print(f"error: {share:.0%} of the replications meet every target; --min-share asks {args.min_share:.0%}",
                  file=sys.stderr)
            return 1
        return 0
    print(format_table(rows))
    missed = [r["metric"] for r in rows if not r["within"]]
    if args.enforce and missed:
        print(f"error: {len(missed)} target(s) missed: {', '.join(missed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
