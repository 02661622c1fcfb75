"""Calibrated posteriors: the weighted parameter samples ``python -m sim.calibrate`` writes.

``configs/posterior/<origin>.parquet`` has one row per accepted particle of the last ABC-SMC
generation: one column per calibrated parameter (its full dotted key, e.g.
``params.returning.base``; list parameters as list columns) and ``weight`` (importance
weights, summing to 1). The file's metadata records the command and date that made it.

Under ``params.uncertainty=posterior`` each replication draws one particle with probability
proportional to its weight, from ``SeedSequence(seed, spawn_key=(POSTERIOR_KEY,))`` of its
own seed; parameters the posterior does not hold stay at their central values, and a
parameter the run sets away from its central value (a scenario) is not drawn.
"""

from __future__ import annotations

import functools
import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from . import resources

POSTERIOR_DIR = resources.CONFIG_DIR / "posterior"  # shipped with the package too
WEIGHT = "weight"
# spawn key of the posterior draws (distinct from the priors' draws in sim.provenance)
POSTERIOR_KEY = zlib.crc32(b"posterior")


class PosteriorError(Exception):
    """A posterior that is missing or cannot be used; the message is one line."""


def posterior_path(origin: str, directory: Path | None = None) -> Path:
    return Path(directory or POSTERIOR_DIR) / f"{origin}.parquet"


def missing_line(origin: str, directory: Path | None = None) -> str | None:
    """The error line for ``params.uncertainty=posterior`` with an origin that has no posterior."""
    path = posterior_path(origin, directory)
    if path.is_file():
        return None
    have = sorted(p.stem for p in path.parent.glob("*.parquet"))
    return (f"params.uncertainty: 'posterior' needs a calibrated posterior for origin {origin!r} "
            f"(configs/posterior/{origin}.parquet), which does not exist; origins with one: "
            f"{', '.join(have) or 'none'}; calibrate with `python -m sim.calibrate origin={origin}` or use "
            "central or sampled")


@functools.lru_cache(maxsize=8)
def _load(path: str, _mtime_ns: int) -> tuple[list[str], list[list[Any]], np.ndarray, dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    names = [c for c in table.column_names if c != WEIGHT]
    if WEIGHT not in table.column_names or not names or table.num_rows == 0:
        raise PosteriorError(f"{path}: expected a weight column and at least one parameter column and row")
    weights = np.asarray(table.column(WEIGHT).to_numpy(), dtype=float)
    if not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise PosteriorError(f"{path}: weights must be finite, non-negative and not all zero")
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items() if k.decode() != "pandas"}
    return names, [table.column(n).to_pylist() for n in names], weights / weights.sum(), meta


def load(origin: str, directory: Path | None = None) -> tuple[list[str], list[list[Any]], np.ndarray, dict]:
    """(parameter keys, one list of values per key, normalised weights, metadata) of an
    origin's posterior. Raises :class:`PosteriorError` (one line) when it is missing or bad."""
    path = posterior_path(origin, directory)
    line = missing_line(origin, directory)
    if line:
        raise PosteriorError(line)
    return _load(str(path), path.stat().st_mtime_ns)


def draw(cfg: Any, seed: int, directory: Path | None = None) -> dict[str, Any]:
    """One particle of ``cfg``'s origin's posterior, chosen with probability equal to its weight
    from ``seed``: its values as dotted override keys (scenario settings left out)."""
    from . import provenance

    names, columns, weights, _ = load(cfg.origin.name, directory)
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(POSTERIOR_KEY,)))
    row = int(rng.choice(len(weights), p=weights))
    open_keys = {f.key for f in provenance.factors(cfg)}
    drawn = {}
    for name, col in zip(names, columns):
        if name in open_keys:
            value = col[row]
            drawn[name] = [v for v in value] if isinstance(value, list) else value
    return drawn


def write(origin: str, values: "Any", weights: np.ndarray, meta: dict[str, Any],
          directory: Path | None = None) -> Path:
    """Write a posterior sample: ``values`` a DataFrame (one column per key), ``weights`` one per
    row; ``meta`` (command, date, diagnostics) goes into the file's metadata. Written atomically."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from .outputs import write_with

    frame = values.copy()
    frame[WEIGHT] = np.asarray(weights, dtype=float) / float(np.sum(weights))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           **{k: json.dumps(v) if not isinstance(v, str) else v
                                              for k, v in meta.items()}})
    path = posterior_path(origin, directory)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_with(path, lambda p: pq.write_table(table, p))
    return path
