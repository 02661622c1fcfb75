"""Field declarations shared by every parameter schema (``sim.config`` and the processes).

A field declares its range (and choices) in its metadata; :func:`sim.config.validate`
checks values against it and error messages quote it. Fields carry no behavioural
default: every number comes from the YAML files under ``configs/``.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

# The literal OmegaConf uses for "mandatory, not set"; kept local so the core does not
# import the configuration library.
MISSING: Any = "???"

# Upper bounds on counts and money: far beyond any real value, low enough that arrays sized
# by them fit in memory and products of them stay finite.
MAX_COUNT = 10_000_000   # slots, positions, applicants in the world pool
MAX_USD = 1e12           # any amount of money


def _f(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False,
       choices: tuple | None = None, default: Any = MISSING) -> Any:
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "choices": choices}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


def prob() -> Any:
    """A probability or share, in [0, 1]."""
    return _f(0.0, 1.0)


def nonneg(hi: float | None = None) -> Any:
    return _f(0.0, hi)


def positive(hi: float | None = None) -> Any:
    return _f(0.0, hi, lo_open=True)


def real() -> Any:
    return _f()
