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
compiles (some seconds); later runs load it. Where no cache folder is writable (the package
installed read-only, no home folder), the code is compiled in memory for the process, with
one line saying so and naming ``NUMBA_CACHE_DIR``, the variable that gives numba a writable
folder. The line "compiling ..." appears when compiling starts (numba's compile event; never
for code loaded from the cache), and the time it took when the model is built
(:func:`report_compile_time`). With ``NUMBA_DISABLE_JIT=1`` the rules run as plain Python:
the same results, far slower (one line says so). numba keys a cached function on its own source
file only, so every entry is also keyed on the text of all files that hold compiled code
and of the stage codes (:func:`_key_cache_on_sources`): a change to a shared helper
recompiles everything instead of running a stale loop.

**Uniforms** are counter-based: ``uniform_at(key, id)`` depends only on the
stream-year-draw key (:mod:`sim.streams`) and the person's id, so a loop may draw only for
the people who need a draw, in any order, and get the same numbers as a whole-array draw.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
import math
import numbers
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

_MARKED: list[tuple[str, str, Callable]] = []     # (module, name, function), in order of definition
_COMPILED = False
_JIT = True               # False under NUMBA_DISABLE_JIT=1: the marked functions stay plain Python
_CACHED = True            # False when no cache folder is writable: compiled in memory
_COMPILING = {"depth": 0, "started": 0.0, "seconds": 0.0, "announced": False}

log = logging.getLogger("sim.kernels")


def _say(message: str, level: int = logging.INFO) -> None:
    """One line for the user: through logging where it is configured (the command line),
    else on stderr (a script or notebook that configured no logging)."""
    if log.isEnabledFor(level) and log.hasHandlers():
        log.log(level, message)
    elif level >= logging.INFO:
        print(message, file=sys.stderr)


class _CompileWatch:  # a numba.core.event.Listener (mixed in by compile_all: numba is imported only then)
    """numba's ``numba:compile`` event: announce the first compilation, add up its time.

    numba raises the event only when it compiles (never when it loads from the cache);
    nested events (a function compiled while compiling its caller) are counted once."""

    def on_start(self, event) -> None:
        if _COMPILING["depth"] == 0:
            _COMPILING["started"] = time.perf_counter()
            if not _COMPILING["announced"]:
                _COMPILING["announced"] = True
                where = "once per machine and version" if _CACHED else "in memory, for this process only"
                _say(f"compiling the model's decision loops ({where}; up to a minute)")
        _COMPILING["depth"] += 1

    def on_end(self, event) -> None:
        _COMPILING["depth"] -= 1
        if _COMPILING["depth"] == 0:
            _COMPILING["seconds"] += time.perf_counter() - _COMPILING["started"]


def report_compile_time() -> float:
    """Say how long compiling took since the last report (nothing if nothing was compiled);
    returns those seconds."""
    seconds = _COMPILING["seconds"]
    if seconds > 0:
        _COMPILING["seconds"] = 0.0
        _say(f"compiled in {seconds:.1f} s")
    return seconds


def compiled(fn: Callable) -> Callable:
    """Mark a module-level function for ``numba.njit(cache=True)`` by :func:`compile_all`.

    Returns the function unchanged: until then it is plain Python."""
    _MARKED.append((fn.__module__, fn.__name__, fn))
    return fn


