"""Everything this package takes from Hydra beyond its public API, in one place.

Hydra 1.3 has no public way to register a config source, to parse its command line without
running it, to split a basic sweep into jobs or to name a job's folder from its overrides;
these are taken from ``hydra._internal`` here, and ``tests/test_hydra_compat.py`` fails
loudly if a Hydra release moves or changes them. The rest of the package uses only the
public API (``hydra.compose``, ``hydra.main``, ``HydraConfig``, the override parser).
"""

from __future__ import annotations

from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra._internal.sources_registry import SourcesRegistry
from hydra._internal.utils import get_args_parser

try:
    from hydra_plugins.careersim import ExperimentError, ExperimentsSource
except ImportError as exc:  # an editable install made before hydra_plugins/careersim existed
    raise ImportError("hydra_plugins.careersim is not installed with this package; reinstall it: "
                      "python -m pip install -e .") from exc

__all__ = ["BasicSweeper", "ExperimentError", "ExperimentsSource", "get_args_parser", "overrides_dirname"]


def overrides_dirname(parsed: list[Any], exclude_keys: list[str], item_sep: str, kv_sep: str) -> str:
    """``${hydra.job.override_dirname}`` of a job, as Hydra computes it."""
    from hydra._internal.config_loader_impl import get_overrides_dirname

    return get_overrides_dirname(parsed, exclude_keys, item_sep, kv_sep)


def register() -> None:
    """Make the ``careersim-experiments://`` config source known to Hydra before it scans its plugins
    (``hydra.compose`` within a session that has not scanned them yet)."""
    registry = SourcesRegistry.instance()
    if ExperimentsSource.scheme() not in registry.types:
        registry.register(ExperimentsSource)


register()
