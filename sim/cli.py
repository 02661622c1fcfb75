"""Hydra entry point: check the command line, run the job (its replications), write its folder.

``python -m sim`` runs the default experiment; ``python -m sim experiment=NAME`` runs a
named file from ``experiments/``; any key can be overridden (``seed=7 scale=0.1``),
``replications=N`` runs N replications in one job, and ``-m`` sweeps. This layer owns
everything the model core does not: configuration files, output folders, replications,
tables, plots and progress.

The command line (:func:`cli`, run by ``python -m sim``) first composes and checks the
configuration (:mod:`sim.checks`), so that every problem (a wrong type, an unknown key or
option, a value out of range, a run too large, an output folder it may not write) is one
``error:`` line with exit code 2 and nothing is created on disk; it then locks the output
folder and hands over to Hydra, which calls :func:`main` once per job.

A job (:func:`main`) keeps an earlier complete result whose configuration is the same
(``COMPLETE`` lists the SHA-256 of its ``config.yaml``), so a sweep rerun into its folder
only runs the jobs that are missing, failed or changed. In a sweep, a job that fails does
not stop the others: it leaves a ``FAILED`` record in its folder, and the command names each
failed job at the end and exits with code 1.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import os
import platform
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from . import checks, ensemble, outputs, sweep
from .checks import (CONFIG_DIR, UserError, check_command_line, inspect_command_line,  # noqa: F401
                     to_run_config, to_sim_config)
from .compose import load_config  # noqa: F401 - composition from Python lives in sim.compose
from .ensemble import RunConfig

log = logging.getLogger("sim")

# keys that say how to run, not what: never columns of the tables, never part of "what the job is"
NOT_COLUMNS = ("jobs", "objective", "outputs", "seed", "experiment")


# ---------------------------------------------------------------- the command line

def _quoted(path: Path) -> str:
    text = str(path).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _with_folder(args: list[str], key: str, folder: Path) -> list[str]:
    """The command line with the output folder given resolved (every job then writes under it)."""
    kept = [a for a in args if a.lstrip("+").split("=", 1)[0] != key]
    return [*kept, f"{key}={_quoted(folder)}"]


def cli(argv: list[str] | None = None) -> None:
    """``python -m sim``: check the configuration first, then hand over to Hydra to run it."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    try:
        code = _command(sys.argv[1:])
    finally:
        # the process ends here: skip collecting its garbage at exit (about 0.6 s of a run;
        # files and logs are closed and flushed by then)
        gc.freeze()
    if code:
        sys.exit(code)


def _what_is_kept(found: checks.Checked) -> str:
    if found.multirun:
        return "the jobs completed so far are kept, the unfinished one removed (rerun the same command to go on)"
    return "the unfinished run was removed (an earlier complete result in its folder is kept)"


def _command(args: list[str]) -> int:
    """The command line's work; returns the exit code."""
    try:
        found = inspect_command_line(args)
    except Exception as exc:  # noqa: BLE001 - a fault in the pre-check must not block a run
        print(f"warning: the configuration could not be checked up front ({type(exc).__name__}: {exc}); "
              "it is checked again when the run starts", file=sys.stderr)
        found = checks.Checked(checked=False)
    if found.errors:
        for line in found.errors:
            print(f"error: {line}", file=sys.stderr)
        return 2
    lock, created = None, False
    if found.folder is not None:
        created = not found.folder.exists()
        lock = outputs.FolderLock(found.folder)
        try:
            lock.acquire()
        except outputs.FolderBusyError as err:
            print(f"error: {found.folder_key}: {err}", file=sys.stderr)
            return 2
        sys.argv = [sys.argv[0], *_with_folder(args, found.folder_key, found.folder)]
    if found.pool:
        ensemble.prestart()  # the workers' imports overlap Hydra's composition of the run
    previous = signal.signal(signal.SIGTERM, ensemble.request_stop)
    sweep.REPORTED_BY_CLI[0] = True
    if found.multirun and found.folder is not None:
        # beside the progress bar in a terminal, else among the log lines
        print(f"sweep folder: {found.folder}", file=sys.stderr if sweep.progress_wanted() else sys.stdout)
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if isinstance(exit_, ensemble.Stopped):
            print(f"error: stopped (SIGTERM); {_what_is_kept(found)}", file=sys.stderr)
    except KeyboardInterrupt:
        print(f"error: interrupted; {_what_is_kept(found)}", file=sys.stderr)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if found.multirun and found.folder is not None:
            sweep.stop(found.folder)
        if lock is not None:
            lock.release()
        if created and code:
            _remove_if_empty(found.folder, found.multirun)
    for line in sweep.FAILURES:
        print(f"error: {line}", file=sys.stderr)
    if code == 0 and sweep.FAILURES:
        print(f"error: {len(sweep.FAILURES)} job(s) failed; rerun the same command to run them again "
              "(complete jobs are kept)", file=sys.stderr)
        code = 1
    return code