def compile_all() -> None:
    """Import numba and put a dispatcher in place of every marked function (once per process)."""
    global _COMPILED, _JIT, _CACHED
    if _COMPILED:
        return
    from . import metrics, processes  # noqa: F401 - these modules mark their functions on import
    import numba
    from numba import njit
    from numba.core import event

    if numba.config.DISABLE_JIT:
        _JIT = False
        _COMPILED = True
        # SplitMix64 wraps around by design; numpy warns of it on scalars, compiled code does not
        warnings.filterwarnings("ignore", message="overflow encountered in scalar", category=RuntimeWarning,
                                module=__name__)
        _say("NUMBA_DISABLE_JIT=1: the model's decision loops run as plain Python (the same results, "
             "many times slower)", logging.WARNING)
        return
    made = []
    for module_name, name, fn in _MARKED:
        module = sys.modules[module_name]
        try:
            dispatcher = njit(cache=_CACHED)(fn)
        except RuntimeError as err:  # numba: "cannot cache function ...: no locator available"
            if "no locator" not in str(err):
                raise
            _CACHED = False
            _say(f"no writable folder for numba's cache ({Path(fn.__code__.co_filename).parent}/__pycache__ "
                 "and the user cache); compiling in memory for this process: set NUMBA_CACHE_DIR to a writable "
                 "folder to keep the compiled code", logging.WARNING)
            dispatcher = njit(cache=False)(fn)
        if getattr(module, name) is fn:  # not replaced meanwhile (a test's or benchmark's wrapper)
            setattr(module, name, dispatcher)
        made.append(dispatcher)
    _key_cache_on_sources(made)
    event.register("numba:compile", type("CompileWatch", (_CompileWatch, event.Listener), {})())
    _COMPILED = True


def compiled_functions() -> dict[str, Callable]:
    """Every compiled function as ``module.name`` -> dispatcher (compiling first if needed)."""
    compile_all()
    return {f"{m}.{n}": getattr(sys.modules[m], n) for m, n, _ in _MARKED}


def _source_files() -> list[str]:
    from . import population

    return sorted({sys.modules[m].__file__ for m, _, _ in _MARKED} | {population.__file__})


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


def record_type(dtype: np.dtype) -> np.dtype:
    """The dtype to allocate an array of records with: ``dtype`` itself for compiled code;
    under ``NUMBA_DISABLE_JIT=1`` its ``numpy.record`` form, whose elements plain Python
    reads and writes by attribute (``e.id = i``) as compiled code does."""
    return dtype if _JIT else np.dtype((np.record, dtype))


def grown(array: np.ndarray, size: int) -> np.ndarray:
    """``array`` if it holds at least ``size`` entries, else a new one of ``size`` entries
    that begins with ``array``'s (the rest unset)."""
    if size <= len(array):
        return array
    out = np.empty(size, array.dtype)
    out[: len(array)] = array
    return out


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
    coef = np.array([tuple(values)], dtype=[(name, np.float64) for name in names])
    return coef if _JIT else coef.view(np.recarray)  # plain Python reads fields as attributes of a record


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
# log-odds of the upper edge of each bin, plus a margin (1e-9) far above the rounding of the
# logarithm and of expit: at or above it, expit(x) exceeds every uniform of the bin
_LOGIT_CEIL = np.array([math.log((b + 1) / (_BINS - b - 1)) + 1e-9 for b in range(_BINS - 1)] + [np.inf])


@compiled
def happens(u: float, x: float) -> bool:
    """Whether an event with log-odds ``x`` happens to a person whose uniform is ``u``: ``u < expit(x)``.

    A table of the bins of ``u`` is tried first: if ``x`` is below the log-odds of the lower
    edge of ``u``'s bin, then ``expit(x) < u``; if it is above those of the upper edge (with a
    margin), then ``expit(x) > u``; only in between is the exponential needed (``u * _BINS``
    is exact, so ``u`` lies inside its bin).
    """
    k = int(u * _BINS)
    if x < _LOGIT_FLOOR[k]:
        return False
    if x >= _LOGIT_CEIL[k]:
        return True
    return u < expit(x)


_UPPER_FROM, _UPPER_STEP = -40.0, 32  # grid of log-odds -40 .. 20 in steps of 1/32
_EXPIT_UPPER = np.array([(1.0 + 1e-6) / (1.0 + math.exp(-(_UPPER_FROM + (k + 1) / _UPPER_STEP)))
                         for k in range(60 * _UPPER_STEP)])


@compiled
def expit_upper(x):
    """A number at least ``expit(x)`` (by at most 3% and 1e-6 relative; from a table), for
    cheap exact tests that need only an upper bound of a probability."""
    k = int((x - _UPPER_FROM) * _UPPER_STEP)
    if x < _UPPER_FROM or k < 0:
        return (1.0 + 1e-6) * expit(x)
    if k >= _EXPIT_UPPER.shape[0]:
        return 1.0 + 1e-6
    return _EXPIT_UPPER[k]


