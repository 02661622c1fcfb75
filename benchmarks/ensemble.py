"""Speed of ensembles: many replications of one experiment, as a user runs them.

    python benchmarks/ensemble.py                       # 1,000 national-scale replications, then 1,000 at scale 0.01
    python benchmarks/ensemble.py --replications 100    # fewer
    python benchmarks/ensemble.py --scales 1            # national scale only
    python benchmarks/ensemble.py --sweep 20            # also: 20 replications as a sweep of 20 one-replication jobs
    python benchmarks/ensemble.py --base-seed 1         # also: each ensemble from a shared base population

Each measurement is one whole process, exactly as a user types it:

    python -m sim replications=N scale=S outputs.events=false outputs.plots=false hydra.run.dir=<temporary>

(Japan -> USA, baseline, 35 years; summaries and yearly tables kept, event log and plot off),
and with ``--base-seed B`` the same with ``base_seed=B`` right after it (every replication
starting from one shared base population; README, Base population), timed from its start to
its exit: imports, composing the configuration, starting the worker
processes, the replications, building and writing the tables, and interpreter exit. The
run's own tables then say how much of that was the model: each replication's set-up and
yearly steps (``setup_seconds``, ``run_seconds``) and taking its summary and yearly table
from the finished model (``metrics_seconds``). Over ``workers`` processes the run had
``wall x workers`` process-seconds; what the model did not use is this layer's cost
(start-up, pool, moving results between processes, tables, files, exit), reported per
replication. At scale 0.01 the model's share is small, which shows the layer's own cost.

Before each ensemble, two fixed one-core workloads are timed (:func:`speed_reference`):
the same commit's timings on one machine differ from day to day with the load of the host,
and these say how fast the machine was when the ensemble ran.

Results: printed, and written to ``benchmarks/results/ensemble.json`` with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "ensemble.json"
QUIET = ["outputs.events=false", "outputs.plots=false"]


def machine() -> dict:
    """The machine, as ``benchmarks/run.py`` records it, and Hydra's version."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from run import machine as model_benchmark_machine

    return {**model_benchmark_machine(), "hydra": version("hydra-core")}


# runs a command and prints the peak resident memory (kB) of the largest process it (or its
# children, and theirs) ran: a fresh process, so that earlier measurements do not count
_PEAK = ("import resource, subprocess, sys\n"
         "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
         "sys.stderr.write(r.stderr)\n"
         "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
         "sys.exit(r.returncode)\n")


def speed_reference() -> dict:
    """Seconds of two fixed workloads on one core, measured now: 20 million additions in a
    pure-Python loop, and sorting 10 million float64 with numpy. The same code's timings on
    one machine vary from day to day with the load of the host it shares; recorded beside
    each ensemble, these say how fast the machine was at the time."""
    import numpy as np

    t0 = time.perf_counter()
    total = 0
    for i in range(20_000_000):
        total += i
    t1 = time.perf_counter()
    np.sort(np.random.default_rng(0).random(10_000_000))
    t2 = time.perf_counter()
    return {"python_loop_s": round(t1 - t0, 2), "numpy_sort_s": round(t2 - t1, 2)}


def _timed(args: list[str], cwd: Path) -> tuple[float, float]:
    """(wall seconds, peak resident memory in MB of the largest process) of one whole command."""
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _PEAK, *args], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"benchmark command failed ({' '.join(args)}):\n{r.stderr[-2000:]}")
    return wall, int(r.stdout.split()[-1]) / 1024


def ensemble(n: int, scale: str, jobs: int, tmp: Path, base_seed: int | None = None) -> dict:
    import pandas as pd

    folder = tmp / f"ensemble_{scale}_{n}_{base_seed}"
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    speed = speed_reference()
    base = [] if base_seed is None else [f"base_seed={base_seed}"]
    args = [sys.executable, "-m", "sim", f"replications={n}", f"scale={scale}", *base, *QUIET, f"jobs={jobs}",
            f"hydra.run.dir={folder}"]
    wall, peak = _timed(args, tmp)
    runs = pd.read_parquet(folder / "runs.parquet")
    run = json.loads((folder / "run.json").read_text())
    workers = run["workers"]
    peak = max(peak, run["peak_memory_mb"])  # workers started by a fork server are not counted above
    model = float((runs["setup_seconds"] + runs["run_seconds"]).sum())
    metrics = float(runs["metrics_seconds"].sum())
    layer = wall * workers - model - metrics
    cpu = run["cpu_seconds"]
    layer_cpu = cpu["workers"] + cpu["this_process"] - cpu["model"] - cpu["metrics"]
    return {
        "command": " ".join(["python -m sim", *args[3:-1]]), "replications": n, "scale": float(scale),
        "base_seed": base_seed,
        "people_per_replication": int(runs["people_simulated"].iloc[0]), "workers": workers,
        "wall_s": round(wall, 2), "wall_per_replication_ms": round(1000 * wall / n, 1),
        "model_setup_ms": round(1000 * runs["setup_seconds"].mean(), 1),
        "model_run_ms": round(1000 * runs["run_seconds"].mean(), 1),
        "metrics_ms": round(1000 * metrics / n, 1),
        "layer_ms_per_replication": round(1000 * layer / n, 1),
        "cpu_model_ms": round(1000 * cpu["model"] / n, 1), "cpu_metrics_ms": round(1000 * cpu["metrics"] / n, 1),
        "cpu_layer_ms_per_replication": round(1000 * layer_cpu / n, 1),
        "cpu_layer_fixed_s": round(cpu["this_process"], 2),
        "load_average_before": [round(x, 2) for x in load],
        "speed_reference_before": speed,
        "peak_rss_mb": round(peak),
    }


