"""Run folders and sweep roots on disk: atomic files, a completion marker written last,
locks, and the readers.

The protocol of a run folder, so that nothing half-written is ever taken as a result and an
earlier result is never lost to a run that does not finish:

1. a run writes every file under a temporary name in the folder (:class:`RunWriter`),
   flushed to disk; the folder's earlier result, if any, is untouched meanwhile;
2. :meth:`RunWriter.commit` then, with Ctrl-C and SIGTERM held back, removes the old
   ``COMPLETE`` marker (and syncs the folder), renames each new file into place (an atomic
   replace), removes files of the earlier run that this one does not write, and writes
   ``COMPLETE`` last, with the size and SHA-256 of each file;
3. readers (:func:`require_complete`, :func:`read_summary`, :func:`read_runs`, ...) refuse a
   folder without the marker, or whose files no longer match it (changed, truncated, or
   mixed with a later run).

A run that fails or is stopped removes its temporary files (:meth:`RunWriter.discard`); one
killed outright during the renames leaves a folder without ``COMPLETE``, which a rerun into
the same folder replaces.

A sweep root holds one folder per job, ``sweep.json`` (which jobs belong to the latest sweep
into it, and how each ended) and the sweep's tables, ``runs.parquet`` and ``yearly.parquet``
(see ``sim.sweep``). Output folders carry a lock (``.sim-lock``, with the owner's process id)
while a run writes them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

if TYPE_CHECKING:  # pandas is imported when a table is read or written: checking a command line needs none
    import pandas as pd

COMPLETE = "COMPLETE"
FAILED = "FAILED"   # a job of a sweep that failed: what it was and why (a rerun replaces it)
# every run folder has these; events.parquet and stocks.png are optional (outputs.events/plots)
RUN_FILES = ("config.yaml", "parameters.json", "run.json", "job.json", "summary.json", "timeseries.parquet",
             "runs.parquet", "yearly.parquet")
OPTIONAL_FILES = ("events.parquet", "stocks.png")
KNOWN_FILES = RUN_FILES + OPTIONAL_FILES
# what `python -m sim.report` writes beside a run's or a sweep's files (sim.report.REPORT_FILES):
# not foreign to a rerun, and removed with the result it describes when a run replaces it
REPORT_FILES = ("report.html", "report_metrics.csv", "report_differences.csv", "report_pathway.csv",
                "report_return_curve.csv", "report_subgroups.csv", "report_yearly.csv")
# the files a folder completed before runs.parquet existed must all have (a marker without a manifest)
LEGACY_FILES = ("config.yaml", "parameters.json", "run.json", "summary.json", "timeseries.parquet",
                "events.parquet", "stocks.png")
MANIFEST_FORMAT = "career-migration-sim run manifest v1"

RUNS_TABLE = "runs.parquet"
YEARLY_TABLE = "yearly.parquet"
SWEEP_FILE = "sweep.json"
LOCK_FILE = ".sim-lock"
TABLES_LOCK = ".tables.lock"
# files Hydra and its plugins put in a sweep root
SWEEP_EXTRAS = ("multirun.yaml", "optimization_results.yaml")
HYDRA_DIRS = (".hydra", ".submitit")


class IncompleteRunError(RuntimeError):
    pass


class FolderBusyError(RuntimeError):
    """Another live process is writing the folder."""


def _tmp_name(path: Path) -> Path:
    # keep the suffix last (plotting libraries pick the format from it)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")


def _is_temp(name: str) -> bool:
    """A temporary file of this module (or of sim.plots) for one of the known files."""
    ours = (*KNOWN_FILES, COMPLETE, FAILED, RUNS_TABLE, YEARLY_TABLE, SWEEP_FILE, LOCK_FILE, *REPORT_FILES)
    return name.startswith(".") and any(name.lstrip(".").startswith(f"{f.lstrip('.')}.tmp") for f in ours)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _fsync_dir(folder: Path) -> None:
    """Make renames and removals in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_tmp(path: Path, write: Callable[[Path], None]) -> Path:
    tmp = _tmp_name(path)
    try:
        write(tmp)
        _fsync_file(tmp)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = _write_tmp(path, write)
    try:
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _json_text(obj) -> str:
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def write_text(path: Path, text: str) -> None:
    _atomic(Path(path), lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: dict) -> None:
    write_text(path, _json_text(obj))


