"""Global sensitivity analysis: which declared priors drive the outcomes (SALib).

::

    python -m sim.sensitivity method=morris                      # Morris screen of every uncertain parameter
    python -m sim.sensitivity method=morris trajectories=10 scale=0.2 origin=japan
    python -m sim.sensitivity method=sobol samples=64            # Sobol indices, parameters grouped by decision
    python -m sim.sensitivity method=morris outcomes=match_rate,went_abroad_share out=my/folder

Arguments are ``key=value`` like ``python -m sim``'s. This command's own keys: ``method``
(morris or sobol), ``trajectories`` (Morris, default 10), ``levels`` (Morris grid levels,
default 4), ``samples`` (Sobol base sample N, a power of 2, default 64), ``groups``
(Sobol: ``decision``, one factor per decision block such as ``params.returning``, or
``none``, one per parameter), ``outcomes`` (comma-separated summary metrics or ``by_group``
entries such as ``by_group.section.domestic.research_engagement_share``; every run saves all
of them, so the same design with other outcomes reuses its runs),
``replications`` (runs per design point, averaged; default 1), ``jobs`` (worker processes,
0 = one per core) and ``out`` (the output folder). Every other key is a model setting passed
on as to ``python -m sim`` (``origin=romania``, ``scale=0.2``, ``seed=3``, ``experiment=...``,
``policy.returnee_premium=0.2``).

The factors are the parameters ``params.uncertainty=sampled`` draws (:func:`sim.provenance.factors`).
Each factor's unit design value ``u`` in [0, 1] becomes the quantile ``0.005 + 0.99 u`` of its
prior (the prior's central 99%; ``scipy.stats``' inverse CDF), so a Morris step moves a
parameter across a fixed share of its prior's probability; a list parameter moves all its
elements to the same quantile. Every design point runs with the same replication seeds
(common random numbers), so outcome differences between points come from the parameters.

The design runs through :mod:`sim.ensemble` (a process pool; results collected by task, so
the same for any number of workers). Results are saved in batches under
``evaluations/``: rerunning the same command into the same folder reuses the design points
already run. The default folder, ``results/sensitivity/<origin>_<method>_<hash>``, is named
by a hash of the design, so rerunning a command resumes it.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path("results") / "sensitivity"
DEFAULT_OUTCOMES = ("went_abroad_share", "return_share_10y", "match_rate", "elective_rate_annual",
                    "knowledge_transfer_index", "home_training_quality_end")
TAIL = 0.005            # the design spans each prior's central 1 - 2 * TAIL
METHODS = ("morris", "sobol")
OWN_KEYS = ("method", "trajectories", "levels", "samples", "groups", "outcomes", "replications", "jobs", "out")
DESIGN_FILE = "design.json"
FIGURES = ("morris_mu_star_sigma.png", "ranked.png")
EVALUATIONS = "evaluations"


class SensitivityError(Exception):
    """A problem with the user's input: one line per problem, no traceback."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


# --------------------------------------------------------------------- arguments

@dataclass
class Settings:
    """What the command runs (parsed from ``key=value`` arguments)."""

    method: str = "morris"
    trajectories: int = 10
    levels: int = 4
    samples: int = 64
    groups: str = "decision"
    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    replications: int = 1
    jobs: int = 0
    out: Path | None = None
    overrides: list[str] = field(default_factory=list)


def _int(key: str, text: str, lo: int, hi: int, errors: list[str], what: str = "") -> int | None:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not lo <= value <= hi:
        errors.append(f"{key}: {text!r} is not allowed; expected an integer in [{lo}, {hi}]{what}")
        return None
    return value


def split_args(argv: list[str], own: tuple[str, ...]) -> tuple[dict[str, str], list[str], list[str]]:
    """(this command's keys, model overrides, error lines) from ``key=value`` arguments."""
    mine: dict[str, str] = {}
    rest: list[str] = []
    errors: list[str] = []
    seen: set[str] = set()
    for arg in argv:
        key, eq, value = arg.partition("=")
        if not eq or not key:
            errors.append(f"{arg!r}: expected key=value (e.g. method=morris, scale=0.2)")
            continue
        if key in seen:
            errors.append(f"{key}: given twice; give each key once")
            continue
        seen.add(key)
        (mine.__setitem__(key, value) if key in own else rest.append(arg))
    return mine, rest, errors


