"""Calibration: ABC-SMC (pyabc) of the influential parameters against an origin's targets.

::

    python -m sim.calibrate origin=japan                              # parameters from the latest Morris screen
    python -m sim.calibrate origin=japan population=100 generations=5 replications=2 scale=0.1
    python -m sim.calibrate origin=japan parameters=params.elective.apply_base,origin.electives.hic_slots
    python -m sim.calibrate origin=japan ship=true                    # also write configs/posterior/japan.parquet

This command's keys: ``origin``; ``sensitivity`` (a Morris folder of ``python -m
sim.sensitivity``; default the newest for the origin, used with the trajectories it has
finished) and ``top`` (how many parameters to calibrate, default 10: the two that move each
target most, in units of its interval, then the next strongest), or ``parameters`` (a comma
list of dotted keys, instead); ``population`` (particles per generation, default 100),
``generations`` (at most, default 5), ``min_epsilon`` (stop when reached, default 0.5),
``replications`` (model runs averaged per particle, default 2), ``check`` (replications of
the posterior predictive check, default 50), ``jobs``, ``out`` (default
``results/calibration/<origin>_<date>_<time>``) and ``ship`` (``true``: also install the
posterior as ``configs/posterior/<origin>.parquet``). Other keys are model settings as for
``python -m sim`` (``scale``, ``seed``, ``years``; the default ``scale`` here is 0.1).

Method. The parameters are calibrated on their prior quantile scale: each gets a Uniform(0, 1)
prior on ``u``, mapped to its value by the declared prior's inverse CDF at ``0.005 + 0.99 u``
(as in :mod:`sim.sensitivity`), which is the declared prior (truncated to its central 99%) by
the probability integral transform; every other parameter stays at its central value. A
particle's outcome is the mean over ``replications`` runs; its distance to the targets is
``max_i |mean_i - target_i| / half-width_i`` over the targets of
``configs/targets/<origin>.yaml`` (distance 1: every mean at the edge of its interval).
pyabc's ABC-SMC then runs with a quantile epsilon schedule (median of the previous
generation's distances) and a multivariate normal perturbation kernel. The posterior
predictive check then runs ``check`` replications, each with a particle drawn by weight, and
counts those whose every target metric lies in its interval. Model seeds come from ``seed`` and the evaluation's number, and pyabc's own draws
from numpy's generator seeded with ``seed`` (single-core sampler; each particle's
replications run in parallel), so the calibration is reproducible for any ``jobs``.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import zlib
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import resources
from .sensitivity import TAIL, SensitivityError, command, split_args, to_quantile

RESULTS = Path("results") / "calibration"
OWN_KEYS = ("sensitivity", "top", "parameters", "population", "generations", "min_epsilon", "replications",
            "jobs", "out", "ship", "check")


class Calibration:
    """The model as pyabc sees it: quantiles in, distance-ready metric means out."""

    def __init__(self, cfg: Any, keys: list[str], targets: list, replications: int, workers: int):
        from . import ensemble, provenance

        self.cfg, self.keys, self.targets = cfg, keys, targets
        self.factors = provenance.factors(cfg)
        self.replications = replications
        self.count = 0
        self.executor = None
        if workers > 1:
            from concurrent.futures import ProcessPoolExecutor

            self.executor = ProcessPoolExecutor(workers, mp_context=ensemble._context(),
                                                initializer=ensemble._init_worker,
                                                initargs=(ensemble.Plan(cfg, cfg.seed),))

    def values(self, u: np.ndarray) -> list[dict[str, Any]]:
        """Parameter values (dotted keys) of particles given on the unit scale (rows)."""
        from . import provenance

        return provenance.at_quantiles(self.cfg, self.keys, to_quantile(np.atleast_2d(u)), among=self.factors)

    def __call__(self, particle: dict) -> dict:
        from . import ensemble

        values = self.values(np.array([[particle[_name(i)] for i in range(len(self.keys))]]))[0]
        base = self.count * self.replications
        self.count += 1
        tasks = [(ensemble.replication_seed(self.cfg.seed, base + r + 1), values) for r in range(self.replications)]
        reps = self.map(tasks)
        return {f"m{i}": _mean([_metric(r.summary, t.metric) for r in reps]) for i, t in enumerate(self.targets)}

    def map(self, tasks: list[tuple[int, dict]]) -> list:
        """Run (seed, values) tasks, in parallel when there is a pool; results in task order."""
        from . import ensemble

        if self.executor is None:
            return [ensemble.run_one(ensemble.Plan(self.cfg, self.cfg.seed, tasks=(t,)), 0) for t in tasks]
        return list(self.executor.map(_run_task, tasks))

    def distance(self, x: dict, _x0: dict | None = None) -> float:
        """max over targets of |model mean - target| / half the target's interval (inf if missing)."""
        worst = 0.0
        for i, t in enumerate(self.targets):
            m = x[f"m{i}"]
            if m is None or math.isnan(m):
                return math.inf
            half = max((t.high - t.low) / 2, 1e-12)
            worst = max(worst, abs(m - t.value) / half)
        return worst

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def _run_task(task: tuple[int, dict]):
    from . import ensemble

    plan = ensemble._PLAN
    rep = ensemble.run_one(ensemble.Plan(plan.cfg, plan.seed, tasks=(task,)), 0)
    rep.timeseries = None  # not needed; keeps the result small to send back
    return rep