def _system_allocator() -> None:
    """Parquet through the system allocator: pyarrow's default one (mimalloc) keeps the memory
    it frees, and a sweep, which reads and writes tables at every job, grew by about 1 MB a
    job with it (30 jobs at scale 0.1: 299 to 343 MB; with the system allocator, flat at
    about 307 MB)."""
    import pyarrow as pa

    if pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())


def _to_parquet(df: "pd.DataFrame", path: Path) -> None:
    _system_allocator()
    df.to_parquet(path, index=False)


def write_parquet(path: Path, df: "pd.DataFrame") -> None:
    _atomic(Path(path), lambda p: _to_parquet(df, p))


def write_with(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` atomically with any writer that takes a file name (e.g. a plot)."""
    _atomic(Path(path), write)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def signals_held():
    """Hold back Ctrl-C and SIGTERM (delivered at the end) while a few renames finish."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _manifest(folder: Path, names: Iterable[str]) -> str:
    files = {name: {"bytes": (folder / name).stat().st_size, "sha256": _digest(folder / name)} for name in names}
    return json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=2) + "\n"


class RunWriter:
    """Writes one run folder: every file to a temporary name, then all renamed into place at
    :meth:`commit`, which writes ``COMPLETE`` last. Until then an earlier result in the
    folder stays whole; :meth:`discard` removes this writer's temporary files."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.staged: dict[str, Path] = {}

    def write_with(self, name: str, write: Callable[[Path], None]) -> None:
        self.staged[name] = _write_tmp(self.folder / name, write)

    def text(self, name: str, text: str) -> None:
        self.write_with(name, lambda p: p.write_text(text, encoding="utf-8"))

    def json(self, name: str, obj) -> None:
        self.text(name, _json_text(obj))

    def parquet(self, name: str, df: "pd.DataFrame") -> None:
        self.write_with(name, lambda p: _to_parquet(df, p))

    def commit(self) -> None:
        missing = [name for name in RUN_FILES if name not in self.staged]
        if missing:
            self.discard()
            raise IncompleteRunError(f"{self.folder}: cannot mark the run complete; missing {', '.join(missing)}")
        folder = self.folder
        with signals_held():
            (folder / COMPLETE).unlink(missing_ok=True)
            _fsync_dir(folder)
            for name, tmp in self.staged.items():
                os.replace(tmp, folder / name)
            for name in (*KNOWN_FILES, FAILED, *REPORT_FILES):
                if name not in self.staged:
                    (folder / name).unlink(missing_ok=True)  # the earlier run's, not rewritten
            self.staged = {}
            write_text(folder / COMPLETE, _manifest(folder, [n for n in KNOWN_FILES if (folder / n).is_file()]))
            _fsync_dir(folder)

    def discard(self) -> None:
        for tmp in self.staged.values():
            tmp.unlink(missing_ok=True)
        self.staged = {}


def remove_stale_temporaries(folder: Path) -> None:
    """Temporary files that runs killed outright left in ``folder``."""
    folder = Path(folder)
    if folder.is_dir():
        for p in folder.iterdir():
            if _is_temp(p.name) and p.is_file():
                p.unlink(missing_ok=True)


def start_run(folder: Path) -> None:
    """Mark a folder as in progress when writing files one by one (with :func:`write_text` and
    friends, then :func:`finish_run`): the old marker first, then the old run's files and
    temporary files left by a killed run. :class:`RunWriter` keeps the earlier result instead."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPLETE).unlink(missing_ok=True)
    _fsync_dir(folder)
    for p in folder.iterdir():
        if p.name in KNOWN_FILES or _is_temp(p.name):
            p.unlink(missing_ok=True)


def finish_run(folder: Path) -> None:
    """Write ``COMPLETE`` last: a manifest of every run file with its size and SHA-256."""
    folder = Path(folder)
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise IncompleteRunError(f"{folder}: cannot mark the run complete; missing {', '.join(missing)}")
    write_text(folder / COMPLETE, _manifest(folder, [n for n in KNOWN_FILES if (folder / n).is_file()]))
    _fsync_dir(folder)


def discard_run(folder: Path) -> None:
    """Remove a run folder that holds no result: the run files, Hydra's files for it, the
    folder too if that empties it. Files this module does not know are left alone."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    (folder / COMPLETE).unlink(missing_ok=True)
    for p in folder.iterdir():
        try:
            if p.name in KNOWN_FILES or _is_temp(p.name) or (p.is_file() and p.suffix == ".log"):
                p.unlink(missing_ok=True)
            elif p.name == ".hydra" and p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty: something else lives there


def is_complete(folder: Path) -> bool:
    return (Path(folder) / COMPLETE).is_file()


def _read_manifest(folder: Path) -> dict | None:
    try:
        manifest = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") == MANIFEST_FORMAT else None


def require_complete(folder: Path) -> Path:
    """``folder`` if it holds a complete run whose files match its ``COMPLETE`` manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IncompleteRunError(f"{folder}: no such run folder")
    if not is_complete(folder):
        raise IncompleteRunError(f"{folder}: run is incomplete (no {COMPLETE} marker); it was interrupted, "
                                 "failed or is still running; run it again into the same folder")
    manifest = _read_manifest(folder)
    if manifest is None:
        # a marker from before manifests: all it can promise is that every file is there
        missing = [name for name in LEGACY_FILES if not (folder / name).is_file()]
        if missing:
            raise IncompleteRunError(f"{folder}: run is incomplete: {', '.join(missing)} missing")
        return folder
    for name, want in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise IncompleteRunError(f"{folder}: run is incomplete: {name} is missing")
        if path.stat().st_size != want.get("bytes") or _digest(path) != want.get("sha256"):
            raise IncompleteRunError(f"{folder}: {name} changed after the run completed (another run into the "
                                     "same folder, or an edit); run it again into the same folder")
    return folder


def completed_config_sha256(folder: Path) -> str | None:
    """SHA-256 of the configuration of the complete run in ``folder`` (None if there is none,
    or its files do not match their manifest)."""
    folder = Path(folder)
    if not is_complete(folder):
        return None
    manifest = _read_manifest(folder)
    if manifest is None:
        return None
    try:
        require_complete(folder)
    except IncompleteRunError:
        return None
    return manifest["files"].get("config.yaml", {}).get("sha256")


def read_summary(folder: Path) -> dict:
    return json.loads((require_complete(folder) / "summary.json").read_text())


def read_parquet(path: Path) -> "pd.DataFrame":
    """A parquet file as a DataFrame (no completeness check: see :func:`read_runs` and friends)."""
    import pandas as pd

    _system_allocator()
    return pd.read_parquet(path)


def read_timeseries(folder: Path) -> "pd.DataFrame":
    return read_parquet(require_complete(folder) / "timeseries.parquet")


def read_events(folder: Path) -> "pd.DataFrame":
    folder = require_complete(folder)
    if not (folder / "events.parquet").is_file():
        raise FileNotFoundError(f"{folder}: no events.parquet; this run was made with outputs.events=false "
                                "(rerun with outputs.events=true to keep the event log)")
    return read_parquet(folder / "events.parquet")


def is_sweep_root(folder: Path) -> bool:
    return (Path(folder) / SWEEP_FILE).is_file()


def _table(path: Path, name: str) -> "pd.DataFrame":
    path = Path(path)
    if is_sweep_root(path) and not is_complete(path):
        if not (path / name).is_file():
            raise IncompleteRunError(f"{path}: no job of this sweep has finished yet (no {name})")
        return read_parquet(path / name)
    folder = require_complete(path)
    if not (folder / name).is_file():
        raise IncompleteRunError(f"{folder}: no {name}; this run was written by an earlier version")
    return read_parquet(folder / name)


def read_runs(path: Path) -> "pd.DataFrame":
    """The runs table of a run folder or a sweep root: one row per replication (per job and
    replication at a sweep root) with ``replication``, ``seed``, ``experiment``, the keys set
    on the command line or swept, drawn parameters, and every scalar metric (NaN where a
    metric is missing). Raises :class:`IncompleteRunError` for an incomplete run folder."""
    return _table(path, RUNS_TABLE)


def read_yearly(path: Path) -> "pd.DataFrame":
    """The stacked yearly table of a run folder or a sweep root: ``timeseries.parquet`` of
    every replication, one row per replication and year, with the runs table's identifying
    columns (``job``, ``replication``, ``seed``, ``experiment``, keys set)."""
    return _table(path, YEARLY_TABLE)


# ---------------------------------------------------------------- what a folder holds

def _ours_as_run(folder: Path) -> list[Path]:
    """Entries of ``folder`` that a run folder of this product would not hold."""
    foreign = []
    for p in folder.iterdir():
        name = p.name
        if p.is_dir():
            if name not in HYDRA_DIRS:
                foreign.append(p)
        elif not (name in KNOWN_FILES or name in (COMPLETE, FAILED, LOCK_FILE) or name in REPORT_FILES
                  or _is_temp(name) or name.endswith(".log")):
            foreign.append(p)
    return foreign


def foreign_entries(folder: Path, sweep: bool = False) -> list[Path]:
    """What in ``folder`` is not an earlier run of this product (empty when the folder is
    missing, empty, or holds only runs, job folders and sweep files this product writes).

    ``sweep``: the folder is a sweep root, whose sub-folders must each be a job folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return [folder] if folder.exists() else []
    if not sweep:
        return _ours_as_run(folder)
    foreign = []
    for p in folder.iterdir():
        name = p.name
        if p.is_dir():
            if name in HYDRA_DIRS:
                continue
            inner = _ours_as_run(p)
            # a job folder may itself nest job folders (a sweep sub-folder pattern with a "/")
            if inner and all(q.is_dir() and not _ours_as_run(q) for q in inner):
                continue
            foreign.extend(inner)
        elif not (name in (RUNS_TABLE, YEARLY_TABLE, SWEEP_FILE, LOCK_FILE, TABLES_LOCK) or name in SWEEP_EXTRAS
                  or name in REPORT_FILES or _is_temp(name) or name.endswith(".log")):
            foreign.append(p)
    return foreign


# ---------------------------------------------------------------- a lock per output folder

def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, Linux), to tell a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_holder(folder: Path) -> dict | None:
    """The live process holding ``folder``'s lock (its record: pid, host, started), or None
    when the folder is not locked or its lock was left by a process that no longer runs."""
    path = Path(folder) / LOCK_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"pid": None, "host": None, "started": None}  # unreadable: assume someone holds it
    if record.get("host") != socket.gethostname():
        return record  # another machine's process: cannot be checked from here
    pid = record.get("pid")
    if not isinstance(pid, int) or not _alive(pid):
        return None
    start = record.get("process_start")
    if start is not None and _process_start(pid) not in (None, start):
        return None  # the pid now belongs to another process
    return record


def describe_holder(folder: Path, record: dict) -> str:
    since = record.get("started") or "an unknown time"
    who = f"process {record.get('pid')} on {record.get('host')}" if record.get("pid") else "another process"
    return (f"another run ({who}, since {since}) is writing {folder}; wait for it to finish, or if it no "
            f"longer runs, remove {Path(folder) / LOCK_FILE}")


class FolderLock:
    """A lock on an output folder, held by this process from :meth:`acquire` to :meth:`release`.

    The lock is a file holding the owner's process id, host and start time, created
    exclusively; a lock whose process no longer runs (killed, machine restarted) is taken
    over. Raises :class:`FolderBusyError` if a live process holds it.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_FILE
        self.held = False

    def acquire(self) -> "FolderLock":
        self.folder.mkdir(parents=True, exist_ok=True)
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": time.strftime("%Y-%m-%d %H:%M:%S"), "process_start": _process_start(os.getpid())}
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = lock_holder(self.folder)
                if holder is not None:
                    raise FolderBusyError(describe_holder(self.folder, holder)) from None
                # stale: move it aside under a name of our own, so that of two processes
                # taking it over at once only one succeeds in creating the new lock
                aside = self.path.with_name(f"{LOCK_FILE}.tmp-stale-{os.getpid()}")
                with contextlib.suppress(FileNotFoundError):
                    os.replace(self.path, aside)
                    aside.unlink()
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh)
            self.held = True
            return self
        raise FolderBusyError(f"could not lock {self.folder}: its lock file keeps changing")

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            record = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return
        if record.get("pid") == os.getpid():
            self.path.unlink(missing_ok=True)