def _remove_if_empty(folder: Path, multirun: bool) -> None:
    """After an interrupted run into a folder it created: remove the folder if no result is in it."""
    if not folder.is_dir():
        return
    if multirun:
        if any(outputs.is_complete(p) for p in folder.iterdir() if p.is_dir()):
            return
        for p in list(folder.iterdir()):
            if p.is_dir() and p.name not in outputs.HYDRA_DIRS:
                outputs.discard_run(p)
        for name in (outputs.SWEEP_FILE, outputs.TABLES_LOCK, *outputs.SWEEP_EXTRAS):
            (folder / name).unlink(missing_ok=True)
    elif outputs.is_complete(folder):
        return
    outputs.discard_run(folder)


# ---------------------------------------------------------------- one job

@dataclass
class Job:
    """What Hydra says about the job being run."""

    folder: Path
    multirun: bool
    num: int | None
    root: Path | None
    overrides: list[str]
    choices: dict[str, Any]
    launcher: str
    launcher_jobs: int | None
    objective: str | None = None
    swept: dict[str, str] = field(default_factory=dict)
    sweep_id: str | None = None

    @classmethod
    def from_hydra(cls, hc: Any, cfg: DictConfig) -> "Job":
        multirun = hc.mode == RunMode.MULTIRUN
        root = Path(str(hc.sweep.dir)).absolute() if multirun else None
        overrides = sweep.task_overrides(hc)
        swept: dict[str, str] = {}
        sweep_id = None
        if root is not None:
            try:
                ledger = json.loads((root / outputs.SWEEP_FILE).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                ledger = {}
            base = ledger.get("overrides", [])
            sweep_id = ledger.get("id")
            swept = dict(ov.split("=", 1) for ov in overrides if ov not in base and "=" in ov)
        n_jobs = OmegaConf.select(hc, "launcher.n_jobs", default=None)
        objective = cfg.get("objective") if isinstance(cfg.get("objective"), str) else None
        return cls(Path(hc.runtime.output_dir), multirun, OmegaConf.select(hc, "job.num", default=None), root,
                   overrides, dict(hc.runtime.choices), str(OmegaConf.select(hc, "launcher._target_", default="")),
                   n_jobs if isinstance(n_jobs, int) else None, objective, swept, sweep_id)

    @property
    def experiment(self) -> str | None:
        return self.choices.get("experiment")

    @property
    def name(self) -> str:
        what = " ".join(self.overrides) or "defaults"
        return f"job {self.num} ({what})" if self.multirun else f"run ({what})"

    def failed(self, error: str) -> float | None:
        """Record a failed job of a sweep in its folder; the value the job returns to the sweeper."""
        outputs.write_json(self.folder / outputs.FAILED, {
            "job": self.num, "overrides": self.overrides, "error": error,
            "log": f"{HydraConfig.get().job.name}.log"})
        log.error("%s failed: %s", self.name, error)
        return _worst_value() if self.objective else None


def set_keys(overrides: list[str], cfg: DictConfig, choices: dict[str, Any]) -> dict[str, Any]:
    """The keys set on the command line (or swept) with their typed values, for the tables."""
    parser = OverridesParser.create()
    values: dict[str, Any] = {}
    for ov in overrides:
        try:
            p = parser.parse_override(ov)
        except Exception:  # noqa: BLE001 - Hydra has already accepted it
            continue
        key = p.key_or_group
        if p.is_delete() or p.is_hydra_override() or key.split(".")[0] in NOT_COLUMNS:
            continue
        if key in choices:
            value = choices[key]
        else:
            value = OmegaConf.select(cfg, key, default=None)
            if OmegaConf.is_config(value):
                value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, dict):
            continue
        from .tables import scalars

        values.update(scalars(key, value))
    return values