def _name(i: int) -> str:
    return f"u{i}"


def _metric(summary: dict, metric: str) -> float:
    from .targets import metric_value

    v = metric_value(summary, metric)
    return math.nan if v is None else v


def _mean(xs: list[float]) -> float:
    arr = np.asarray(xs, dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else math.nan


# --------------------------------------------------------------------- choosing parameters

def latest_morris(origin: str) -> Path | None:
    """The newest Morris folder of ``python -m sim.sensitivity`` for ``origin`` under results/sensitivity/."""
    from .sensitivity import DESIGN_FILE, RESULTS

    found = [(p.stat().st_mtime, p) for p in RESULTS.glob(f"{origin}_morris_*") if (p / DESIGN_FILE).is_file()]
    return max(found)[1] if found else None


def influential(folder: Path, targets: list, top: int) -> tuple[list[str], pd.DataFrame, str]:
    """The ``top`` parameters that move the targets most in a Morris screen; (keys, table of the
    scores, a note on the trajectories used). A parameter's score for a target is its Morris
    mu* for the target's metric (analysed from the screen's saved runs) divided by the target's
    half-width; the two highest for each target are chosen first, then the highest score over
    targets fills the rest.
    A screen still running is used with the trajectories it has finished."""
    from .sensitivity import DESIGN_FILE, Settings, _done, analyse, complete_points, problem, unit_design

    spec = json.loads((folder / DESIGN_FILE).read_text(encoding="utf-8"))["spec"]
    if spec.get("method") != "morris":
        raise SensitivityError([f"sensitivity: {folder} is not a Morris screen"])
    settings = Settings(method="morris", trajectories=int(spec["trajectories"]), levels=int(spec["levels"]))
    prob = problem([_Named(k) for k in spec["factors"]])
    unit = unit_design(settings, prob, int(spec["seed"]))
    reps = int(spec.get("replications", 1))
    runs = _done(folder)
    if not len(runs):
        raise SensitivityError([f"sensitivity: {folder} holds no finished design points yet"])
    runs = runs.drop_duplicates("task").assign(point=lambda f: f["task"] // reps)
    scores, note = {}, ""
    for t in targets:
        if t.metric not in runs.columns:
            continue  # a by_group target: not among the screen's saved metrics
        y = runs.groupby("point")[t.metric].mean().reindex(range(len(unit))).to_numpy(dtype=float)
        x, y, _ = complete_points(settings, prob, unit, y, t.metric)
        if x is None:
            continue
        note = f"{len(x) // (prob['num_vars'] + 1)} of {settings.trajectories} trajectories of {folder}"
        frame = analyse(settings, prob, x, y, int(spec["seed"])).set_index("parameter")
        scores[t.metric] = frame["mu_star"] / max((t.high - t.low) / 2, 1e-12)
    if not scores:
        raise SensitivityError([f"sensitivity: {folder} has no complete trajectory with the target metrics; "
                                "give parameters=... instead"])
    table = pd.DataFrame(scores)
    table["score"] = table.max(axis=1)
    table = table.sort_values("score", ascending=False)
    chosen = list(dict.fromkeys(k for metric in scores for k in table[metric].nlargest(2).index))[:top]
    chosen += [k for k in table.index if k not in chosen][:top - len(chosen)]
    return chosen, table, note


class _Named:
    def __init__(self, key: str):
        self.key, self.decision = key, key


def predictive_check(model: "Calibration", values: pd.DataFrame, weights: np.ndarray, n: int,
                     seed: int) -> dict[str, Any]:
    """Run ``n`` replications, each with a particle drawn by weight (seeded) and its own seed, and
    count those whose every target metric lies in its interval (``python -m sim.targets`` per
    replication)."""
    from . import ensemble

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(zlib.crc32(b"predictive"),)))
    rows = rng.choice(len(values), size=n, p=weights / weights.sum())
    tasks = [(ensemble.replication_seed(seed, 10**6 + k), {c: values[c].iloc[r] for c in values.columns})
             for k, r in enumerate(rows)]
    reps = model.map(tasks)
    within = [all(t.low <= _metric(r.summary, t.metric) <= t.high for t in model.targets) for r in reps]
    per_target = {t.metric: float(np.mean([t.low <= _metric(r.summary, t.metric) <= t.high for r in reps]))
                  for t in model.targets}
    return {"replications": n, "share_meeting_every_target": float(np.mean(within)), "share_per_target": per_target}