def parse(argv: list[str]) -> Settings:
    """:class:`Settings` from the command line; :class:`SensitivityError` lists every problem."""
    from .metrics import SUMMARY_METRICS

    mine, rest, errors = split_args(argv, OWN_KEYS)
    s = Settings(overrides=rest)
    if "method" in mine:
        if mine["method"] not in METHODS:
            errors.append(f"method: {mine['method']!r} is not allowed; expected one of {', '.join(METHODS)}")
        s.method = mine["method"]
    for key, lo, hi in (("trajectories", 2, 1000), ("levels", 2, 20), ("replications", 1, 100), ("jobs", 0, 1024)):
        if key in mine:
            v = _int(key, mine[key], lo, hi, errors)
            if v is not None:
                setattr(s, key, v)
    if "levels" in mine and s.levels % 2:
        errors.append(f"levels: {s.levels} is not allowed; expected an even number (Morris grids need one)")
    if "samples" in mine:
        v = _int("samples", mine["samples"], 2, 2**16, errors, ", a power of 2")
        if v is not None and v & (v - 1):
            errors.append(f"samples: {v} is not allowed; expected a power of 2 (Sobol sequences need one)")
        elif v is not None:
            s.samples = v
    if "groups" in mine:
        if mine["groups"] not in ("decision", "none"):
            errors.append(f"groups: {mine['groups']!r} is not allowed; expected decision or none")
        s.groups = mine["groups"]
    if "outcomes" in mine:
        names = tuple(n.strip() for n in mine["outcomes"].split(",") if n.strip())
        bad = [n for n in names if n not in SUMMARY_METRICS and not _is_group_metric(n)]
        if bad or not names:
            errors.append(f"outcomes: {', '.join(bad) or repr(mine['outcomes'])} not allowed; expected summary "
                          f"metrics, comma-separated: {', '.join(SUMMARY_METRICS)}, or by_group entries such as "
                          "by_group.sex.female.went_abroad_share")
        s.outcomes = names
    if "out" in mine:
        if not mine["out"].strip():
            errors.append("out: empty; expected a folder")
        s.out = Path(mine["out"])
    if errors:
        raise SensitivityError(errors)
    return s


def _is_group_metric(name: str) -> bool:
    from .metrics import is_metric_name

    return name.startswith("by_group.") and not name.endswith("_n") and is_metric_name(name)


def check_outcomes(outcomes: tuple[str, ...], origin: Any) -> None:
    """Refuse ``by_group`` outcomes whose grouping or level the origin's summaries lack."""
    from .metrics import group_levels

    levels = group_levels(origin)
    bad = [n for n in outcomes if _is_group_metric(n) and n.split(".")[2] not in levels.get(n.split(".")[1], ())]
    if bad:
        allowed = "; ".join(f"{g}: {', '.join(v)}" for g, v in levels.items())
        raise SensitivityError([f"outcomes: {', '.join(bad)} not in origin {origin.name}'s by_group; its groupings "
                                f"and levels are {allowed}"])


_UNKNOWN_TOP = re.compile(r"^([A-Za-z_]\w*): unknown key; allowed here: (.*)$")
RUN_ONLY_KEYS = ("objective", "replications", "jobs")  # python -m sim's run keys, not model settings


def compose(overrides: list[str], own: tuple[str, ...] = OWN_KEYS, command: str = "sim.sensitivity"):
    """The model configuration of the overrides, checked (one line per problem). An unknown
    top-level key lists this command's keys (``own``) with the model's; ``python -m sim``'s
    run keys that the command does not take (``objective``) are refused."""
    from .checks import UserError
    from .compose import load_config

    errors = [f"{k}: not a key of python -m {command} (it is one of python -m sim's run keys); allowed here: "
              f"{', '.join(own)}, or model settings" for k in dict.fromkeys(o.partition("=")[0].lstrip("+~")
                                                                             for o in overrides)
              if k in RUN_ONLY_KEYS and k not in own]
    if errors:
        raise SensitivityError(errors)
    try:
        cfg = load_config(overrides)
    except UserError as err:
        lines = []
        for line in err.lines:
            m = _UNKNOWN_TOP.match(line)
            if m:
                keys = sorted((set(m.group(2).split(", ")) - set(RUN_ONLY_KEYS)) | set(own))
                line = f"{m.group(1)}: unknown key; allowed here: {', '.join(keys)}"
            lines.append(line)
        raise SensitivityError(lines) from None
    if cfg.params.uncertainty != "central":
        raise SensitivityError([f"params.uncertainty: {cfg.params.uncertainty!r} is not allowed here; the design "
                                "sets the parameters itself (leave it at central)"])
    return cfg


