"""Writing a run's folder: each file to a temporary name, renamed into place, and a
completion marker written last. Readers call :func:`require_complete` first."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

import pandas as pd

COMPLETE = "COMPLETE"
RUN_FILES = ("config.yaml", "run.json", "summary.json", "timeseries.parquet", "events.parquet", "stocks.png")


class IncompleteRunError(RuntimeError):
    pass


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
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


def start_run(folder: Path) -> None:
    """Mark a folder as in progress: drop an old completion marker before rewriting it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / COMPLETE).unlink(missing_ok=True)


def finish_run(folder: Path) -> None:
    write_text(folder / COMPLETE, "all run files written\n")


def is_complete(folder: Path) -> bool:
    return (Path(folder) / COMPLETE).is_file()


def require_complete(folder: Path) -> Path:
    folder = Path(folder)
    if not folder.is_dir():
        raise IncompleteRunError(f"{folder}: no such run folder")
    if not is_complete(folder):
        raise IncompleteRunError(f"{folder}: run is incomplete (no {COMPLETE} marker); it was interrupted "
                                 "or is still running; run it again into the same folder")
    return folder


def read_summary(folder: Path) -> dict:
    return json.loads((require_complete(folder) / "summary.json").read_text())


def read_timeseries(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(require_complete(folder) / "timeseries.parquet")


def read_events(folder: Path) -> pd.DataFrame:
    return pd.read_parquet(require_complete(folder) / "events.parquet")
