"""Provenance of every behavioural parameter: its source, the figure it rests on, and its prior.

Each configuration file under ``configs/origin``, ``configs/destination``,
``configs/policy`` and ``configs/params`` has a companion under ``configs/provenance``
(``origin_japan.yaml`` for ``origin/japan.yaml``, ...), keyed by the parameter's dotted
path inside its group (``motivation.a``, ``electives.hic_slots``,
``elective_effects.role_model``). The central value lives in the config file only; each
entry gives a ``prior`` around it (fixed, beta, normal, lognormal, uniform or triangular), the
``source`` (a key of docs/evidence.md, a cited publication, or ``assumption``), the ``figure`` it
rests on and a one-line ``derivation``; ``informed_by`` lists evidence that gives only a
direction or a rough range.

::

    python -m sim.provenance            # regenerate docs/parameters.md
    python -m sim.provenance --check    # list every problem; exit 1 if there is any
    python -m sim.provenance --sample 7 # one draw from the priors, as command-line overrides

From Python, :func:`check` lists problems for one composition, :func:`sample` draws every
non-fixed parameter from its prior and :func:`apply` returns a config with the draws.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import math
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from . import resources
from .config import POLICY_NEUTRAL, BetaDist, SimConfig, with_values

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = resources.CONFIG_DIR
PROVENANCE_DIR = CONFIG_DIR / "provenance"
DOCS_PATH = resources.DOCS_DIR / "parameters.md"

GROUPS = ("origin", "destination", "policy", "params")
DEFAULTS = {"origin": "japan", "destination": "usa", "policy": "baseline", "params": "default"}

# The evidence base (docs/evidence.md), in its order.
EVIDENCE = {
    "HEIST2018": "Heist & Torok, Medical Teacher 2018: grounded-theory interviews with 35 Japanese IMGs "
                 "after US clinical training (19 in the US, 16 back in Japan).",
    "NEWMAN2025": "Newman & Rashid, Clinical Teacher 2025: meta-ethnography of 7 qualitative studies "
                  "(1975-2019), 134 doctors who returned home.",
    "SON2021": "Son et al., BMJ Open 2021: 23 University of Tokyo graduates interviewed 10+ years after an "
               "international elective; national elective figures for Japan.",
    "IMGBLOG": "Practitioner guide to the US pathway for IMGs (ECFMG, USMLE, applications, visas).",
    "ELECTIVES": "Pages of US elective and fellowship programmes (NIH CEP, Yale, Pittsburgh, GW MRFP, ...).",
    "POP2024": "Pop & Lotrean, BMC Medical Education 2024: survey of 572 graduates of one Romanian faculty "
               "on research engagement, motivation and barriers.",
}
ASSUMPTION = "assumption"

# Policy levers at these values are the status quo and need no provenance entry; nor does
# the year from which a scenario's levers apply (a scenario setting, not a behaviour).
STATUS_QUO = {name: value for name, value in POLICY_NEUTRAL.items() if not isinstance(value, bool)}
SCENARIO_SETTINGS = {"start_year"}

# Valid ranges of list elements that may be drawn (sim.config checks these in _cross_checks).
LIST_RANGES = {
    "params.research.base_hazard": (0.0, 1.0),
    "destination.training_years_probs": (0.0, 1.0),
}

# Spawn key of the parameter draws: SeedSequence(seed, spawn_key=(PARAMETERS_KEY,)) is their
# root, and each parameter draws from the child (PARAMETERS_KEY, crc32(name)).
PARAMETERS_KEY = zlib.crc32(b"parameters")

DISTRIBUTIONS = {
    "fixed": (),
    "beta": ("a", "b"),
    "normal": ("mean", "sd"),
    "lognormal": (),  # {median, gsd} or {mu, sigma}
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
}
OPTIONS = ("dist", "round", "normalise")
ENTRY_KEYS = ("prior", "source", "informed_by", "figure", "derivation")


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ProvenanceError(Exception):
    """A provenance file that cannot be used (missing or malformed)."""


# --- reading ---------------------------------------------------------------------------

def provenance_path(group: str, option: str, directory: Path | None = None) -> Path:
    return Path(directory or PROVENANCE_DIR) / f"{group}_{option}.yaml"


def load_provenance(group: str, option: str, directory: Path | None = None) -> dict[str, dict]:
    """The entries of one provenance file, keyed by dotted path inside the group."""
    path = provenance_path(group, option, directory)
    if not path.is_file():
        raise ProvenanceError(f"{_rel(path)}: no provenance file for {group}/{option}")
    stat = path.stat()
    return copy.deepcopy(_parse(str(path.resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=64)
def _parse(path: str, _mtime_ns: int, _size: int) -> dict[str, dict]:
    """One provenance file, parsed (cached while the file is unchanged)."""
    try:
        data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise ProvenanceError(f"{_rel(Path(path))}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if data is None:
        data = {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ProvenanceError(f"{_rel(Path(path))}: expected a mapping of dotted parameter names to entries")
    return {str(k): v for k, v in data.items()}


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def config_options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONFIG_DIR / group).glob("*.yaml"))


@functools.lru_cache(maxsize=32)
def _composed(overrides: tuple[str, ...]) -> SimConfig:
    from .cli import load_config  # Hydra only when composing

    return load_config(list(overrides))


def compose(origin: str = DEFAULTS["origin"], destination: str = DEFAULTS["destination"],
            params: str = DEFAULTS["params"], policy: str = DEFAULTS["policy"]) -> SimConfig:
    """The configuration ``python -m sim origin=... destination=... params=... policy=...`` runs
    (cached: treat it as read-only; :func:`apply` returns copies)."""
    return _composed((f"origin={origin}", f"destination={destination}", f"params={params}", f"policy={policy}"))


# --- the parameters of a configuration --------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int_field(f: dataclasses.Field) -> bool:
    return f.type in ("int", int)


def parameters(node: Any, group: str) -> list[tuple[str, dataclasses.Field, Any]]:
    """(dotted path inside the group, dataclass field, value) of every behavioural parameter:
    numbers and lists of numbers; not names or booleans, nor policy levers at the status quo."""
    out = []

    def walk(obj: Any, prefix: str) -> None:
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            name = prefix + f.name
            if dataclasses.is_dataclass(value):
                walk(value, name + ".")
            elif _is_number(value) or (isinstance(value, list) and value and all(map(_is_number, value))):
                if group == "policy" and (name in SCENARIO_SETTINGS or (
                        name in STATUS_QUO and value == STATUS_QUO[name])):
                    continue
                out.append((name, f, value))

    walk(node, "")
    return out


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(_equal(x, y) for x, y in zip(a, b)))
    return _is_number(a) and _is_number(b) and float(a) == float(b)


def _range(group: str, name: str, f: dataclasses.Field) -> tuple[float | None, float | None, bool]:
    key = f"{group}.{name}"
    if key in LIST_RANGES:
        lo, hi = LIST_RANGES[key]
        return lo, hi, False
    meta = f.metadata or {}
    return meta.get("lo"), meta.get("hi"), bool(meta.get("lo_open"))


# --- checking ---------------------------------------------------------------------------

def _prior(entry: dict) -> dict:
    prior = entry.get("prior")
    if prior == "fixed":
        return {"dist": "fixed"}
    return prior if isinstance(prior, dict) else {}


def _prior_problems(prior: Any, value: Any, f: dataclasses.Field, lo, hi) -> list[str]:
    """What is wrong with a prior (empty if nothing)."""
    if prior == "fixed":
        return []
    if not isinstance(prior, dict) or "dist" not in prior:
        return ["no distribution (prior: {dist: ...})"]
    dist = prior["dist"]
    if dist not in DISTRIBUTIONS:
        return [f"unknown distribution {dist!r}; use one of {', '.join(DISTRIBUTIONS)}"]
    if dist == "fixed":
        extra = sorted(set(prior) - {"dist"})
        return [f"a fixed prior takes no parameters (got {', '.join(extra)})"] if extra else []
    is_list = isinstance(value, list)
    n = len(value) if is_list else 1
    if dist == "lognormal":
        names = ("median", "gsd") if "median" in prior or "gsd" in prior else ("mu", "sigma")
    else:
        names = DISTRIBUTIONS[dist]
    problems = []
    unknown = sorted(set(prior) - set(names) - set(OPTIONS))
    if unknown:
        problems.append(f"{dist} prior: unknown keys {', '.join(map(str, unknown))}; expected {', '.join(names)}")
    params: dict[str, np.ndarray] = {}
    for k in names:
        v = prior.get(k)
        vals = v if isinstance(v, list) else [v]
        if v is None or not all(_is_number(x) and math.isfinite(x) for x in vals):
            problems.append(f"{dist} prior: {k} must be a number" + (" or a list of numbers" if is_list else ""))
            continue
        if isinstance(v, list) and len(v) != n:
            problems.append(f"{dist} prior: {k} has {len(v)} elements; the parameter has {n}")
            continue
        params[k] = np.broadcast_to(np.asarray(vals, dtype=float), (n,))
    if problems:
        return problems
    centre = np.asarray(value if is_list else [value], dtype=float)
    if dist == "beta":
        if (params["a"] <= 0).any() or (params["b"] <= 0).any():
            problems.append("beta prior: a and b must be positive")
        if ((centre < 0) | (centre > 1)).any():
            problems.append("beta prior on a value outside [0, 1]")
    elif dist == "normal" and (params["sd"] <= 0).any():
        problems.append("normal prior: sd must be positive")
    elif dist == "lognormal":
        if "median" in params and ((params["median"] <= 0).any() or (params["gsd"] <= 1).any()):
            problems.append("lognormal prior: median must be positive and gsd above 1")
        if "sigma" in params and (params["sigma"] <= 0).any():
            problems.append("lognormal prior: sigma must be positive")
        if (centre <= 0).any():
            problems.append("lognormal prior on a value that is not positive")
    elif dist in ("uniform", "triangular"):
        low, high = params["low"], params["high"]
        mode = params.get("mode", low)
        if (low >= high).any() or (mode < low).any() or (mode > high).any():
            problems.append(f"{dist} prior: need low <= mode <= high and low < high")
        elif ((centre < low) | (centre > high)).any():
            problems.append(f"{dist} prior: the central value lies outside [low, high]")
        elif (lo is not None and (low < lo).any()) or (hi is not None and (high > hi).any()):
            problems.append(f"{dist} prior: [low, high] reaches outside the valid range")
    if not problems and dist in ("beta", "normal", "lognormal"):
        low, high = _central_range(dist, params, 0.995)
        if ((centre < low) | (centre > high)).any():
            problems.append(f"{dist} prior: the config's value {_num(value)} lies outside the prior's central 99% "
                            f"({_num(_plain(low, is_list))} to {_num(_plain(high, is_list))}); centre the prior "
                            "on the value")
    for opt in ("round", "normalise"):
        if opt in prior and not isinstance(prior[opt], bool):
            problems.append(f"{opt} must be true or false")
    if prior.get("normalise") and not is_list:
        problems.append("normalise applies to lists only")
    if _is_int_field(f) and not prior.get("round"):
        problems.append("an integer parameter needs a fixed prior or round: true")
    return problems


def _central_range(dist: str, params: dict[str, np.ndarray], level: float) -> tuple[np.ndarray, np.ndarray]:
    """The central ``2 * level - 1`` interval of a beta, normal or lognormal prior."""
    from scipy import stats

    tails = (1 - level, level)
    if dist == "beta":
        lo, hi = (stats.beta.ppf(q, params["a"], params["b"]) for q in tails)
    elif dist == "normal":
        lo, hi = (stats.norm.ppf(q, params["mean"], params["sd"]) for q in tails)
    else:
        mu, sigma = ((np.log(params["median"]), np.log(params["gsd"])) if "median" in params
                     else (params["mu"], params["sigma"]))
        lo, hi = (np.exp(stats.norm.ppf(q, mu, sigma)) for q in tails)
    return np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)


def _plain(x: np.ndarray, is_list: bool) -> Any:
    values = [float(v) for v in np.atleast_1d(x)]
    return values if is_list else values[0]


def _source_problems(entry: dict) -> list[str]:
    problems = []
    source = entry.get("source")
    if not isinstance(source, str) or not source.strip():
        problems.append("no source (a key of docs/evidence.md, a cited publication with its year, or 'assumption')")
    elif source != ASSUMPTION and source not in EVIDENCE and not any(ch.isdigit() for ch in source):
        problems.append(f"source {source!r} is neither a key of docs/evidence.md ({', '.join(EVIDENCE)}), "
                        "'assumption', nor a citation with its year")
    informed = entry.get("informed_by", [])
    if not isinstance(informed, list) or any(k not in EVIDENCE for k in informed):
        problems.append(f"informed_by must be a list of keys of docs/evidence.md ({', '.join(EVIDENCE)})")
    for key in ("figure", "derivation"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            problems.append(f"no {key}")
    unknown = sorted(set(entry) - set(ENTRY_KEYS))
    if unknown:
        problems.append(f"unknown keys {', '.join(map(str, unknown))}; allowed: {', '.join(ENTRY_KEYS)}")
    return problems


def check_group(cfg: SimConfig, group: str, option: str, directory: Path | None = None) -> list[str]:
    """Problems with the provenance of one group of a composed configuration."""
    label = f"{group}/{option}"
    node = getattr(cfg, group)
    params = parameters(node, group)
    try:
        entries = load_provenance(group, option, directory)
    except ProvenanceError as err:
        return [str(err)] if params else []
    where = _rel(provenance_path(group, option, directory))
    problems = []
    for name, f, value in params:
        entry = entries.get(name)
        if entry is None:
            problems.append(f"{label}: {name}: no provenance entry in {where}")
            continue
        if "value" in entry:
            problems.append(f"{label}: {name}: entry in {where} repeats a value; the central value is the "
                            f"config's ({_num(value)}), write it there only")
        lo, hi, _ = _range(group, name, f)
        for p in _prior_problems(entry.get("prior"), value, f, lo, hi) + _source_problems(entry):
            problems.append(f"{label}: {name}: {p}")
    known = {name for name, _, _ in params}
    for name in entries:
        if name not in known:
            problems.append(f"{label}: {name}: entry in {where} matches no parameter of the config "
                            "(misspelt, removed, or a status-quo policy lever)")
    return problems


def check(origin: str = DEFAULTS["origin"], destination: str = DEFAULTS["destination"],
          params: str = DEFAULTS["params"], policy: str = DEFAULTS["policy"],
          directory: Path | None = None) -> list[str]:
    """Every parameter of the composed configs that lacks an entry, whose entry's central value
    disagrees with the config, or whose entry has no source or distribution (one line each)."""
    try:
        cfg = compose(origin, destination, params, policy)
    except Exception as exc:  # noqa: BLE001 - reported as a line, never a traceback
        lines = getattr(exc, "lines", None) or [str(exc).splitlines()[0] if str(exc) else type(exc).__name__]
        return [f"cannot compose origin={origin} destination={destination} params={params} policy={policy}: "
                f"{line}" for line in lines]
    choice = {"origin": origin, "destination": destination, "params": params, "policy": policy}
    problems = []
    for group in GROUPS:
        problems.extend(check_group(cfg, group, choice[group], directory))
    return problems


def check_all(directory: Path | None = None, docs: bool = True) -> list[str]:
    """:func:`check` for every config file (each with the default choice of the other groups),
    provenance files with no config file, and (with ``docs``) docs/parameters.md up to date."""
    problems: list[str] = []
    seen: set[str] = set()
    for group in GROUPS:
        for option in config_options(group):
            for p in check(**{**DEFAULTS, group: option}, directory=directory):
                if p not in seen:
                    seen.add(p)
                    problems.append(p)
    for path in sorted(Path(directory or PROVENANCE_DIR).glob("*.yaml")):
        group, _, option = path.stem.partition("_")
        if group not in GROUPS or option not in config_options(group):
            problems.append(f"{_rel(path)}: no config file configs/{group}/{option}.yaml for it")
    if docs and not problems and resources.IN_CHECKOUT:  # an installed copy has no docs/
        current = DOCS_PATH.read_text(encoding="utf-8") if DOCS_PATH.is_file() else ""
        if current != render_docs(directory):
            problems.append(f"{_rel(DOCS_PATH)}: out of date with configs/; run `python -m sim.provenance`")
    return problems


# --- sampling ---------------------------------------------------------------------------

def _draw(prior: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    dist = prior["dist"]

    def p(k):
        return np.asarray(prior[k], dtype=float)

    if dist == "beta":
        return rng.beta(p("a"), p("b"), size=n)
    if dist == "normal":
        return rng.normal(p("mean"), p("sd"), size=n)
    if dist == "lognormal":
        mu, sigma = (np.log(p("median")), np.log(p("gsd"))) if "median" in prior else (p("mu"), p("sigma"))
        return rng.lognormal(mu, sigma, size=n)
    if dist == "uniform":
        return rng.uniform(p("low"), p("high"), size=n)
    if dist == "triangular":
        low, mode, high = p("low"), p("mode"), p("high")
        return rng.triangular(low, mode, high, size=n)
    raise ProvenanceError(f"cannot draw from {dist!r}")


def _clip(x: np.ndarray, lo, hi, lo_open: bool, integer: bool) -> np.ndarray:
    if integer:
        x = np.round(x)
        if lo is not None:
            x = np.maximum(x, math.floor(lo) + 1 if lo_open and float(lo).is_integer() else math.ceil(lo))
        if hi is not None:
            x = np.minimum(x, math.floor(hi))
        return x
    if lo is not None:
        x = np.maximum(x, np.nextafter(lo, np.inf) if lo_open else lo)
    if hi is not None:
        x = np.minimum(x, hi)
    return x


def _provenance_for(cfg: SimConfig, params: str, directory: Path | None) -> dict[str, tuple[str, dict]]:
    """For each group of ``cfg``: (option, entries). The policy falls back to the baseline's
    file when an experiment renamed the policy."""
    chosen = {"origin": cfg.origin.name, "destination": cfg.destination.name, "params": params,
              "policy": cfg.policy.name}
    if not provenance_path("policy", chosen["policy"], directory).is_file():
        chosen["policy"] = DEFAULTS["policy"]
    return {g: (opt, load_provenance(g, opt, directory)) for g, opt in chosen.items()}


def central_values(group: str, option: str) -> dict[str, Any]:
    """The documented central values of one config file (``configs/<group>/<option>.yaml``),
    keyed by dotted path inside the group; {} if there is no such file."""
    path = CONFIG_DIR / group / f"{option}.yaml"
    if not path.is_file():
        return {}
    stat = path.stat()
    return _flat_file(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _flat_file(path: str, _mtime_ns: int, _size: int) -> dict[str, Any]:
    data = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_LOADER) or {}
    out: dict[str, Any] = {}

    def walk(node: Any, prefix: str) -> None:
        for k, v in node.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                out[f"{prefix}{k}"] = v

    if isinstance(data, dict):
        walk(data, "")
    return out


@dataclasses.dataclass(frozen=True)
class Factor:
    """One uncertain parameter of a configuration: its full dotted ``key``
    (``params.returning.base``), the ``prior`` entry, ``size`` (1, or the length of a list
    parameter), the valid range (``lo``, ``hi``, ``lo_open``), whether it is an ``integer``,
    and the ``decision`` it belongs to (``params.returning``; ``origin`` for a top-level key)."""

    key: str
    prior: dict
    size: int
    is_list: bool
    lo: float | None
    hi: float | None
    lo_open: bool
    integer: bool
    decision: str

    def finish(self, x: np.ndarray) -> Any:
        """Raw values (one per element) clipped into the valid range, rounded if integer,
        normalised if the prior says so: the value a run gets (a number, or a list)."""
        x = _clip(x, self.lo, self.hi, self.lo_open, self.integer)
        if self.prior.get("normalise") and x.sum() > 0:
            x = x / x.sum()
        out = [int(v) for v in x] if self.integer else [float(v) for v in x]
        return out if self.is_list else out[0]

    def ppf(self, q: float) -> Any:
        """The value at quantile ``q`` (in (0, 1)) of the prior, elementwise for a list (every
        element at the same quantile), finished as :meth:`finish` does; ``scipy.stats``'s
        inverse CDF of the distribution the prior names."""
        return self.finish(quantile(self.prior, np.asarray([q], dtype=float), self.size)[0])


def quantile(prior: dict, q: np.ndarray, n: int = 1) -> np.ndarray:
    """The inverse CDF of a prior at the quantiles ``q`` (shape (m,)), for each of its ``n``
    elements: shape (m, n) (``scipy.stats``; the distributions :func:`sample` draws from,
    parametrised as in the provenance files)."""
    from scipy import stats

    dist = prior["dist"]
    q = np.asarray(q, dtype=float).reshape(-1, 1)

    def p(k):
        return np.broadcast_to(np.asarray(prior[k], dtype=float), (n,))[None, :]

    if dist == "beta":
        x = stats.beta.ppf(q, p("a"), p("b"))
    elif dist == "normal":
        x = stats.norm.ppf(q, p("mean"), p("sd"))
    elif dist == "lognormal":
        mu, sigma = (np.log(p("median")), np.log(p("gsd"))) if "median" in prior else (p("mu"), p("sigma"))
        x = np.exp(stats.norm.ppf(q, mu, sigma))
    elif dist == "uniform":
        x = stats.uniform.ppf(q, p("low"), p("high") - p("low"))
    elif dist == "triangular":
        low, mode, high = p("low"), p("mode"), p("high")
        x = stats.triang.ppf(q, (mode - low) / (high - low), low, high - low)
    else:
        raise ProvenanceError(f"no quantile for a {dist!r} prior")
    return np.broadcast_to(np.asarray(x, dtype=float), (q.shape[0], n))


def factors(cfg: SimConfig, *, params: str = DEFAULTS["params"], directory: Path | None = None) -> list[Factor]:
    """The parameters :func:`sample` draws for ``cfg``, in its order: every non-fixed prior
    whose parameter sits at its documented central value (one set away from it is a scenario
    choice). Raises :class:`ProvenanceError` for a parameter without a provenance entry."""
    out = []
    for group, (option, entries) in _provenance_for(cfg, params, directory).items():
        central = central_values(group, option)
        node = getattr(cfg, group)
        for name, f, value in parameters(node, group):
            entry = entries.get(name)
            if entry is None and group == "policy":
                continue  # a lever an experiment set: the scenario, not an uncertain parameter
            if entry is None:
                raise ProvenanceError(f"{group}/{option}: {name}: no provenance entry; "
                                      "run `python -m sim.provenance --check`")
            prior = _prior(entry)
            if prior.get("dist", "fixed") == "fixed" or not _equal(central.get(name), value):
                continue
            lo, hi, lo_open = _range(group, name, f)
            section, _ = _section(group, node, name)
            is_list = isinstance(value, list)
            out.append(Factor(f"{group}.{name}", prior, len(value) if is_list else 1, is_list, lo, hi, lo_open,
                              _is_int_field(f) or bool(prior.get("round")),
                              f"{group}.{section}" if section else group))
    return out


def at_quantiles(cfg: SimConfig, keys: list[str], q: np.ndarray, *, params: str = DEFAULTS["params"],
                 directory: Path | None = None, among: list[Factor] | None = None) -> list[dict[str, Any]]:
    """Parameter values at prior quantiles: ``q`` has shape (points, len(keys)), each entry in
    (0, 1); one dict per point of dotted override keys like :func:`sample`'s, repaired the
    same way; parameters not in ``keys`` stay at their central values. ``among``: the factors
    of ``cfg`` if already known (:func:`factors`). Raises KeyError for a key that is not a
    factor of ``cfg``."""
    by_key = {fac.key: fac for fac in (among if among is not None else
                                       factors(cfg, params=params, directory=directory))}
    q = np.atleast_2d(np.asarray(q, dtype=float))
    columns = []
    for j, key in enumerate(keys):
        if key not in by_key:
            raise KeyError(f"{key}: not an uncertain parameter of this configuration")
        fac = by_key[key]
        raw = quantile(fac.prior, q[:, j], fac.size)
        columns.append([fac.finish(row) for row in raw])
    points = []
    for i in range(q.shape[0]):
        values = {key: col[i] for key, col in zip(keys, columns)}
        _repair(cfg, values)
        points.append(values)
    return points


def sample(cfg: SimConfig, seed: int, *, params: str = DEFAULTS["params"],
           directory: Path | None = None) -> dict[str, float | int | list]:
    """One draw of every non-fixed parameter from its prior, as dotted override keys.

    Keys are full paths (``params.elective_effects.role_model``); values are clipped into
    their valid ranges, integers rounded, lists drawn elementwise (and normalised where the
    prior says so); drawn values that would break a cross-check of ``sim.config.validate``
    are repaired (training quality at most its maximum, orientation shares summing to at
    most 1). A parameter the run has set away from its documented central value (the value in
    its config file; an experiment's lever, a user's override) is a scenario choice and is not
    drawn.

    Each parameter draws from ``SeedSequence(seed, spawn_key=(PARAMETERS_KEY, crc32(key)))``,
    a child of the root ``SeedSequence(seed, spawn_key=(PARAMETERS_KEY,))``: the same seed
    gives the same draws, and adding or changing one prior leaves the others' draws alone.
    ``params`` names the params file (the config does not record it).
    """
    drawn: dict[str, Any] = {}
    for fac in factors(cfg, params=params, directory=directory):
        rng = np.random.default_rng(np.random.SeedSequence(
            int(seed), spawn_key=(PARAMETERS_KEY, zlib.crc32(fac.key.encode()))))
        drawn[fac.key] = fac.finish(_draw(fac.prior, fac.size, rng))
    _repair(cfg, drawn)
    return drawn


def sampling_problems(cfg: SimConfig, params: str = DEFAULTS["params"], directory: Path | None = None) -> list[str]:
    """Why :func:`sample` cannot draw for ``cfg``: one line per parameter whose prior is broken,
    naming the parameter and its provenance file (empty if every draw can be made)."""
    try:
        groups = _provenance_for(cfg, params, directory)
    except ProvenanceError as err:
        return [f"params.uncertainty=sampled: {err}"]
    problems = []
    for group, (option, entries) in groups.items():
        where = _rel(provenance_path(group, option, directory))
        central = central_values(group, option)
        for name, f, value in parameters(getattr(cfg, group), group):
            entry = entries.get(name)
            if entry is None:
                if group != "policy":
                    problems.append(f"params.uncertainty=sampled: {group}.{name}: no provenance entry in {where}")
                continue
            if not _equal(central.get(name), value):
                continue  # set by the run: not drawn
            lo, hi, _ = _range(group, name, f)
            problems += [f"params.uncertainty=sampled: {group}.{name}: {p} (in {where})"
                         for p in _prior_problems(entry.get("prior"), value, f, lo, hi)]
    return problems


def _repair(cfg: SimConfig, drawn: dict[str, Any]) -> None:
    """Keep drawn values consistent with the cross-checks of ``sim.config.validate``."""
    def get(key: str):
        if key in drawn:
            return drawn[key]
        obj: Any = cfg
        for part in key.split("."):
            obj = getattr(obj, part)
        return obj

    q0, qmax = "origin.training_quality_baseline", "origin.training_quality_max"
    if get(q0) > get(qmax):
        if q0 in drawn:
            drawn[q0] = get(qmax)
        else:
            drawn[qmax] = get(q0)
    r, p = "origin.orientation_research_share", "origin.orientation_policy_share"
    total = get(r) + get(p)
    if total > 1:
        if r in drawn and p in drawn:
            drawn[r], drawn[p] = drawn[r] / total, drawn[p] / total
        elif r in drawn:
            drawn[r] = 1.0 - get(p)
        elif p in drawn:
            drawn[p] = 1.0 - get(r)


def apply(cfg: SimConfig, drawn: dict[str, Any]) -> SimConfig:
    """A new configuration with the ``drawn`` values (``cfg`` is left unchanged; not validated:
    see :func:`sim.config.with_values`)."""
    return with_values(cfg, drawn, check=False)


def as_overrides(drawn: dict[str, Any]) -> list[str]:
    """The draws as command-line overrides for ``python -m sim``."""
    def fmt(v):
        if isinstance(v, list):
            return "[" + ",".join(fmt(x) for x in v) + "]"
        return str(v) if isinstance(v, int) else repr(float(v))

    return [f"{k}={fmt(v)}" for k, v in drawn.items()]


# --- docs/parameters.md -----------------------------------------------------------------

def _num(x: Any) -> str:
    if isinstance(x, list):
        return "[" + ", ".join(_num(v) for v in x) + "]"
    if isinstance(x, bool) or not _is_number(x):
        return str(x)
    if isinstance(x, int):
        return str(x)
    return "%.10g" % x


def describe_prior(prior: Any) -> str:
    if prior == "fixed" or (isinstance(prior, dict) and prior.get("dist") == "fixed"):
        return "fixed"
    if not isinstance(prior, dict) or "dist" not in prior:
        return "(none)"
    dist = prior["dist"]
    if dist == "beta":
        text = f"Beta({_num(prior.get('a'))}, {_num(prior.get('b'))})"
    elif dist == "normal":
        text = f"Normal({_num(prior.get('mean'))}, {_num(prior.get('sd'))})"
    elif dist == "lognormal":
        text = (f"LogNormal(median {_num(prior.get('median'))}, GSD {_num(prior.get('gsd'))})" if "median" in prior
                else f"LogNormal(mu {_num(prior.get('mu'))}, sigma {_num(prior.get('sigma'))})")
    elif dist == "uniform":
        text = f"Uniform({_num(prior.get('low'))}, {_num(prior.get('high'))})"
    elif dist == "triangular":
        text = f"Triangular({_num(prior.get('low'))}, {_num(prior.get('mode'))}, {_num(prior.get('high'))})"
    else:
        text = str(dist)
    extras = ["elementwise"] if any(isinstance(v, list) for v in prior.values()) else []
    extras += [w for k, w in (("round", "rounded"), ("normalise", "normalised")) if prior.get(k)]
    return text + "".join(f", {w}" for w in extras)


def _cell(text: Any) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _section(group: str, cfg_node: Any, name: str) -> tuple[str, str]:
    """(section, description) of a parameter: the decision or config block it belongs to."""
    head = name.split(".")[0]
    sub = getattr(cfg_node, head, None)
    if "." in name and dataclasses.is_dataclass(sub) and not isinstance(sub, BetaDist):
        return head, _first_paragraph(type(sub).__doc__)
    return "", _first_paragraph(type(cfg_node).__doc__)


def _first_paragraph(doc: str | None) -> str:
    """The docstring's first paragraph on one line (it may wrap over several)."""
    return " ".join((doc or "").strip().split("\n\n")[0].split())


