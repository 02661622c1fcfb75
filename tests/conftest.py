"""Shared fixtures: compose the real configs (as `python -m sim` does), shrink them, run."""

from __future__ import annotations

import functools

import pytest

from sim import metrics
from sim.cli import load_config
from sim.model import CareerModel

SMALL = ["scale=0.05", "years=20"]


@functools.lru_cache(maxsize=64)
def _run(overrides: tuple[str, ...]):
    cfg = load_config(list(overrides))
    model = CareerModel(cfg, materialize_agents=False).run()
    return model, metrics.summary(model), metrics.timeseries(model), metrics.events(model)


def run(*overrides: str):
    """Run the composed config with ``overrides`` (cached: treat the results as read-only)."""
    return _run(tuple(overrides))


@pytest.fixture(scope="session")
def small_run():
    return run(*SMALL)