def params_option(overrides: list[str]) -> str:
    for ov in overrides:
        if ov.startswith("params="):
            return ov.split("=", 1)[1]
    return "default"


# --------------------------------------------------------------------- the design

def problem(factors: list, grouped: bool = False) -> dict:
    """The SALib problem: one unit-interval factor per uncertain parameter (full dotted key),
    grouped by decision when ``grouped``."""
    prob = {"num_vars": len(factors), "names": [f.key for f in factors], "bounds": [[0.0, 1.0]] * len(factors)}
    if grouped:
        prob["groups"] = [f.decision for f in factors]
    return prob


def to_quantile(u: np.ndarray | float) -> np.ndarray | float:
    """The prior quantile of a unit design value: the central ``1 - 2 * TAIL`` of the prior."""
    return TAIL + (1 - 2 * TAIL) * np.asarray(u)


def unit_design(settings: Settings, prob: dict, seed: int) -> np.ndarray:
    """The design in unit space, shape (points, factors): Morris trajectories (``trajectories``
    x (factors + 1) points) or a Saltelli/Sobol sample (``samples`` x (factors or groups + 2))."""
    if settings.method == "morris":
        from SALib.sample import morris

        return morris.sample(prob, settings.trajectories, num_levels=settings.levels, seed=seed)
    from SALib.sample import sobol

    return sobol.sample(prob, settings.samples, calc_second_order=False, seed=seed)


def point_values(cfg: Any, factors: list, unit: np.ndarray) -> list[dict[str, Any]]:
    """The parameter values (dotted keys) of each design point (``unit``: (points, factors))."""
    from . import provenance

    return provenance.at_quantiles(cfg, [f.key for f in factors], to_quantile(unit), among=factors)


def complete_points(settings: Settings, prob: dict, unit: np.ndarray, y: np.ndarray,
                    outcome: str) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """(design, outcome values, note) to analyse: Morris trajectories where the outcome is missing
    (an empty denominator, e.g. nobody with ten years since training in a small run) are left
    out whole; a Sobol design cannot lose points, so the outcome is then not analysed
    (design ``None``)."""
    missing = np.isnan(y)
    if not missing.any():
        return unit, y, None
    if settings.method == "morris":
        width = prob["num_vars"] + 1
        keep = ~missing.reshape(-1, width).any(axis=1)
        if keep.sum() >= 2:
            rows = np.repeat(keep, width)
            return unit[rows], y[rows], (f"{outcome}: no value at {int(missing.sum())} of {len(y)} design points "
                                         f"(empty denominator); {int((~keep).sum())} of {len(keep)} trajectories "
                                         "left out")
    return None, None, (f"{outcome}: no value at {int(missing.sum())} of {len(y)} design points (empty "
                        "denominator); indices not computed")


