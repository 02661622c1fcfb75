"""Writing a run's folder: each file to a temporary name, renamed into place, and a
completion marker written last. Readers call :func:`require_complete` first.

The protocol, so that nothing half-written is ever taken as a result:

1. :func:`start_run` removes an old ``COMPLETE`` marker first (and syncs the folder), then the
   old run files and any temporary files a killed run left behind;
2. every file is written to a temporary name in the same folder, flushed to disk and
   renamed into place (an atomic replace), so a file is either absent, old or whole;
3. :func:`finish_run` checks that every run file is there and writes ``COMPLETE`` last, with
   the size and SHA-256 of each file;
4. readers (:func:`require_complete`, :func:`read_summary`, ...) refuse a folder without the
   marker, or whose files no longer match it (changed, truncated, or mixed with a later run).

A run that fails or is stopped removes what it wrote (:func:`discard_run`); one killed
outright leaves a folder without ``COMPLETE``, which a rerun into the same folder replaces.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import Callable

import pandas as pd

COMPLETE = "COMPLETE"
RUN_FILES = ("config.yaml", "parameters.json", "run.json", "summary.json", "timeseries.parquet", "events.parquet",
             "stocks.png")
MANIFEST_FORMAT = "career-migration-sim run manifest v1"


class IncompleteRunError(RuntimeError):
    pass


def _tmp_name(path: Path) -> Path:
    # keep the suffix last (plotting libraries pick the format from it)
    return path.with_name(f".{path.name}.tmp-{os.getpid()}{path.suffix}")


def _is_temp(name: str) -> bool:
    """A temporary file of this module (or of sim.plots) for one of the run's files."""
    return name.startswith(".") and any(name.lstrip(".").startswith(f"{f}.tmp") for f in (*RUN_FILES, COMPLETE))


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


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = _tmp_name(path)
    try:
        write(tmp)
        _fsync_file(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_text(path: Path, text: str) -> None:
    _atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: Path, obj: dict) -> None:
    write_text(path, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def write_parquet(path: Path, df: pd.DataFrame) -> None:
    _atomic(path, lambda p: df.to_parquet(p, index=False))


def write_with(path: Path, write: Callable[[Path], None]) -> None:
    """Write ``path`` atomically with any writer that takes a file name (e.g. a plot)."""
    _atomic(path, write)


def start_run(folder: Path) -> None:
    """Mark a folder as in progress: drop an old completion marker before rewriting it.

    The marker goes first (and the removal is synced), so that from here on the folder is
    never complete until :func:`finish_run`; then the old run's files and temporary files
    left by a killed run are removed, so the folder holds only what this run writes.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPLETE).unlink(missing_ok=True)
    _fsync_dir(folder)
    for p in folder.iterdir():
        if p.name in RUN_FILES or _is_temp(p.name):
            p.unlink(missing_ok=True)


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def finish_run(folder: Path) -> None:
    """Write ``COMPLETE`` last: a manifest of every run file with its size and SHA-256."""
    folder = Path(folder)
    missing = [name for name in RUN_FILES if not (folder / name).is_file()]
    if missing:
        raise IncompleteRunError(f"{folder}: cannot mark the run complete; missing {', '.join(missing)}")
    manifest = {"format": MANIFEST_FORMAT,
                "files": {name: {"bytes": (folder / name).stat().st_size, "sha256": _digest(folder / name)}
                          for name in RUN_FILES}}
    write_text(folder / COMPLETE, json.dumps(manifest, indent=2) + "\n")
    _fsync_dir(folder)


def discard_run(folder: Path) -> None:
    """Remove what a failed or stopped run wrote (and Hydra's files for it); the folder too if empty.

    Files this module does not know are left alone.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    (folder / COMPLETE).unlink(missing_ok=True)
    for p in folder.iterdir():
        try:
            if p.name in RUN_FILES or _is_temp(p.name) or (p.is_file() and p.suffix == ".log"):
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


def require_complete(folder: Path) -> Path:
    """``folder`` if it holds a complete run whose files match its ``COMPLETE`` manifest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise IncompleteRunError(f"{folder}: no such run folder")
    if not is_complete(folder):
        raise IncompleteRunError(f"{folder}: run is incomplete (no {COMPLETE} marker); it was interrupted "
                                 "or is still running; run it again into the same folder")
    try:
        manifest = json.loads((folder / COMPLETE).read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        # a marker from before manifests: all it can promise is that every file is there
        missing = [name for name in RUN_FILES if not (folder / name).is_file()]
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


def read_summary(folder: Path) -> dict:
    return json.loads((require_complete(folder) / "summary.json").read_text())


def read_timeseries(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(require_complete(folder) / "timeseries.parquet")


def read_events(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(require_complete(folder) / "events.parquet")
