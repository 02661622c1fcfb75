"""Sweeps: the sweep root's ledger and tables, kept by a Hydra callback from the job folders.

Hydra's ``on_multirun_end`` gets no job results, and with the joblib or submitit launchers
each job ends in another process (or machine), so everything here goes through the files:

- ``on_multirun_start`` (this process, before any job): ``sweep.json`` at the sweep root is
  started afresh (this sweep's command line, no jobs yet) and the previous sweep's tables
  are removed, so job folders an earlier, different sweep left in the root are not mixed in;
  a progress bar starts when stderr is a terminal.
- ``on_job_end`` (the job's process): reads the job folder (``COMPLETE`` or ``FAILED``),
  records the job in ``sweep.json`` and, at most every few seconds, rewrites the root's
  ``runs.parquet`` and ``yearly.parquet`` from the complete jobs, under a file lock (jobs of
  a parallel launcher end together), each file replaced atomically. A sweep stopped half-way
  leaves readable tables of the jobs done.
- ``on_multirun_end`` (this process): the tables once more with every job, the progress bar
  closed, and each failed job named in one line; the command then exits non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from . import hydra_compat, outputs
from .outputs import FAILED, RUNS_TABLE, SWEEP_FILE, TABLES_LOCK, YEARLY_TABLE

log = logging.getLogger("sim")
LEDGER_FORMAT = "career-migration-sim sweep v1"
# the root tables are rewritten when a job ends if the last rewrite is older than this many
# seconds, or than TABLES_EVERY times its own duration (big sweeps: a rewrite costs more)
TABLES_MIN_INTERVAL = 2.0
TABLES_EVERY = 10.0

# failures of the sweeps run by this process, read by the command line for its exit code
FAILURES: list[str] = []
REPORTED_BY_CLI = [False]  # the command line prints the failures itself, as error lines
_STOPPED: set[str] = set()


def _lock(root: Path):
    from filelock import FileLock

    return FileLock(str(Path(root) / TABLES_LOCK))


def _read_ledger(root: Path) -> dict:
    try:
        ledger = json.loads((Path(root) / SWEEP_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return ledger if isinstance(ledger, dict) and ledger.get("format") == LEDGER_FORMAT else {}


def _job_key(folder: Path, root: Path) -> str:
    return Path(os.path.relpath(folder, root)).as_posix()


def job_outcome(folder: Path) -> dict:
    """How the job in ``folder`` ended, from its files: complete, or failed and why."""
    folder = Path(folder)
    failed = folder / FAILED
    if failed.is_file():
        try:
            record = json.loads(failed.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            record = {}
        return {"status": "failed", "error": record.get("error", "failed (no reason recorded)")}
    if outputs.is_complete(folder):
        return {"status": "complete"}
    return {"status": "failed", "error": "no result was written (the job was stopped or crashed); see its log"}


def record_job(root: Path, folder: Path, num: int | None, overrides: list[str]) -> None:
    """Add a finished job to the ledger and, when due, rewrite the sweep's tables."""
    root, folder = Path(root), Path(folder)
    outcome = job_outcome(folder)
    with _lock(root):
        ledger = _read_ledger(root)
        if not ledger:
            return  # not a sweep this product started (or its ledger was removed)
        ledger["jobs"][_job_key(folder, root)] = {"job": num, "overrides": overrides, **outcome}
        with outputs.signals_held():
            outputs.write_json(root / SWEEP_FILE, ledger)
        due = time.time() - ledger.get("tables_written", 0) >= max(TABLES_MIN_INTERVAL,
                                                                   TABLES_EVERY * ledger.get("tables_seconds", 0))
        if due:
            _write_tables(root, ledger)
            outputs.write_json(root / SWEEP_FILE, ledger)


def _write_tables(root: Path, ledger: dict) -> None:
    """Rewrite the root tables from the ledger's complete jobs (reusing rows already there)."""
    import pandas as pd

    from .tables import combine, with_job

    t0 = time.perf_counter()
    complete = {key: info for key, info in ledger["jobs"].items() if info.get("status") == "complete"}
    nums = {key: info.get("job") for key, info in complete.items()}
    for name in (RUNS_TABLE, YEARLY_TABLE):
        path = root / name
        have = pd.DataFrame()
        if path.is_file():
            try:
                have = outputs.read_parquet(path)
            except (OSError, ValueError):
                have = pd.DataFrame()
        wanted = set(nums.values())
        kept = have[have["job"].isin(wanted)] if "job" in have.columns else pd.DataFrame()
        present = set(kept["job"].unique()) if len(kept) else set()
        frames = [kept]
        for key, num in nums.items():
            if num in present:
                continue
            try:
                frames.append(with_job(outputs.read_parquet(outputs.require_complete(root / key) / name), num))
            except (OSError, ValueError, outputs.IncompleteRunError) as err:
                log.warning("sweep table: job %s left out (%s)", key, err)
        df = combine(frames)
        if len(df):
            outputs.write_parquet(path, df)
        else:
            path.unlink(missing_ok=True)
    ledger["tables_written"] = time.time()
    ledger["tables_seconds"] = round(time.perf_counter() - t0, 3)