def sweep(n: int, scale: str, tmp: Path) -> dict:
    folder = tmp / f"sweep_{scale}_{n}"
    args = [sys.executable, "-m", "sim", "-m", f"seed=range(1,{n + 1})", f"scale={scale}", *QUIET,
            f"hydra.sweep.dir={folder}"]
    wall, peak = _timed(args, tmp)
    return {"command": " ".join(["python -m sim", *args[3:-1]]), "jobs": n, "scale": float(scale),
            "wall_s": round(wall, 2), "wall_per_job_ms": round(1000 * wall / n, 1), "peak_rss_mb": round(peak)}


# the benchmark's option that gives each key of the command lines it runs
_OPTION = {"replications": "--replications", "scale": "--scales", "jobs": "--jobs", "base_seed": "--base-seed"}


def _runs(args: argparse.Namespace) -> list[tuple[str, int | None]]:
    """(scale, base_seed) of each ensemble to measure, in order."""
    return [(scale, base) for scale in args.scales.split(",")
            for base in (None, *(() if args.base_seed is None else (args.base_seed,)))]


def _check(args: argparse.Namespace) -> list[str]:
    """What is wrong with the options, one item each: every command line the benchmark will run
    is checked by the model's own command-line check before any measurement, so that a bad
    value late in ``--scales`` does not throw away the ensembles measured before it."""
    from sim.checks import check_command_line

    problems = [] if args.sweep >= 0 else [f"--sweep: {args.sweep} is not allowed; expected an integer >= 0"]
    for scale, base in _runs(args):
        command = [f"replications={args.replications}", f"scale={scale}",
                   *([] if base is None else [f"base_seed={base}"]), *QUIET, f"jobs={args.jobs}"]
        for line in check_command_line(command):
            option = _OPTION.get(line.split(":", 1)[0], "options")
            if f"{option}: {line}" not in problems:
                problems.append(f"{option}: {line}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python benchmarks/ensemble.py", description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=1000)
    ap.add_argument("--scales", default="1,0.01", help="comma-separated scales (1 = national)")
    ap.add_argument("--jobs", type=int, default=0, help="worker processes (0: one per core)")
    ap.add_argument("--sweep", type=int, default=0, help="also run this many one-replication jobs as a sweep")
    ap.add_argument("--base-seed", type=int, default=None,
                    help="also run each ensemble with base_seed=B (from one shared base population)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    problems = _check(args)
    if problems:
        ap.error("; ".join(problems))   # one line, exit 2, before anything runs
    host = machine()  # as it is now, before the measurements (its load average among them)
    rows, sweeps = [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        # the compiled decision loops are loaded from numba's cache; compile them first if needed
        _timed([sys.executable, "-m", "sim", "scale=0.01", "years=3", *QUIET, f"hydra.run.dir={tmp / 'warm'}"], tmp)
        for scale, base in _runs(args):
            row = ensemble(args.replications, scale, args.jobs, tmp, base)
            rows.append(row)
            start = "" if base is None else f", base_seed={base}"
            print(f"{row['replications']} replications at scale {scale}{start} ({row['people_per_replication']:,} people "
                  f"each, {row['workers']} worker{'s' if row['workers'] != 1 else ''}): {row['wall_s']} s wall, {row['wall_per_replication_ms']} ms "
                  f"a replication; per replication the model's set-up {row['model_setup_ms']} ms and years "
                  f"{row['model_run_ms']} ms, the metrics {row['metrics_ms']} ms, this layer "
                  f"{row['layer_ms_per_replication']} ms; in CPU time the model {row['cpu_model_ms']} ms, the "
                  f"metrics {row['cpu_metrics_ms']} ms, this layer {row['cpu_layer_ms_per_replication']} ms "
                  f"(of which {row['cpu_layer_fixed_s']} s once, in the main process); peak memory "
                  f"{row['peak_rss_mb']} MB; load average before {row['load_average_before']}; machine speed before "
                  f"(one core): 20M Python additions {row['speed_reference_before']['python_loop_s']} s, "
                  f"numpy sort of 10M {row['speed_reference_before']['numpy_sort_s']} s", flush=True)
            if args.sweep and base is None:
                s = sweep(args.sweep, scale, tmp)
                sweeps.append(s)
                print(f"  as a sweep of {s['jobs']} one-replication jobs: {s['wall_s']} s, "
                      f"{s['wall_per_job_ms']} ms a job; peak memory {s['peak_rss_mb']} MB", flush=True)
    result = {"machine": host, "ensembles": rows, "sweeps": sweeps,
              "definitions": {"layer_ms_per_replication": "(wall x workers - model set-up, years and metrics "
                                                          "of every replication) / replications"}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