# --------------------------------------------------------------------- running

def parse(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    mine, rest, errors = split_args(argv, OWN_KEYS)
    opts: dict[str, Any] = {"top": 10, "population": 100, "generations": 5, "min_epsilon": 0.5, "replications": 2,
                            "jobs": 0, "check": 50, "ship": False, "sensitivity": None, "parameters": None, "out": None}
    for key, lo, hi in (("top", 1, 50), ("population", 10, 100000), ("generations", 1, 100),
                        ("replications", 1, 100), ("jobs", 0, 1024), ("check", 0, 100000)):
        if key in mine:
            try:
                v = int(mine[key])
            except ValueError:
                v = None
            if v is None or not lo <= v <= hi:
                errors.append(f"{key}: {mine[key]!r} is not allowed; expected an integer in [{lo}, {hi}]")
            else:
                opts[key] = v
    if "min_epsilon" in mine:
        try:
            opts["min_epsilon"] = float(mine["min_epsilon"])
            assert opts["min_epsilon"] >= 0 and math.isfinite(opts["min_epsilon"])
        except (ValueError, AssertionError):
            errors.append(f"min_epsilon: {mine['min_epsilon']!r} is not allowed; expected a number >= 0")
    if "ship" in mine:
        if mine["ship"] not in ("true", "false"):
            errors.append(f"ship: {mine['ship']!r} is not allowed; expected true or false")
        opts["ship"] = mine["ship"] == "true"
        if opts["ship"] and not resources.IN_CHECKOUT:
            errors.append("ship: true writes configs/posterior/ of a checkout of the project; this is an installed "
                          "copy (the calibration's own folder keeps its posterior)")
    if "parameters" in mine:
        opts["parameters"] = [k.strip() for k in mine["parameters"].split(",") if k.strip()]
        if not opts["parameters"]:
            errors.append("parameters: empty; expected dotted keys, comma-separated")
        twice = [k for k in dict.fromkeys(opts["parameters"]) if opts["parameters"].count(k) > 1]
        if twice:
            errors.append(f"parameters: {', '.join(twice)} given twice; give each parameter once")
    for key in ("sensitivity", "out"):
        if key in mine:
            opts[key] = Path(mine[key])
    if opts["sensitivity"] is not None and not (opts["sensitivity"] / "design.json").is_file():
        errors.append(f"sensitivity: {opts['sensitivity']} is not a complete folder of python -m sim.sensitivity "
                      "method=morris")
    if not any(a.startswith("scale=") for a in rest):
        rest.append("scale=0.1")
    if errors:
        raise SensitivityError(errors)
    return opts, rest


def run(argv: list[str]) -> Path:
    """Run a calibration; returns its folder."""
    from . import outputs, posterior, provenance
    from .sensitivity import compose
    from .targets import TargetsError, load_targets, targets_path

    opts, overrides = parse(argv)
    cfg = compose(overrides, OWN_KEYS, "sim.calibrate")
    origin = cfg.origin.name
    try:
        _, targets = load_targets(targets_path(origin))
    except TargetsError as err:
        raise SensitivityError([f"origin: {err}"]) from None
    factor_keys = [f.key for f in provenance.factors(cfg)]
    if opts["parameters"]:
        keys = opts["parameters"]
        bad = [k for k in keys if k not in factor_keys]
        if bad:
            raise SensitivityError([f"parameters: {', '.join(bad)} not uncertain parameters of this configuration; "
                                    "expected dotted keys with a prior, e.g. " + ", ".join(factor_keys[:3])])
        scores, chosen_from = None, "given on the command line"
    else:
        folder = opts["sensitivity"] or latest_morris(origin)
        if folder is None:
            raise SensitivityError([f"sensitivity: no Morris screen for origin {origin!r} under results/sensitivity/; "
                                    f"run `python -m sim.sensitivity method=morris origin={origin}` first, or give "
                                    "parameters=..."])
        _check_screen(folder, cfg)
        keys, scores, chosen_from = influential(folder, targets, opts["top"])
    _say(f"calibrating {len(keys)} parameters ({chosen_from}): {', '.join(keys)}")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d_%H-%M-%S")
    out = opts["out"] or RESULTS / f"{origin}_{stamp}"
    if out.exists() and any(out.iterdir()):
        raise SensitivityError([f"out: {out} exists and is not empty; choose a new folder"])
    out.mkdir(parents=True, exist_ok=True)
    from .sensitivity import workers_for

    workers = min(workers_for(opts["jobs"]), opts["replications"])
    outputs.write_json(out / "calibration.json", {"status": "running", "command": "python -m sim.calibrate "
                                                  + " ".join(argv), "parameters": keys,
                                                  "parameters_from": chosen_from})
    model = Calibration(cfg, keys, targets, opts["replications"], workers)
    t0 = time.perf_counter()
    try:
        history = _abc(model, keys, opts, out, cfg.seed)
        seconds = time.perf_counter() - t0
        particles, weights = history.get_distribution(m=0, t=history.max_t)
        u = particles[[_name(i) for i in range(len(keys))]].to_numpy()
        values = pd.DataFrame(model.values(u))[keys]
        weights = np.asarray(weights, dtype=float)
        check = predictive_check(model, values, weights, opts["check"], cfg.seed) if opts["check"] else None
    finally:
        model.close()
    pops = history.get_all_populations()
    generations = [{"t": int(r.t), "epsilon": float(r.epsilon), "samples": int(r.samples),
                    "particles": int(r.particles),
                    "acceptance_rate": float(r.particles / r.samples) if r.samples else None}
                   for r in pops.itertuples() if r.t >= 0]
    command = "python -m sim.calibrate " + " ".join(argv)
    meta = {"command": command, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "origin": origin, "scale": cfg.scale, "years": cfg.years, "seed": cfg.seed,
            "population": opts["population"], "replications": opts["replications"],
            "effective_sample_size": round(float(weights.sum() ** 2 / (weights ** 2).sum()), 1),
            "generations": generations, "parameters": keys, "parameters_from": chosen_from, "tail": TAIL,
            "distance": "max over targets of |mean - target| / half-width"}
    posterior.write(origin, values, weights, meta, directory=out)
    comparison = compare(model, keys, values, np.asarray(weights, dtype=float))
    outputs.write_text(out / "posterior_vs_prior.csv", comparison.to_csv(index=False, float_format="%.6g"))
    if scores is not None:
        outputs.write_text(out / "influence.csv", scores.to_csv(float_format="%.6g"))
    outputs.write_json(out / "calibration.json", {"status": "complete", **meta, "seconds": round(seconds, 1), "workers": workers,
                                                 "evaluations": model.count,
                                                 "runs": model.count * opts["replications"],
                                                 "predictive_check": check})
    outputs.write_with(out / "posterior.png", lambda p: plot(model, keys, values, np.asarray(weights), p, origin))
    if check:
        _say(f"predictive check: {round(check['share_meeting_every_target'] * check['replications'])} of "
             f"{check['replications']} replications met every target")
    if opts["ship"]:
        path = posterior.posterior_path(origin)
        before = _describe(path)
        posterior.write(origin, values, weights, meta)
        _say(f"installed {path.relative_to(resources.CONFIG_DIR.parent)} ({before or 'new'}; now "
             f"{len(weights)} particles, {cfg.years} years, effective sample size "
             f"{meta['effective_sample_size']}); configs/posterior/README.md lists what made each posterior")
    return out


def _say(line: str) -> None:
    print(f"calibrate: {line}", file=sys.stderr, flush=True)


def _describe(path: Path) -> str | None:
    """What an installed posterior holds, for the line that says it was replaced."""
    from . import posterior

    if not path.is_file():
        return None
    try:
        _, _, weights, meta = posterior.load(path.stem, path.parent)
    except Exception:  # an unreadable file is replaced all the same
        return "replaced an unreadable file"
    return (f"replaced {len(weights)} particles of {meta.get('date', 'an unknown date')}, "
            f"{meta.get('years', '?')} years, effective sample size {meta.get('effective_sample_size', '?')}")


def _check_screen(folder: Path, cfg: Any) -> None:
    """Refuse a screen of another origin; say when its years or scale differ from this run's."""
    spec = json.loads((folder / "design.json").read_text(encoding="utf-8")).get("spec", {})
    if spec.get("origin") != cfg.origin.name:
        raise SensitivityError([f"sensitivity: {folder} is a screen of origin {spec.get('origin')!r}, not "
                                f"{cfg.origin.name!r}; give a screen of {cfg.origin.name!r} (python -m "
                                f"sim.sensitivity method=morris origin={cfg.origin.name})"])
    differ = [f"{k} {spec.get(k)} (here {getattr(cfg, k)})" for k in ("years", "scale")
              if spec.get(k) is not None and spec.get(k) != getattr(cfg, k)]
    if differ:
        _say(f"note: the screen {folder} ran with {', '.join(differ)}; its ranking of parameters may differ "
             "from this calibration's")


def _abc(model: Calibration, keys: list[str], opts: dict, out: Path, seed: int):
    import pyabc

    abc_logger = logging.getLogger("ABC")
    abc_logger.setLevel(logging.INFO)
    abc_logger.propagate = False
    progress = _Progress(opts["generations"])
    abc_logger.handlers = [progress]
    np.random.seed(seed % 2**32)  # pyabc draws with numpy's global generator
    prior = pyabc.Distribution(**{_name(i): pyabc.RV("uniform", 0, 1) for i in range(len(keys))})
    abc = pyabc.ABCSMC(model, prior, model.distance, population_size=opts["population"],
                       eps=pyabc.QuantileEpsilon(alpha=0.5), sampler=pyabc.sampler.SingleCoreSampler())
    abc.new(f"sqlite:///{(out / 'abc.db').resolve()}", {f"m{i}": t.value for i, t in enumerate(model.targets)})
    return abc.run(minimum_epsilon=opts["min_epsilon"], max_nr_populations=opts["generations"])


class _Progress(logging.Handler):
    """pyabc's generation messages as one progress line each on stderr (``calibrate: ...``)."""

    def __init__(self, generations: int):
        super().__init__(logging.INFO)
        self.generations, self.t0 = generations, time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        msg = record.getMessage()
        if record.levelno >= logging.WARNING:
            line = msg
        elif msg.startswith("t: "):
            t, eps = msg[3:].rstrip(".").split(", eps: ")
            line = f"generation {int(t) + 1} of at most {self.generations}: epsilon {float(eps):.3g}"
        elif msg.startswith("Accepted: "):
            counts, ess = msg[len("Accepted: "):].rstrip(".").split(", ESS: ")
            n, total = counts.split(" = ")[0].split(" / ")
            line = (f"  accepted {n} of {total} particles evaluated, effective sample size {float(ess):.0f}; "
                    f"{time.perf_counter() - self.t0:.0f} s so far")
        elif msg.startswith("Stop"):
            line = msg.lower().rstrip(".")
        else:
            return
        print(f"calibrate: {line}", file=sys.stderr, flush=True)


def _weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    order = np.argsort(x)
    cum = np.cumsum(w[order]) / w.sum()
    return [float(x[order][min(np.searchsorted(cum, q), len(x) - 1)]) for q in qs]


def compare(model: Calibration, keys: list[str], values: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """Per parameter: prior and posterior median and central 90% interval (first element of a
    list parameter), and the posterior's interval width as a share of the prior's."""
    grid = np.linspace(0, 1, 2001)[:, None] * np.ones((1, len(keys)))
    prior_values = pd.DataFrame(model.values(grid))[keys]
    rows = []
    for key in keys:
        post = np.asarray([v[0] if isinstance(v, list) else v for v in values[key]], dtype=float)
        pri = np.asarray([v[0] if isinstance(v, list) else v for v in prior_values[key]], dtype=float)
        p5, p50, p95 = _weighted_quantiles(pri, np.ones_like(pri), (0.05, 0.5, 0.95))
        q5, q50, q95 = _weighted_quantiles(post, weights, (0.05, 0.5, 0.95))
        rows.append({"parameter": key, "prior_median": p50, "prior_5": p5, "prior_95": p95,
                     "posterior_median": q50, "posterior_5": q5, "posterior_95": q95,
                     "width_ratio": (q95 - q5) / (p95 - p5) if p95 > p5 else math.nan})
    return pd.DataFrame(rows)


def plot(model: Calibration, keys: list[str], values: pd.DataFrame, weights: np.ndarray, path: Path,
         origin: str) -> None:
    """Prior against weighted posterior, one panel per parameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(13, 3.2 * rows), squeeze=False)
    grid = np.linspace(0, 1, 2001)[:, None] * np.ones((1, len(keys)))
    prior_values = pd.DataFrame(model.values(grid))[keys]
    for ax, key in zip(axes.flat, keys):
        post = np.asarray([v[0] if isinstance(v, list) else v for v in values[key]], dtype=float)
        pri = np.asarray([v[0] if isinstance(v, list) else v for v in prior_values[key]], dtype=float)
        bins = np.linspace(pri.min(), pri.max(), 30) if pri.max() > pri.min() else 10
        ax.hist(pri, bins=bins, density=True, alpha=0.4, color="grey", label="prior")
        ax.hist(post, bins=bins, weights=weights, density=True, alpha=0.6, color="#4477aa", label="posterior")
        ax.set_xlabel(key, fontsize=8)
        ax.set_ylabel("density")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    fig.suptitle(f"{origin}: ABC-SMC posterior against the declared prior")
    fig.tight_layout()
    fig.savefig(path, dpi=110, format="png")
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``python -m sim.calibrate key=value ...``; exit 0 done, 2 bad input (one line each)."""
    return command(argv, __doc__, run, "nothing is kept (the calibration's folder holds its partial database)")


if __name__ == "__main__":
    sys.exit(main())
