"""Compiled building blocks shared by every process, and how compiled code is made.

Each process (``sim/processes/``) states its rules for one person and applies them in
compiled loops over the people concerned; this module holds what they share: the
logistic helpers, the counter-based uniform draw, stage moves, and the coefficient
records that hand a parameter group to compiled code.

**Compiled only when a model needs it.** Rules and loops are plain Python functions marked
with :func:`compiled`. Importing them costs nothing: numba is imported, and every marked
function replaced in its module by a numba dispatcher, on the first call of
:func:`compile_all` (the model makes it when it is built). Checking a configuration
(``sim.config``, the command line) therefore never imports numba. Compiled code calls
other compiled functions through their module (``kernels.happens``, never a name bound
with ``from ... import``), so that it sees the dispatchers.

**Cache.** Compiled code is cached on disk (``cache=True``): the first run on a machine
compiles (some seconds); later runs load it. numba keys a cached function on its own source
file only, so every entry is also keyed on the text of all files that hold compiled code
and of the stage codes (:func:`_key_cache_on_sources`): a change to a shared helper
recompiles everything instead of running a stale loop.

**Uniforms** are counter-based: ``uniform_at(key, id)`` depends only on the
stream-year-draw key (:mod:`sim.streams`) and the person's id, so a loop may draw only for
the people who need a draw, in any order, and get the same numbers as a whole-array draw.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import numbers
import sys
from pathlib import Path
from typing import Callable

import numpy as np

_MARKED: list[tuple[str, str]] = []     # (module, function), in order of definition
_COMPILED = False


def compiled(fn: Callable) -> Callable:
    """Mark a module-level function for ``numba.njit(cache=True)`` by :func:`compile_all`.

    Returns the function unchanged: until then it is plain Python."""
    _MARKED.append((fn.__module__, fn.__name__))
    return fn


def compile_all() -> None:
    """Import numba and put a dispatcher in place of every marked function (once per process)."""
    global _COMPILED
    if _COMPILED:
        return
    from . import processes  # noqa: F401 - the process modules mark their functions on import
    from numba import njit

    made = []
    for module_name, name in _MARKED:
        module = sys.modules[module_name]
        fn = getattr(module, name)
        if not hasattr(fn, "py_func"):
            dispatcher = njit(cache=True)(fn)
            setattr(module, name, dispatcher)
            made.append(dispatcher)
    _key_cache_on_sources(made)
    _COMPILED = True


def compiled_functions() -> dict[str, Callable]:
    """Every compiled function as ``module.name`` -> dispatcher (compiling first if needed)."""
    compile_all()
    return {f"{m}.{n}": getattr(sys.modules[m], n) for m, n in _MARKED}


def _source_files() -> list[str]:
    from . import population

    return sorted({sys.modules[m].__file__ for m, _ in _MARKED} | {population.__file__})


def _key_cache_on_sources(dispatchers: list) -> None:
    """Add a hash of every file holding compiled code (and the stage codes) to each cache stamp.

    numba checks a cached function against the modification time and size of the file that
    defines it and does not notice changes to functions or constants from other files (a
    documented limitation of its cache); with this, such a change makes the entry stale.
    """
    digest = hashlib.sha256()
    for path in _source_files():
        digest.update(Path(path).read_bytes())
    deps = digest.hexdigest()
    for dispatcher in dispatchers:
        cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
        if cache_file is not None and hasattr(cache_file, "_source_stamp"):
            cache_file._source_stamp = (cache_file._source_stamp, deps)


def _cache_files() -> list:
    files = (getattr(getattr(d, "_cache", None), "_cache_file", None) for d in compiled_functions().values())
    return [f for f in files if f is not None]


def compiled_code_cached() -> bool:
    """Whether the compiled code is already in the on-disk cache (False: the next run compiles
    it, which takes some seconds). True when the cache cannot be inspected."""
    indexes = (getattr(cache_file, "_index_path", None) for cache_file in _cache_files())
    return all(Path(index).exists() for index in indexes if index is not None)


# --- coefficients --------------------------------------------------------------------------

def coefficients(params) -> np.ndarray:
    """The numbers of a parameter dataclass as a one-element structured array of floats:
    compiled code reads ``coef[0].name`` like the dataclass's attribute (a structured array
    is quicker to hand to compiled code than a tuple). Lists, nested groups and text are left
    out. Each probability ``x`` (a field declared in [0, 1]) also comes as ``logit_x``, so
    that rules do not take the same logarithm once per person."""
    names, values = [], []
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if isinstance(v, numbers.Real):
            names.append(f.name)
            values.append(float(v))
            if f.metadata.get("lo") == 0.0 and f.metadata.get("hi") == 1.0:
                names.append(f"logit_{f.name}")
                values.append(_logit(float(v)))
    return np.array([tuple(values)], dtype=[(name, np.float64) for name in names])


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


# --- logistic helpers ----------------------------------------------------------------------

@compiled
def expit(x: float) -> float:
    """The logistic function, without overflow for large ``|x|``."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@compiled
def logit(p: float) -> float:
    """``ln(p / (1 - p))`` with ``p`` clipped to [1e-9, 1 - 1e-9]."""
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


_BINS = 64
# log-odds of the lower edge of each of _BINS equal bins of [0, 1)
_LOGIT_FLOOR = np.array([-np.inf] + [math.log(b / (_BINS - b)) for b in range(1, _BINS)])


@compiled
def happens(u: float, x: float) -> bool:
    """Whether an event with log-odds ``x`` happens to a person whose uniform is ``u``: ``u < expit(x)``.

    Most events in a year are unlikely, so a table is tried first: if ``x`` is below the
    log-odds of the lower edge of ``u``'s bin, then ``expit(x) < u`` and no exponential is needed.
    """
    if x < _LOGIT_FLOOR[int(u * _BINS)]:
        return False
    return u < expit(x)


# --- random numbers --------------------------------------------------------------------------

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / (1 << 53)


@compiled
def uniform_at(key, i):
    """SplitMix64 (Steele, Lea & Flood 2014) of the id offset by the stream key, as U[0, 1)."""
    z = np.uint64(i) * _GOLDEN + key
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return np.float64(z >> _S11) * _TO_UNIT


@compiled
def uniforms(ids, key):
    """``uniform_at(key, id)`` for each id."""
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        out[j] = uniform_at(key, ids[j])
    return out


# --- selection and moves -----------------------------------------------------------------------

@compiled
def in_stage(ids, stage, s):
    """The ids whose stage is ``s``, in order."""
    out = np.empty(ids.shape[0], np.int64)
    n = 0
    for j in range(ids.shape[0]):
        if stage[ids[j]] == s:
            out[n] = ids[j]
            n += 1
    return out[:n]


@compiled
def move(ids, to_stages, stage, stage_since, year, stocks):
    """Move each of ``ids`` to its stage in ``to_stages`` in ``year``, keeping the stock by
    stage; returns the stages they left."""
    left = np.empty(ids.shape[0], np.int8)
    for j in range(ids.shape[0]):
        i = ids[j]
        s = stage[i]
        left[j] = s
        stocks[s] -= 1
        stocks[to_stages[j]] += 1
        stage[i] = to_stages[j]
        stage_since[i] = year
    return left
