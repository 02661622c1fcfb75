"""Replications: one experiment run many times with derived seeds, on every core.

A job of ``python -m sim`` runs ``replications`` copies of one configuration. Replication 0
uses ``seed`` itself, so a single run is replication 0; replication ``k >= 1`` uses
:func:`replication_seed` (a child of ``numpy.random.SeedSequence(seed)``), so any replication
can be rerun alone with ``python -m sim seed=<its seed>`` and gives identical results. Under
``params.uncertainty=sampled`` each replication draws its parameters from its own seed.
With ``base_seed`` set, every replication starts from the base population spun up from
``base_seed`` (:class:`sim.model.BasePopulation`); each process builds it once and reuses it
(and the arrays of the replication before) for every replication of the same configuration,
so a replication costs its reported years, not the spin-up. Replication ``k`` alone is then
``python -m sim seed=<its seed> base_seed=<base_seed>``.

Replications run in a process pool (``jobs`` workers, default one per core) or, with one
worker or one replication, in this process. Workers start once per job from a fork server
that has already imported the model, take the configuration once, and then only receive a
replication number; results are collected by replication number, so they do not depend on
the number of workers. Finished models are freed at once (their reference cycles are
collected after each replication), so memory stays flat however many replications run.

The model core knows nothing of this module; this module knows nothing of Hydra or files.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import multiprocessing as mp
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .config import SimConfig, _f

# A job keeps every replication's summary and yearly table in memory until it writes them
# (about 30 kB a replication over 35 years): 100,000 replications are about 3 GB.
MAX_REPLICATIONS = 100_000
MAX_JOBS = 1024


@dataclass
class OutputsConfig:
    """Optional files of a run folder. ``null`` (the default) writes the file for a single run
    of one replication and leaves it out of sweeps and ensembles, where it costs more than
    it tells (the PNG about 0.2 s a job, the event log tens of MB at national scale)."""

    events: Optional[bool] = None
    plots: Optional[bool] = None


@dataclass
class RunConfig(SimConfig):
    """The model's configuration plus how to run it; the run-level keys never reach the model.

    ``replications``: runs of this configuration, with seeds derived from ``seed``.
    ``jobs``: worker processes for the replications; 0 means one per available core (divided
    among the jobs a parallel launcher runs at once).
    ``objective``: a metric name (dotted for ``by_group`` entries) or ``targets``; the job
    then returns a float for Hydra's sweepers (see :func:`objective_value`).
    """

    replications: int = _f(1, MAX_REPLICATIONS, default=1)
    jobs: int = _f(0, MAX_JOBS, default=0)
    objective: Optional[str] = None
    outputs: OutputsConfig = field(default_factory=OutputsConfig)


RUN_KEYS = ("replications", "jobs", "objective", "outputs")


def split(run: RunConfig) -> SimConfig:
    """The model's :class:`SimConfig` out of a :class:`RunConfig` (run-level keys dropped)."""
    return SimConfig(**{f.name: getattr(run, f.name) for f in dataclasses.fields(SimConfig)})


def replication_seed(seed: int, k: int) -> int:
    """The seed of replication ``k`` of a run with seed ``seed``.

    Replication 0 uses ``seed`` itself. Replication ``k >= 1`` uses the first 64-bit word of
    child ``k`` of ``numpy.random.SeedSequence(seed)`` (``SeedSequence(seed, spawn_key=(k,))``)
    shifted right by one bit, so it is a valid ``seed`` (0 to 2**63 - 1). Children of a
    SeedSequence are independent streams by construction (numpy's documented use).
    """
    if k < 0:
        raise ValueError(f"replication {k}: must be >= 0")
    if k == 0:
        return int(seed)
    import numpy as np

    word = np.random.SeedSequence(int(seed), spawn_key=(int(k),)).generate_state(1, np.uint64)[0]
    return int(word) >> 1