def _workers(run_cfg: RunConfig, sim_cfg: Any, job: Job) -> int:
    """Worker processes for this job's replications: ``jobs``, or the cores this job may use
    (all of them; shared among the jobs a joblib launcher runs at once; one per job under
    submitit's local launcher, which runs every job at once), at most as many as fit in
    the machine's memory (at most half of it for the workers together)."""
    from .config import memory_estimate_bytes

    n = run_cfg.jobs
    if n == 0:
        cores = ensemble.available_cores()
        if "joblib" in job.launcher.lower():
            concurrent = job.launcher_jobs or -1
            concurrent = cores + 1 + concurrent if concurrent < 0 else concurrent
            n = max(1, cores // max(1, concurrent))
        elif "submitit" in job.launcher.lower() and "Local" in job.launcher:
            n = 1
        else:
            n = cores
    fit = max(1, int(_memory_bytes() / 2 // memory_estimate_bytes(sim_cfg)))
    return max(1, min(n, fit, run_cfg.replications))


def _memory_bytes() -> float:
    """This machine's physical memory in bytes (16 GB where the system does not say)."""
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return 16e9  # assumption: a common workstation's memory


def _want(flag: bool | None, job: Job, n: int) -> bool:
    return flag if flag is not None else (not job.multirun and n == 1)


def _targets(run_cfg: RunConfig) -> list | None:
    if run_cfg.objective != "targets":
        return None
    from .targets import load_targets, targets_path

    return load_targets(targets_path(run_cfg.origin.name))[1]


def _objective(run_cfg: RunConfig, runs: Any) -> float:
    from .tables import objective_value

    from .metrics import unknown_metric

    if run_cfg.objective != "targets" and run_cfg.objective not in runs.columns:  # a group this origin lacks
        raise UserError([unknown_metric(run_cfg.objective)])
    return objective_value(runs, run_cfg.objective, _targets(run_cfg))


def _worst_value() -> float:
    """The value a failed or valueless trial returns: the worst for the sweeper's direction
    (Optuna stops the whole search on NaN, so a trial without a value must have one)."""
    try:
        direction = OmegaConf.select(HydraConfig.get().sweeper, "direction", default="minimize")
    except ValueError:  # no Hydra run (a test calling the task directly)
        direction = "minimize"
    first = direction[0] if isinstance(direction, (list, tuple)) or OmegaConf.is_list(direction) else direction
    return -math.inf if str(first).lower().endswith("maximize") else math.inf


def _for_sweeper(value: float, objective: str) -> float:
    """``value`` for the sweeper: as it is, or the worst value when the metric was missing
    (``null``) in every replication."""
    if not math.isnan(value):
        return value
    worst = _worst_value()
    log.warning("objective %s is missing in every replication (its denominator is empty); the sweeper gets %s, "
                "the worst value", objective, worst)
    return worst


def _progress_bar(n: int, job: Job):
    if job.multirun or n <= 1 or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=n, desc="replications", unit="rep", file=sys.stderr, dynamic_ncols=True)


def run_job(cfg: DictConfig, job: Job) -> Any:
    """Run one job: keep an earlier identical result, or run its replications and write its folder."""
    ensemble.check_stop()
    t0 = time.perf_counter()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    folder = job.folder
    run_cfg = to_run_config(cfg)
    sim_cfg = ensemble.split(run_cfg)
    resolved_yaml = _config_header(sim_cfg) + OmegaConf.to_yaml(cfg, resolve=True)
    outputs.remove_stale_temporaries(folder)
    (folder / outputs.FAILED).unlink(missing_ok=True)
    if outputs.completed_config_sha256(folder) == outputs.sha256_text(resolved_yaml):
        log.info("kept %s: it already holds this run, complete", folder)
        summary = outputs.read_summary(folder)
        if run_cfg.objective:
            return _for_sweeper(_objective(run_cfg, outputs.read_runs(folder)), run_cfg.objective)
        return None if job.multirun else summary
    n = run_cfg.replications
    events = _want(run_cfg.outputs.events, job, n)
    plots = _want(run_cfg.outputs.plots, job, n)
    workers = _workers(run_cfg, sim_cfg, job)
    plan = ensemble.Plan(sim_cfg, sim_cfg.seed, job.choices.get("params"), (0,) if events else ())
    adaptive = run_cfg.jobs == 0  # jobs=N: a pool of N whatever the size
    log.log(logging.DEBUG if job.multirun else logging.INFO, "started: %d replication(s) on up to %d process(es)",
            n, workers)
    bar = _progress_bar(n, job)
    try:
        reps = ensemble.run_replications(plan, n, workers, (lambda done: bar.update(1)) if bar else None,
                                         adaptive=adaptive)
    finally:
        if bar is not None:
            bar.close()
    t_model = time.perf_counter() - t0
    workers = workers if len({r.pid for r in reps}) > 1 else 1  # the processes that ran at once
    result = _write_folder(cfg, run_cfg, sim_cfg, job, reps, resolved_yaml, events, plots, workers, t0, started)
    level = logging.DEBUG if job.multirun else logging.INFO
    log.log(level, "wrote %s (%d replication(s), %.1fs)", folder, n, time.perf_counter() - t0)
    log.debug("model %.2fs of %.2fs", t_model, time.perf_counter() - t0)
    return result


def _write_folder(cfg: DictConfig, run_cfg: RunConfig, sim_cfg: Any, job: Job, reps: list, resolved_yaml: str,
                  events: bool, plots: bool, workers: int, t0: float, started: str) -> Any:
    from . import tables

    keys = set_keys(job.overrides, cfg, job.choices)
    runs = tables.runs_frame(reps, job.experiment, keys)
    yearly = tables.yearly_frame(reps, job.experiment, keys)
    first = reps[0]
    objective = _objective(run_cfg, runs) if run_cfg.objective else None
    writer = outputs.RunWriter(job.folder)
    try:
        writer.text("config.yaml", resolved_yaml)
        writer.json("parameters.json", {
            "uncertainty": sim_cfg.params.uncertainty, "seed": first.seed,
            "note": (f"values drawn {_DRAWN_FROM[sim_cfg.params.uncertainty]} for replication 0 (every other "
                     "parameter at its central value); the draws of every replication are columns of runs.parquet"
                     if first.drawn else "every parameter at its central value (see config.yaml)"),
            "drawn": first.drawn,
        })
        writer.json("summary.json", first.summary)
        writer.parquet("timeseries.parquet", first.timeseries)
        writer.parquet(outputs.RUNS_TABLE, runs)
        writer.parquet(outputs.YEARLY_TABLE, yearly)
        if events:
            writer.parquet("events.parquet", first.events)
        if plots:
            from . import plots as plotting  # matplotlib: only when a plot is written

            title = (f"{sim_cfg.origin.name} -> {sim_cfg.destination.name}, policy {sim_cfg.policy.name}, "
                     f"seed {sim_cfg.seed}")
            changed = checks.changes_from_experiment(job.overrides)
            if changed:  # not the experiment as its file defines it
                title += f"\n{job.experiment or 'run'} changed: {', '.join(changed)}"
            writer.write_with("stocks.png", lambda p: plotting.plot_stocks(first.timeseries, p, title, sim_cfg.scale))
        writer.json("job.json", {
            "job": job.num, "sweep": str(job.root) if job.root else None, "sweep_id": job.sweep_id,
            "folder": job.folder.name,
            "experiment": job.experiment, "overrides": job.overrides, "swept": job.swept, "keys": keys,
            "seed": sim_cfg.seed, "base_seed": sim_cfg.base_seed, "replications": run_cfg.replications,
            "objective": run_cfg.objective,
            "objective_value": None if objective is None or math.isnan(objective) else objective,
            "status": "complete", "config_sha256": outputs.sha256_text(resolved_yaml),
        })
        ensemble.check_stop()
        writer.json("run.json", {
            "experiment": job.experiment, "params": job.choices.get("params"), "overrides": job.overrides,
            "seed": sim_cfg.seed, "base_seed": sim_cfg.base_seed, "years": sim_cfg.years, "scale": sim_cfg.scale,
            "origin": sim_cfg.origin.name, "destination": sim_cfg.destination.name, "policy": sim_cfg.policy.name,
            "replications": run_cfg.replications, "workers": workers,
            "peak_memory_mb": round(max(ensemble.peak_memory_mb(), *(r.peak_memory_mb for r in reps))),
            "cpu_seconds": ensemble.cpu_seconds(reps),
            "people_simulated": first.people, "events": int(len(first.events)) if events else None,
            "setup_seconds": round(first.setup_seconds, 3), "run_seconds": round(first.run_seconds, 3),
            "total_seconds": round(time.perf_counter() - t0, 3),
            "python": platform.python_version(), "mesa": version("mesa"), "numpy": version("numpy"),
            "changes_from_experiment": checks.changes_from_experiment(job.overrides),
            **_provenance_of_run(started),
        })
        writer.commit()
    except BaseException:
        writer.discard()
        raise
    if run_cfg.objective:
        return _for_sweeper(objective, run_cfg.objective)
    return None if job.multirun else first.summary  # Hydra keeps every job's return value until a sweep ends


_DRAWN_FROM = {"sampled": "from their priors (configs/provenance/)",
               "posterior": "from the origin's calibrated posterior (configs/posterior/)"}


def _config_header(sim_cfg: Any) -> str:
    """What config.yaml cannot show by itself: under ``sampled`` or ``posterior`` its values are
    the central ones, not those the model ran with."""
    mode = sim_cfg.params.uncertainty
    if mode not in _DRAWN_FROM:
        return ""
    return (f"# params.uncertainty={mode}: the values below are the central values. Each replication drew its\n"
            f"# parameters {_DRAWN_FROM[mode]}: replication 0's draws are in parameters.json,\n"
            "# every replication's are columns of runs.parquet.\n")


def _provenance_of_run(started: str) -> dict[str, Any]:
    """Product version, the checkout's git commit (and whether it had changes), the start time and
    the version of every installed library, for run.json."""
    from importlib.metadata import PackageNotFoundError, distributions

    from . import __version__

    try:
        product = version("career-migration-sim")
    except PackageNotFoundError:
        product = __version__
    libraries = {}
    for dist in distributions():
        name = dist.metadata["Name"]
        if name:
            libraries[name.lower()] = dist.version
    return {"product_version": product, "started": started, **_git_state(),
            "libraries": dict(sorted(libraries.items()))}


def _git_state() -> dict[str, Any]:
    """``git_commit`` and ``git_dirty`` when the package runs from a git checkout (else both null)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    none = {"git_commit": None, "git_dirty": None}
    if not (root / ".git").exists():
        return none
    try:
        commit = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                                timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return none
    return {"git_commit": commit, "git_dirty": bool(status.strip())}


def _traceback_to_log_file(message: str) -> None:
    """The current exception's traceback into the job's log file only (the console gets one line)."""
    record = log.makeRecord(log.name, logging.ERROR, __file__, 0, message, (), sys.exc_info())
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.handle(record)


def _discard(folder: Path) -> None:
    """Remove a folder this job created if it holds no result (only Hydra's files for it)."""
    if folder.is_dir() and not outputs.is_complete(folder) and not any(
            (folder / name).exists() for name in outputs.KNOWN_FILES):
        outputs.discard_run(folder)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> Any:
    """The task Hydra runs for each job: :func:`run_job`, with failures reported as this layer's.

    A single run stops on a configuration problem with ``error:`` lines (exit code 2); in a
    sweep a failing job records why in its folder (``FAILED``) and the sweep goes on.
    """
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    try:
        job = Job.from_hydra(hc, cfg)
    except BaseException:
        _discard(Path(hc.runtime.output_dir))
        raise
    try:
        return run_job(cfg, job)
    except UserError as err:
        if job.multirun:
            return job.failed("; ".join(err.lines))
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        _discard(job.folder)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - in a sweep, one job's failure must not stop the others
        if job.multirun:
            _traceback_to_log_file(f"{job.name} failed")
            return job.failed(f"{type(exc).__name__}: {exc}".splitlines()[0])
        _discard(job.folder)
        raise
    except BaseException:  # Ctrl-C, SIGTERM: the unfinished job leaves nothing behind
        _discard(job.folder)
        raise