_FINE_BINS = 1024
_FINE_FLOOR = np.array([-np.inf] + [math.log(b / (_FINE_BINS - b)) for b in range(1, _FINE_BINS)])


@compiled
def surely_not(u, x_near, margin):
    """True only if :func:`happens` is False for ``u`` and every ``x`` within ``margin`` of
    ``x_near``: a cheap exact filter when ``x_near`` is an approximation of the log-odds
    with a known error (say, from a stored partial sum), so that the exact log-odds are
    computed only for the few it does not settle. Uses a finer table than
    :func:`happens`; the margin must cover the approximation's error and is at least 1e-9,
    far above the rounding of the table and of :func:`expit`."""
    return x_near + max(margin, 1e-9) < _FINE_FLOOR[int(u * _FINE_BINS)]


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


_S32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_TO_UNIT32 = 1.0 / (1 << 32)


@compiled
def uniform_pair_at(key, i):
    """Two U[0, 1) from one SplitMix64 draw (its upper and lower 32 bits): for draws that
    need 32 bits of resolution, at half the cost."""
    z = np.uint64(i) * _GOLDEN + key
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return np.float64(np.int64(z >> _S32)) * _TO_UNIT32, np.float64(np.int64(z & _LOW32)) * _TO_UNIT32


@compiled
def splitmix_at(key, i):
    """The 64-bit SplitMix64 output behind :func:`uniform_at` and :func:`uniform_pair_at`."""
    return _mix(np.uint64(i) * _GOLDEN + key)


@compiled
def _mix(z):
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


@compiled
def stream_key(base, year, draw):
    """The key of one (stream, year, draw) from the stream's base key: SplitMix64's finaliser
    of the base mixed with the finaliser of the year and draw (see :mod:`sim.streams`)."""
    return _mix(base ^ _mix(np.uint64(year + 1_000_003) * _GOLDEN + np.uint64(draw)))


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
def still_mobile(ids, fixed, stage):
    """The ids on the pathway abroad, abroad or returned (not at home without having gone,
    nor gone), and their records (``fixed``, one per id)."""
    out = np.empty(ids.shape[0], np.int64)
    out_fixed = np.empty(ids.shape[0], fixed.dtype)
    n = 0
    for j in range(ids.shape[0]):
        s = stage[ids[j]]
        if s >= 3 and s <= 8:  # preparing_abroad .. returned_academic (sim.population.STAGES)
            out[n] = ids[j]
            out_fixed[n] = fixed[j]
            n += 1
    return out[:n], out_fixed[:n]


@compiled
def fixed_records(ids, cohort, home_ties, partner_age, child_age, care_age, retire_age, out):
    """Fill ``out`` (records of ``sim.population.MOBILE_FIXED``) with the fields of ``ids``."""
    for j in range(ids.shape[0]):
        i = ids[j]
        e = out[j]
        e.cohort = cohort[i]
        e.home_ties = home_ties[i]
        e.partner_age = partner_age[i]
        e.child_age = child_age[i]
        e.care_age = care_age[i]
        e.retire_age = retire_age[i]


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


@compiled
def move_to(ids, to_stage, stage, stage_since, year, stocks):
    """:func:`move` with one stage for all: no array of stages to build."""
    left = np.empty(ids.shape[0], np.int8)
    for j in range(ids.shape[0]):
        i = ids[j]
        s = stage[i]
        left[j] = s
        stocks[s] -= 1
        stage[i] = to_stage
        stage_since[i] = year
    stocks[to_stage] += ids.shape[0]
    return left


# --- distributions ---------------------------------------------------------------------------

# Acklam's rational approximation of the standard-normal quantile (relative error < 1.2e-9)
_PPF_A = np.array([-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                   1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00])
_PPF_B = np.array([-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                   6.680131188771972e+01, -1.328068155288572e+01])
_PPF_C = np.array([-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                   -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00])
_PPF_D = np.array([7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00])