@dataclass
class Replication:
    """What one replication produced. ``summary`` is the model's summary (nested ``by_group``);
    ``timeseries`` its yearly table; ``drawn`` the parameters drawn under ``sampled``."""

    replication: int
    seed: int
    summary: dict
    timeseries: Any
    drawn: dict
    events: Any = None
    people: int = 0
    setup_seconds: float = 0.0
    run_seconds: float = 0.0
    metrics_seconds: float = 0.0   # summary and yearly table taken from the finished model
    peak_memory_mb: float = 0.0    # of the process that ran it, so far
    pid: int = 0                   # the process that ran it
    cpu: dict = field(default_factory=dict)  # CPU seconds: model (set-up, years), metrics, process so far
    notes: tuple = ()              # what a worker process had to say while running it (compiling)


@dataclass
class Plan:
    """Everything a worker needs, sent once: the configuration and what to keep."""

    cfg: SimConfig
    seed: int
    params_option: Optional[str] = None
    events_of: tuple[int, ...] = ()   # replications whose event log is kept
    # Design points (sensitivity analysis, calibration): when given, task ``k`` runs with seed
    # ``tasks[k][0]`` and the parameter values ``tasks[k][1]`` (dotted keys), not with
    # ``replication_seed(seed, k)`` and the configuration's own uncertainty mode.
    tasks: tuple[tuple[int, dict], ...] = ()


_PLAN: Plan | None = None


class Stopped(SystemExit):
    """SIGTERM: unwind (removing what the run wrote) and exit 128 + 15."""


STOP_REQUESTED: list[int] = []


def request_stop(signum: int, frame: Any = None) -> None:  # noqa: ARG001 - a signal handler
    """The SIGTERM handler of ``python -m sim``: stop. The request is also remembered, because
    an exception raised by a signal handler is lost when the signal arrives while Python runs
    a finaliser (``__del__``, a weakref callback); :func:`check_stop` raises it again."""
    STOP_REQUESTED.append(signum)
    raise Stopped(128 + signum)


def check_stop() -> None:
    """Raise :class:`Stopped` if a stop was requested (called between replications and jobs)."""
    if STOP_REQUESTED:
        raise Stopped(128 + STOP_REQUESTED[0])


def _settle() -> None:
    """Collect what a worker's set-up left behind and freeze it: later collections skip those
    objects, so collecting each finished model's cycles costs about a millisecond, not 0.15 s."""
    gc.collect()
    gc.freeze()