def _rows(directory: Path | None = None) -> list[dict]:
    rows = []
    for group in GROUPS:
        for option in config_options(group):
            cfg = compose(**{**DEFAULTS, group: option})
            node = getattr(cfg, group)
            try:
                entries = load_provenance(group, option, directory)
            except ProvenanceError:
                entries = {}
            for name, _f, value in parameters(node, group):
                entry = entries.get(name, {})
                section, doc = _section(group, node, name)
                rows.append({"group": group, "option": option, "name": name, "value": value,
                             "prior": describe_prior(entry.get("prior")),
                             "source": entry.get("source", "(none)"),
                             "informed_by": list(entry.get("informed_by", []) or []),
                             "figure": entry.get("figure", ""), "derivation": entry.get("derivation", ""),
                             "section": section, "doc": doc})
    return rows


def _source_order(source: str) -> tuple:
    if source in EVIDENCE:
        return (0, list(EVIDENCE).index(source), source)
    if source == ASSUMPTION:
        return (2, 0, source)
    return (1, 0, source)


def render_docs(directory: Path | None = None) -> str:
    """The text of docs/parameters.md (deterministic: depends only on the files)."""
    rows = _rows(directory)
    n_fixed = sum(r["prior"] == "fixed" for r in rows)
    files = sorted({(r["group"], r["option"]) for r in rows})
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["source"]] = counts.get(r["source"], 0) + 1
    lines = [
        "# Parameters and their provenance",
        "",
        "<!-- Generated by `python -m sim.provenance` from configs/ and configs/provenance/; do not edit. -->",
        "",
        "Every behavioural number in `configs/` (origin, destination, params, and the policy's status-quo "
        "scholarship money) with its central value (the value in the config file), its prior (the "
        "uncertainty `sim.provenance.sample` draws from), its source (a study key from the evidence base, "
        "a cited publication, or `assumption`), the figure it rests on and how the value follows from it. "
        "The entries live in `configs/provenance/<group>_<option>.yaml`; "
        "`python -m sim.provenance --check` fails when an entry is missing, disagrees with the config, or "
        "this file is out of date, and `python -m sim.provenance` regenerates it.",
        "",
        f"{len(rows)} parameters in {len(files)} configuration files: {len(rows) - n_fixed} with a prior, "
        f"{n_fixed} fixed. By source: "
        + ", ".join(f"{s} {counts[s]}" for s in sorted(counts, key=_source_order)) + ".",
        "",
        "Conventions: counts k of n in a study become Beta(k+1, n-k+1); a logistic coefficient whose size is "
        "an assumption is Normal(value, |value|/2) when a study gives its direction (listed under "
        "\"direction or range only\" below) and Normal(value, |value|) when nothing does; an assumed "
        "probability is Beta with concentration about 10; small rates and positive scales are LogNormal "
        "around the value; integers are fixed or Triangular then rounded. Draws are clipped into each "
        "parameter's valid range (`sim/config.py`).",
        "",
        "## All parameters",
        "",
        "| config | parameter | central value | prior | source | figure | derivation |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append("| " + " | ".join(_cell(c) for c in (
            f"{r['group']}/{r['option']}", f"`{r['name']}`", _num(r["value"]), r["prior"], r["source"],
            r["figure"], r["derivation"])) + " |")
    lines += ["", "## By source", "",
              "For each source, the parameters whose value rests on it, grouped by decision (config section); "
              "then those for which it gives only the direction or a rough range (`informed_by`).", ""]
    sources = sorted({r["source"] for r in rows} | {k for r in rows for k in r["informed_by"]}, key=_source_order)
    for source in sources:
        lines += [f"### {source}", ""]
        if source in EVIDENCE:
            lines += [EVIDENCE[source], ""]
        for title, pick in (("Rests on it", lambda r: r["source"] == source),
                            ("Direction or range only", lambda r: source in r["informed_by"])):
            chosen = [r for r in rows if pick(r)]
            if not chosen:
                continue
            lines += [f"{title}:", ""]
            groups: dict[tuple, list[dict]] = {}
            for r in chosen:
                groups.setdefault((r["group"], r["option"], r["section"], r["doc"]), []).append(r)
            for (group, option, section, doc), items in groups.items():
                label = f"{group}/{option}" + (f": {section}" if section else "")
                names = ", ".join(f"`{i['name'].split('.', 1)[1] if section else i['name']}` ({i['prior']})"
                                  for i in items)
                lines.append(f"- **{label}** ({_cell(doc.rstrip('.'))}): {names}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def write_docs(directory: Path | None = None) -> Path:
    text = render_docs(directory)
    DOCS_PATH.parent.mkdir(parents=True, exist_ok=True)
    tmp = DOCS_PATH.with_name(f".{DOCS_PATH.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(DOCS_PATH)
    return DOCS_PATH


# --- command line -------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.provenance",
                                 description="Check parameter provenance and regenerate docs/parameters.md.")
    ap.add_argument("--check", action="store_true",
                    help="list every problem (missing entries, disagreeing values, stale docs); exit 1 if any")
    ap.add_argument("--sample", type=int, metavar="SEED",
                    help="print one draw from the priors of the default configuration as overrides for python -m sim")
    args = ap.parse_args(argv)
    if args.sample is not None:
        for line in as_overrides(sample(compose(), args.sample)):
            print(line)
        return 0
    if args.check:
        problems = check_all()
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        if problems:
            print(f"{len(problems)} provenance problem(s)", file=sys.stderr)
            return 1
        docs = f"{_rel(DOCS_PATH)} is up to date" if resources.IN_CHECKOUT else "(docs/ is checked in a checkout)"
        print(f"provenance: every parameter has a source and a prior centred on the config's value; {docs}")
        return 0
    if not resources.IN_CHECKOUT:
        print("error: docs/parameters.md is regenerated in a checkout of the repository; this is an installed copy",
              file=sys.stderr)
        return 2
    problems = check_all(docs=False)
    path = write_docs()
    print(f"wrote {_rel(path)}")
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