def _unrecorded(root: Path, ledger: dict) -> dict[str, dict]:
    """Complete jobs of this sweep that the ledger does not list yet (the sweep was stopped
    between a job's completion and its record): their job.json names this sweep."""
    found = {}
    for folder in root.iterdir():
        key = _job_key(folder, root)
        if key in ledger["jobs"] or not folder.is_dir() or not outputs.is_complete(folder):
            continue
        try:
            job = json.loads((folder / "job.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if job.get("sweep_id") == ledger.get("id"):
            found[key] = {"job": job.get("job"), "overrides": job.get("overrides"), "status": "complete"}
    return found


def finish(root: Path) -> list[str]:
    """Write the sweep's tables with every job recorded; one line per failed job."""
    root = Path(root)
    if not (root / SWEEP_FILE).is_file():
        return []
    with _lock(root):
        ledger = _read_ledger(root)
        if not ledger:
            return []
        ledger["jobs"].update(_unrecorded(root, ledger))
        _write_tables(root, ledger)
        outputs.write_json(root / SWEEP_FILE, ledger)
    lines = []
    for key, info in sorted(ledger["jobs"].items(), key=lambda kv: (kv[1].get("job") is None, kv[1].get("job"))):
        if info.get("status") == "failed":
            what = " ".join(info.get("overrides") or []) or "no overrides"
            lines.append(f"job {info.get('job', key)} ({what}) failed: {info.get('error')} [{root / key}]")
    return lines


def task_overrides(hydra_node: Any) -> list[str]:
    """The command line's overrides as typed: an override superseded by a later one with the same
    key may hold an interpolation that cannot be resolved (``'years=${oc.env:UNSET}' years=2``),
    so they are never resolved."""
    task = hydra_node.overrides.task
    return [str(o) for o in (OmegaConf.to_container(task, resolve=False) if OmegaConf.is_config(task) else task)]


def _job_count(config: DictConfig) -> int | None:
    """How many jobs this sweep runs, when that is known before it starts."""
    sweeper = OmegaConf.select(config, "hydra.sweeper._target_", default="") or ""
    if sweeper.endswith("BasicSweeper"):
        from hydra.core.override_parser.overrides_parser import OverridesParser

        try:
            parsed = OverridesParser.create().parse_overrides(task_overrides(config.hydra))
            return sum(len(batch) for batch in hydra_compat.BasicSweeper.split_arguments(parsed, None))
        except Exception:  # noqa: BLE001 - e.g. glob(), which needs the config loader
            return None
    n = OmegaConf.select(config, "hydra.sweeper.n_trials", default=None)
    return int(n) if isinstance(n, int) else None


class _Progress:
    """A progress bar of jobs done, fed from the ledger (jobs may end in other processes)."""

    def __init__(self, root: Path, total: int | None):
        from tqdm import tqdm

        self.root = root
        self.bar = tqdm(total=total, desc="sweep", unit="job", file=sys.stderr, dynamic_ncols=True)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, name="sweep-progress", daemon=True)
        self.thread.start()

    def _update(self) -> None:
        jobs = _read_ledger(self.root).get("jobs", {})
        done = len(jobs)
        failed = sum(1 for info in jobs.values() if info.get("status") == "failed")
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
        if failed:
            self.bar.set_postfix(failed=failed, refresh=False)

    def _poll(self) -> None:
        while not self.stop.wait(0.5):
            self._update()

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self._update()
        self.bar.close()


_PROGRESS: dict[str, _Progress] = {}


def start(root: Path, overrides: list[str], total: int | None, progress: bool) -> None:
    """A new sweep into ``root``: a fresh ledger, the previous sweep's tables removed."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with _lock(root):
        for name in (RUNS_TABLE, YEARLY_TABLE):
            (root / name).unlink(missing_ok=True)
        outputs.write_json(root / SWEEP_FILE, {
            "format": LEDGER_FORMAT, "id": uuid.uuid4().hex,
            "started": time.strftime("%Y-%m-%d %H:%M:%S"), "pid": os.getpid(),
            "overrides": overrides, "jobs_expected": total, "jobs": {}})
    if progress:
        _PROGRESS[str(root)] = _Progress(root, total)


def stop(root: Path) -> list[str]:
    """End of a sweep (finished or interrupted): close the progress bar, write the tables,
    and return one line per failed job (also kept in :data:`FAILURES`). Once per sweep."""
    if str(root) in _STOPPED:
        return []
    _STOPPED.add(str(root))
    bar = _PROGRESS.pop(str(root), None)
    if bar is not None:
        bar.close()
    lines = finish(root)
    FAILURES.extend(lines)
    return lines


def progress_wanted() -> bool:
    return sys.stderr.isatty()


class SweepTables(Callback):
    """The Hydra callback named in ``configs/config.yaml`` (``hydra.callbacks.sweep_tables``).

    Stateless, so that submitit can pickle it with the task and joblib's reused workers share
    nothing through it: everything it knows it reads from the sweep root.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        root = Path(str(config.hydra.sweep.dir))
        start(root, task_overrides(config.hydra), _job_count(config), progress_wanted())

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if config.hydra.mode != RunMode.MULTIRUN:
            return
        # Hydra keeps every job's JobReturn until the sweep ends; the two configurations in it
        # (about 2 MB a job) would grow memory by 2 GB over 1,000 jobs, and neither Hydra's
        # sweepers nor this project read them after the job (the job's folder has them)
        job_return.cfg = job_return.hydra_cfg = None
        root = Path(str(config.hydra.sweep.dir)).absolute()
        folder = Path(str(config.hydra.runtime.output_dir))
        num = OmegaConf.select(config, "hydra.job.num", default=None)
        record_job(root, folder, num, task_overrides(config.hydra))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        lines = stop(Path(str(config.hydra.sweep.dir)))
        if not REPORTED_BY_CLI[0]:
            for line in lines:
                log.error("%s", line)