class _Notes(logging.Handler):
    """A worker's messages for the user (compiling the decision loops), kept to go back with
    the replication's result: the parent says them once, in its own log, not each worker on
    its stderr."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


_NOTES = _Notes()


def _init_worker(plan: Plan) -> None:
    global _PLAN
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool
    _PLAN = plan
    kernels_log = logging.getLogger("sim.kernels")
    kernels_log.addHandler(_NOTES)
    kernels_log.setLevel(logging.INFO)
    kernels_log.propagate = False
    from . import metrics, model  # noqa: F401 - imported once per worker (already, under the fork server)
    _settle()


def _parameters(plan: Plan, k: int) -> tuple[int, SimConfig, dict]:
    """(seed, configuration, values drawn) of task ``k``: a design point's, or replication
    ``k``'s under the configuration's uncertainty mode (``sampled``: from the priors;
    ``posterior``: a row of the origin's posterior sample)."""
    from . import provenance

    if plan.tasks:
        seed, drawn = plan.tasks[k]
        return seed, provenance.apply(dataclasses.replace(plan.cfg, seed=seed), drawn), drawn
    seed = replication_seed(plan.seed, k)
    cfg = dataclasses.replace(plan.cfg, seed=seed)
    mode = cfg.params.uncertainty
    if mode == "central":
        return seed, cfg, {}
    if mode == "posterior":
        from . import posterior

        drawn = posterior.draw(cfg, seed)
    else:
        drawn = provenance.sample(cfg, seed, **({"params": plan.params_option} if plan.params_option else {}))
    return seed, provenance.apply(cfg, drawn), drawn


def run_one(plan: Plan, k: int) -> Replication:
    """Run replication ``k`` of ``plan`` in this process and free the model before returning."""
    from . import metrics
    from .model import CareerModel

    seed, cfg, drawn = _parameters(plan, k)
    t0, cpu0 = time.perf_counter(), time.process_time()
    base = base_population(cfg)
    model = CareerModel(cfg, base=base)
    t1 = time.perf_counter()
    model.run()
    t2, cpu2 = time.perf_counter(), time.process_time()
    summary = metrics.summary(model)
    summary["parameters_sampled"] = int(cfg.params.uncertainty in ("sampled", "posterior"))
    result = Replication(k, seed, summary, metrics.timeseries(model), drawn,
                         metrics.events(model) if k in plan.events_of else None,
                         int(model.pop.n), t1 - t0, t2 - t1)
    result.metrics_seconds = time.perf_counter() - t2
    result.cpu = {"model": cpu2 - cpu0, "metrics": time.process_time() - cpu2}
    if base is not None:
        base.recycle(model)  # its arrays serve the next replication
    del model
    gc.collect()  # the model sits in reference cycles; without this a few stay alive at a time
    result.peak_memory_mb = peak_memory_mb()
    result.pid = os.getpid()
    result.cpu["process"] = time.process_time()  # all this process has used so far
    return result


_BASE: list = []  # this process's last base population (at most one)


def base_population(cfg: SimConfig):
    """The base population a run of ``cfg`` starts from (None without ``base_seed``): the one
    this process built last if it fits (replications of one configuration differ in ``seed``
    alone, so each process spins up once), else a new one, which replaces it."""
    if cfg.base_seed is None:
        return None
    if not (_BASE and _BASE[0].fits(cfg)):
        from .model import BasePopulation

        _BASE[:] = []  # free the old one before building the next
        _BASE.append(BasePopulation(cfg))
    return _BASE[0]


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB (0 where the platform does not say)."""
    try:
        import resource
    except ImportError:
        return 0.0
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / 2**20


_RAN: list[int] = []


def _worker_run(k: int) -> Replication:
    assert _PLAN is not None, "worker not initialised"
    result = run_one(_PLAN, k)
    result.notes, _NOTES.lines = tuple(_NOTES.lines), []
    if not _RAN:
        gc.freeze()  # what the first replication loaded (the compiled code) stays: later collections skip it
    _RAN.append(k)
    return result


def available_cores() -> int:
    """Cores this process may use (its CPU affinity, e.g. a SLURM allocation)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _context() -> mp.context.BaseContext:
    """A fork server that has imported the model (workers start in milliseconds, without the
    threads of this process); spawn where there is no fork server."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["sim.metrics", "sim.provenance"])
        return ctx
    return mp.get_context("spawn")


def pool_likely(cfg: SimConfig, n: int) -> bool:
    """Whether ``n`` replications of ``cfg`` are big enough that a pool will probably pay
    (then its fork server is started early): more than a million people simulated in all,
    about four national-scale replications."""
    from .config import people_simulated

    return n > 1 and n * people_simulated(cfg) > 1e6


def prestart() -> None:
    """Start the fork server now, so that its imports overlap the work before the pool starts."""
    ctx = _context()
    if ctx.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


# What a pool costs before its workers are as fast as this process: starting them from the
# fork server, each loading the compiled decision loops (about 0.35 s) and the pool's own
# start and stop; measured about 1 s on the development machine.
POOL_COST_SECONDS = 1.0


def _warm_up(plan: Plan) -> None:
    """Load the compiled decision loops here with a tiny run of the same configuration, so that
    timing replication 0 measures the replication, not the loading."""
    from .model import CareerModel

    cfg = plan.cfg
    tiny = dataclasses.replace(cfg, years=min(cfg.years, 3),
                               scale=min(cfg.scale, 20 / max(cfg.origin.intake_per_year, 1)))
    try:
        CareerModel(tiny).run()
    except Exception:  # noqa: BLE001 - only a warm-up; the replication itself reports any problem
        pass


def _in_process(plan: Plan, ks: range, results: dict, progress: Callable[[int], None] | None) -> None:
    # frozen for the loop only: what this process holds (a sweep's earlier jobs, say) goes
    # back to the collector afterwards
    gc.freeze()
    try:
        for i, k in enumerate(ks):
            check_stop()
            results[k] = run_one(plan, k)
            if i == 0:
                gc.freeze()  # and what the first replication loaded (the compiled code, if not yet)
            if progress:
                progress(len(results))
    finally:
        gc.unfreeze()


def _pooled(plan: Plan, ks: range, workers: int, results: dict, progress: Callable[[int], None] | None) -> None:
    # concurrent.futures, not multiprocessing.Pool: the Pool's worker-handler thread spins on
    # its result pipe while a result waits to be read, which took a whole core from the
    # workers when replications are short (44 s of CPU for 1,000 small replications)
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    executor = ProcessPoolExecutor(min(workers, len(ks)), mp_context=_context(), initializer=_init_worker,
                                   initargs=(plan,))
    said: set[str] = set()
    try:
        pending = {executor.submit(_worker_run, k) for k in ks}
        while pending:
            done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
            check_stop()
            for future in done:
                rep = future.result()
                _say_notes(rep, said)
                results[rep.replication] = rep
                if progress:
                    progress(len(results))
    except BaseException:
        for process in list(getattr(executor, "_processes", {}).values()):  # stop the running ones too
            process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)
        raise
    executor.shutdown(wait=True)


def _say_notes(rep: Replication, said: set[str]) -> None:
    """Say in this process's log what a worker had to say: each announcement once, and how
    long each worker compiled."""
    from .kernels import _say

    for line in rep.notes:
        if line.startswith("compiled in "):
            _say(f"{line} (worker process {rep.pid})")
        elif line not in said:
            said.add(line)
            _say(line)


def run_replications(plan: Plan, n: int, workers: int, progress: Callable[[int], None] | None = None,
                     adaptive: bool = False) -> list[Replication]:
    """Replications ``0 .. n-1`` of ``plan``, in replication order, on ``workers`` processes.

    ``workers <= 1`` (or ``n == 1``) runs them in this process. ``adaptive``: unless the job
    is clearly big enough for a pool (:func:`pool_likely`), run replication 0 here first and
    the rest in a pool only if that saves more than the pool costs
    (:data:`POOL_COST_SECONDS`), judged by how long replication 0 took; small jobs then never
    pay for a pool. Which process runs a replication does not
    change its result. ``progress(done)`` is called as each replication finishes. An
    exception in a replication stops the others and is raised here (the pool's workers are
    terminated).
    """
    results: dict[int, Replication] = {}
    try:
        if workers <= 1 or n == 1:
            _in_process(plan, range(n), results, progress)
        elif adaptive and not pool_likely(plan.cfg, n):
            _warm_up(plan)
            t0 = time.perf_counter()
            _in_process(plan, range(1), results, progress)
            rest = (n - 1) * (time.perf_counter() - t0)
            if rest * (1 - 1 / min(workers, n - 1)) > POOL_COST_SECONDS:
                _pooled(plan, range(1, n), workers, results, progress)
            else:
                _in_process(plan, range(1, n), results, progress)
        else:
            _pooled(plan, range(n), workers, results, progress)
    finally:
        _BASE.clear()  # a base population built here is not kept past its job
    return [results[k] for k in range(n)]


def cpu_seconds(reps: list[Replication]) -> dict[str, float]:
    """CPU seconds of a job, which unlike wall time do not grow when other work shares the
    machine: its replications' model (set-up and years) and metrics, every worker process in
    all, and this process. (A fork server's own imports are not counted.)"""
    workers: dict[int, float] = {}
    for r in reps:
        if r.pid != os.getpid():
            workers[r.pid] = max(workers.get(r.pid, 0.0), r.cpu.get("process", 0.0))
    return {"model": round(sum(r.cpu.get("model", 0.0) for r in reps), 3),
            "metrics": round(sum(r.cpu.get("metrics", 0.0) for r in reps), 3),
            "workers": round(sum(workers.values()), 3), "this_process": round(time.process_time(), 3)}