def analyse(settings: Settings, prob: dict, unit: np.ndarray, y: np.ndarray, seed: int) -> pd.DataFrame:
    """Indices for one outcome (``y``: one value per design point). Morris: ``mu``,
    ``mu_star``, ``mu_star_conf`` (95% bootstrap half-width), ``sigma``, in outcome units per
    move across the prior's central 99%. Sobol: ``S1``, ``S1_conf``, ``ST``, ``ST_conf``
    (95%), per factor or group."""
    if settings.method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(prob, unit, y, num_levels=settings.levels, num_resamples=1000, conf_level=0.95,
                             seed=seed)
        frame = pd.DataFrame({"parameter": list(res["names"]), "mu": res["mu"], "mu_star": res["mu_star"],
                              "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})
        return frame.sort_values("mu_star", ascending=False, kind="stable")
    from SALib.analyze import sobol

    res = sobol.analyze(prob, y, calc_second_order=False, num_resamples=1000, conf_level=0.95, seed=seed)
    names = list(dict.fromkeys(prob.get("groups") or prob["names"]))
    frame = pd.DataFrame({"parameter": names, "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                          "ST_conf": res["ST_conf"]})
    return frame.sort_values("ST", ascending=False, kind="stable")


# --------------------------------------------------------------------- running

def default_folder(spec: dict) -> Path:
    digest = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]
    return RESULTS / f"{spec['origin']}_{spec['method']}_{digest}"


def _check_folder(folder: Path, spec: dict) -> None:
    """Refuse a folder that holds anything but an earlier run of this same design."""
    path = folder / DESIGN_FILE
    if path.is_file():
        try:
            earlier = json.loads(path.read_text(encoding="utf-8")).get("spec")
        except (OSError, ValueError):
            earlier = None
        if earlier != spec:
            raise SensitivityError([f"out: {folder} holds a different design (its {DESIGN_FILE} differs); choose "
                                    "another folder or leave out out= to get one named by the design"])
    elif folder.exists() and (not folder.is_dir() or any(p.name != ".lock" for p in folder.iterdir())):
        raise SensitivityError([f"out: {folder} exists and is not a sensitivity folder of this command; "
                                "choose a new or empty folder"])


def _done(folder: Path) -> pd.DataFrame:
    parts = sorted((folder / EVALUATIONS).glob("batch-*.parquet"))
    if not parts:
        return pd.DataFrame()
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def scalar_metrics(summary: dict) -> dict[str, float]:
    """The top-level scalar metrics of a summary and its ``by_group`` entries (as
    ``by_group.section.domestic.research_engagement_share``), ``None`` as NaN."""
    from .metrics import SUMMARY_METRICS
    from .tables import flatten

    grouped = flatten(summary.get("by_group", {}), "by_group.")
    return {k: (np.nan if v is None else float(v))
            for k, v in [(k, summary.get(k)) for k in SUMMARY_METRICS] + sorted(grouped.items())}


def evaluate(cfg: Any, tasks: list[tuple[int, dict]], folder: Path, workers: int, label: str,
             batch: int = 0) -> pd.DataFrame:
    """Run ``tasks`` ((seed, values) each) through the ensemble's pool, saving results in
    batches under ``folder/evaluations`` and skipping tasks already saved there. One row per
    task (``task``, ``seed``, the scalar metrics), in task order."""
    from . import ensemble, outputs

    (folder / EVALUATIONS).mkdir(parents=True, exist_ok=True)
    outputs.remove_stale_temporaries(folder / EVALUATIONS)
    done = _done(folder)
    have = set(done["task"]) if len(done) else set()
    todo = [k for k in range(len(tasks)) if k not in have]
    batch = batch or max(8 * max(workers, 1), 100)
    bar = _bar(len(tasks), len(have), label)
    n_parts = len(list((folder / EVALUATIONS).glob("batch-*.parquet")))
    try:
        for start in range(0, len(todo), batch):
            ks = todo[start:start + batch]
            plan = ensemble.Plan(cfg, cfg.seed, tasks=tuple(tasks[k] for k in ks))
            reps = ensemble.run_replications(plan, len(ks), workers,
                                             (lambda _n: bar.update(1)) if bar else None)
            rows = [{"task": ks[r.replication], "seed": r.seed, **scalar_metrics(r.summary)} for r in reps]
            outputs.write_parquet(folder / EVALUATIONS / f"batch-{n_parts:05d}.parquet", pd.DataFrame(rows))
            n_parts += 1
            if bar is None:
                print(f"{label}: {len(have) + start + len(ks)} of {len(tasks)} runs done", file=sys.stderr)
    finally:
        if bar is not None:
            bar.close()
    out = _done(folder).drop_duplicates("task").set_index("task").sort_index()
    return out.loc[range(len(tasks))].reset_index()


def _bar(total: int, initial: int, label: str):
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc=label, unit="run", file=sys.stderr, dynamic_ncols=True)


def workers_for(jobs: int) -> int:
    from .ensemble import available_cores

    return jobs or available_cores()


def run(settings: Settings) -> Path:
    """Build the design, run it (resuming), analyse it and write the folder; returns it."""
    from importlib.metadata import version

    from . import ensemble, outputs, provenance

    cfg = compose(settings.overrides)
    check_outcomes(settings.outcomes, cfg.origin)
    facs = provenance.factors(cfg, params=params_option(settings.overrides))
    grouped = settings.method == "sobol" and settings.groups == "decision"
    prob = problem(facs, grouped)
    spec = {"method": settings.method, "origin": cfg.origin.name, "overrides": sorted(settings.overrides),
            "seed": cfg.seed, "scale": cfg.scale, "years": cfg.years, "replications": settings.replications,
            "factors": prob["names"], "tail": TAIL,
            **({"trajectories": settings.trajectories, "levels": settings.levels} if settings.method == "morris"
               else {"samples": settings.samples, "groups": settings.groups})}
    folder = settings.out or default_folder(spec)
    _check_folder(folder, spec)
    lock = outputs.FolderLock(folder)
    try:
        lock.acquire()
    except outputs.FolderBusyError as err:
        raise SensitivityError([f"out: {err}"]) from None
    try:
        return _run_locked(settings, cfg, facs, prob, spec, folder, version("SALib"), ensemble)
    finally:
        lock.release()


def _run_locked(settings: Settings, cfg: Any, facs: list, prob: dict, spec: dict, folder: Path,
                salib_version: str, ensemble: Any) -> Path:
    from . import outputs

    t0 = time.perf_counter()
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    unit = unit_design(settings, prob, cfg.seed)
    outputs.write_json(folder / DESIGN_FILE, {"spec": spec, "outcomes": list(settings.outcomes), "salib": salib_version,
                                              "points": int(len(unit)), "runs": int(len(unit)) * settings.replications})
    values = point_values(cfg, facs, unit)
    seeds = [ensemble.replication_seed(cfg.seed, r) for r in range(settings.replications)]
    tasks = [(s, v) for v in values for s in seeds]
    workers = workers_for(settings.jobs)
    earlier = _done(folder) if (folder / EVALUATIONS).is_dir() else pd.DataFrame()
    reused = int(earlier["task"].nunique()) if len(earlier) else 0
    runs = evaluate(cfg, tasks, folder, workers, settings.method)
    t_runs = time.perf_counter() - t0
    runs.insert(1, "point", np.repeat(np.arange(len(unit)), settings.replications))
    unsaved = [o for o in settings.outcomes if o not in runs.columns]
    if unsaved:
        raise SensitivityError([f"outcomes: {', '.join(unsaved)} not saved by the runs in {folder} (an older "
                                "folder saves no by_group metrics); choose a new out= to run the design again"])
    means = runs.groupby("point")[list(settings.outcomes)].mean()
    design = pd.DataFrame(unit, columns=prob["names"])
    outputs.write_parquet(folder / "design.parquet", design)
    tables, notes = [], []
    for outcome in settings.outcomes:
        x, y, note = complete_points(settings, prob, unit, means[outcome].to_numpy(dtype=float), outcome)
        if note:
            notes.append(note)
        if x is None:
            continue
        frame = analyse(settings, prob, x, y, cfg.seed)
        frame.insert(0, "outcome", outcome)
        frame.insert(2, "rank", np.arange(1, len(frame) + 1))
        tables.append(frame)
    indices = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    outputs.write_text(folder / "indices.csv", indices.to_csv(index=False, float_format="%.6g"))
    outputs.write_text(folder / "top10.md", top_table(indices, settings, 10))
    for figure in FIGURES:  # an earlier analysis's figures (other outcomes) must not outlive its indices
        (folder / figure).unlink(missing_ok=True)
    if len(indices):
        if settings.method == "morris":
            outputs.write_with(folder / "morris_mu_star_sigma.png",
                               lambda p: plot_morris(indices, p, cfg.origin.name))
        outputs.write_with(folder / "ranked.png", lambda p: plot_ranked(indices, p, settings.method, cfg.origin.name))
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    outputs.write_json(folder / "sensitivity.json", {
        "command": "python -m sim.sensitivity " + " ".join(_argv_of(settings)),
        "points": int(len(unit)), "runs": len(tasks), "runs_reused": reused, "workers": workers,
        "seconds_runs": round(t_runs, 1), "seconds_total": round(time.perf_counter() - t0, 1),
        "load_average_start": load0, "load_average_end": load1, "notes": notes})
    for line in notes:
        print(f"note: {line}", file=sys.stderr)
    if not len(indices):
        raise SensitivityError([f"outcomes: no outcome had a value at every design point, so no indices were "
                                f"computed (the runs are kept in {folder}); choose outcomes with a value in every "
                                "run, or a larger scale or more years"])
    return folder


def _argv_of(settings: Settings) -> list[str]:
    own = [f"method={settings.method}"]
    if settings.method == "morris":
        own += [f"trajectories={settings.trajectories}", f"levels={settings.levels}"]
    else:
        own += [f"samples={settings.samples}", f"groups={settings.groups}"]
    if settings.outcomes != DEFAULT_OUTCOMES:
        own.append("outcomes=" + ",".join(settings.outcomes))
    if settings.replications != 1:
        own.append(f"replications={settings.replications}")
    return own + list(settings.overrides)


def top_table(indices: pd.DataFrame, settings: Settings, n: int = 10) -> str:
    """A markdown table: for each outcome, its ``n`` most influential parameters (rank order)."""
    key = "mu_star" if settings.method == "morris" else "ST"
    lines = [f"Generated by `python -m sim.sensitivity {' '.join(_argv_of(settings))}`; ranked by {key}.", ""]
    if not len(indices):
        return "\n".join(lines + ["No outcome had a value at every design point."]) + "\n"
    for outcome, frame in indices.groupby("outcome", sort=False):
        lines += [f"**{outcome}**", "", f"| rank | parameter | {key} | {key} 95% half-width |", "|---|---|---|---|"]
        for _, r in frame.head(n).iterrows():
            lines.append(f"| {r['rank']} | `{r['parameter']}` | {r[key]:.4g} | {r[key + '_conf']:.2g} |")
        lines.append("")
    return "\n".join(lines)


def _grid(n: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = math.ceil(n / 2)
    fig, axes = plt.subplots(rows, 2, figsize=(14, 4.2 * rows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return plt, fig, axes


def plot_morris(indices: pd.DataFrame, path: Path, origin: str, label: int = 6) -> None:
    """mu*-sigma plot per outcome; the ``label`` largest mu* named. Points above the line
    sigma = mu* act non-linearly or through interactions."""
    outcomes = list(dict.fromkeys(indices["outcome"]))
    plt, fig, axes = _grid(len(outcomes))
    for ax, outcome in zip(axes.flat, outcomes):
        frame = indices[indices["outcome"] == outcome]
        ax.scatter(frame["mu_star"], frame["sigma"], s=12, color="#4477aa")
        top = max(frame["mu_star"].max(), frame["sigma"].max(), 1e-12)
        ax.plot([0, top], [0, top], color="grey", lw=0.8, ls="--", label="sigma = mu*")
        for _, r in frame.head(label).iterrows():
            ax.annotate(r["parameter"].split(".", 1)[1], (r["mu_star"], r["sigma"]), fontsize=6,
                        xytext=(3, 2), textcoords="offset points")
        ax.set_xlabel("mu* (mean |elementary effect|, outcome units per prior range)")
        ax.set_ylabel("sigma (sd of elementary effects)")
        ax.set_title(outcome, fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"{origin}: Morris screen of the declared priors")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def plot_ranked(indices: pd.DataFrame, path: Path, method: str, origin: str, n: int = 15) -> None:
    """Bars of the ``n`` largest effects per outcome (Morris mu*; Sobol total effect ST, with S1),
    with 95% confidence half-widths."""
    key = "mu_star" if method == "morris" else "ST"
    outcomes = list(dict.fromkeys(indices["outcome"]))
    plt, fig, axes = _grid(len(outcomes))
    for ax, outcome in zip(axes.flat, outcomes):
        frame = indices[indices["outcome"] == outcome].head(n).iloc[::-1]
        ypos = np.arange(len(frame))
        ax.barh(ypos, frame[key], xerr=frame[key + "_conf"], color="#4477aa", label=key)
        if method == "sobol":
            ax.barh(ypos, frame["S1"], height=0.4, color="#ee6677", label="S1 (first order)")
            ax.legend(fontsize=7, loc="lower right")
        ax.set_yticks(ypos, frame["parameter"], fontsize=7)
        ax.set_xlabel("total-effect index ST" if method == "sobol" else
                      "mu* (mean |elementary effect|, outcome units per prior range)")
        ax.set_title(outcome, fontsize=10)
    fig.suptitle(f"{origin}: {'Sobol total effects' if method == 'sobol' else 'Morris screen'}, "
                 f"top {n} per outcome (bars: 95% confidence)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def command(argv: list[str] | None, doc: str, work, interrupted: str) -> int:
    """Run ``work(argv)`` as a command: ``-h`` prints ``doc``; a :class:`SensitivityError` is one
    ``error:`` line per problem and exit 2; Ctrl-C says ``interrupted`` and exits 130."""
    argv = sys.argv[1:] if argv is None else argv
    if any(a in ("-h", "--help") for a in argv):
        print(doc)
        return 0
    try:
        folder = work(argv)
    except SensitivityError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"error: interrupted; {interrupted}", file=sys.stderr)
        return 130
    print(f"wrote {folder}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.sensitivity key=value ...``; exit 0 done, 2 bad input (one line each)."""
    return command(argv, __doc__, lambda a: run(parse(a)),
                   "the design points run so far are kept (rerun the same command to go on)")


if __name__ == "__main__":
    sys.exit(main())