@compiled
def norm_ppf(p):
    """The standard-normal quantile of ``p`` (clipped to [1e-16, 1 - 1e-16])."""
    p = min(max(p, 1e-16), 1.0 - 1e-16)
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        return ((((((_PPF_C[0] * q + _PPF_C[1]) * q + _PPF_C[2]) * q + _PPF_C[3]) * q + _PPF_C[4]) * q + _PPF_C[5])
                / ((((_PPF_D[0] * q + _PPF_D[1]) * q + _PPF_D[2]) * q + _PPF_D[3]) * q + 1.0))
    if p > 1.0 - 0.02425:
        q = math.sqrt(-2.0 * math.log(1.0 - p))
        return -((((((_PPF_C[0] * q + _PPF_C[1]) * q + _PPF_C[2]) * q + _PPF_C[3]) * q + _PPF_C[4]) * q + _PPF_C[5])
                 / ((((_PPF_D[0] * q + _PPF_D[1]) * q + _PPF_D[2]) * q + _PPF_D[3]) * q + 1.0))
    q = p - 0.5
    r = q * q
    return ((((((_PPF_A[0] * r + _PPF_A[1]) * r + _PPF_A[2]) * r + _PPF_A[3]) * r + _PPF_A[4]) * r + _PPF_A[5]) * q
            / (((((_PPF_B[0] * r + _PPF_B[1]) * r + _PPF_B[2]) * r + _PPF_B[3]) * r + _PPF_B[4]) * r + 1.0))


@compiled
def norm_cdf(x):
    """The standard-normal distribution function."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


@compiled
def norm_ppfs(ps):
    out = np.empty(ps.shape[0], np.float64)
    for j in range(ps.shape[0]):
        out[j] = norm_ppf(ps[j])
    return out


@compiled
def _beta_cf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    if abs(d) < tiny:
        d = tiny
    d = 1.0 / d
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        if abs(d) < tiny:
            d = tiny
        c = 1.0 + aa / c
        if abs(c) < tiny:
            c = tiny
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-13:
            break
    return h


@compiled
def beta_cdf(a, b, x):
    """The Beta(a, b) distribution function (regularised incomplete beta) at ``x``."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1.0 - x)
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _beta_cf(a, b, x) / a
    return 1.0 - front * _beta_cf(b, a, 1.0 - x) / b


@compiled
def _beta_cdfs(a, b, xs):
    out = np.empty(xs.shape[0], np.float64)
    for j in range(xs.shape[0]):
        out[j] = beta_cdf(a, b, xs[j])
    return out


QUANTILE_POINTS = 1025   # quantile tables hold the value at p = k / (QUANTILE_POINTS - 1)


@functools.lru_cache(maxsize=256)
def beta_quantiles(a: float, b: float) -> np.ndarray:
    """Quantile table of Beta(a, b): the value at ``p = k / 1024`` for k = 0..1024, for
    :func:`from_table` (read-only; cached). Built by inverting the exact distribution function
    on a grid that is dense near 0 and 1, where the density may be steep."""
    grid = (1.0 - np.cos(np.linspace(0.0, np.pi, 4097))) / 2.0
    cdf = np.maximum.accumulate(_beta_cdfs(float(a), float(b), grid))
    table = np.interp(np.linspace(0.0, 1.0, QUANTILE_POINTS), cdf, grid)
    table.flags.writeable = False
    return table


def _normal_quantiles() -> np.ndarray:
    """Quantile table of the standard normal (the ends, at p = 0 and 1, set to -/+ 6)."""
    from statistics import NormalDist

    p = np.linspace(0.0, 1.0, QUANTILE_POINTS)
    inner = [NormalDist().inv_cdf(x) for x in p[1:-1]]
    return np.array([-6.0, *inner, 6.0])


NORMAL_QUANTILES = _normal_quantiles()


@compiled
def from_table(table, u):
    """The quantile at ``u`` by linear interpolation in a table of :func:`beta_quantiles`."""
    x = u * (table.shape[0] - 1)
    k = min(int(x), table.shape[0] - 2)
    f = x - k
    return table[k] + f * (table[k + 1] - table[k])
