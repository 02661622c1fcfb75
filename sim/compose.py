"""The configuration from Python: the configs the command line composes, from anywhere.

:func:`load_config` composes ``configs/`` with Hydra's compose API exactly as ``python -m sim``
does (same files, same overrides, same checks), and works whatever Hydra state the caller is
in: a plain script or notebook, a notebook that already holds its own Hydra session
(``hydra.initialize(...)``), or a task function under ``@hydra.main``. The caller's session
is set aside while the project's configs are composed and put back afterwards.

:func:`overrides_from` turns Python values into command-line overrides, for
``CareerModel(seed=1, experiment="training_reform", ...)``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .config import SimConfig

GROUPS = ("origin", "destination", "policy", "params", "experiment", "search")  # config groups: a value is a choice


@contextlib.contextmanager
def hydra_session(config_dir: Path | str | None = None) -> Iterator[None]:
    """Hydra initialised on the project's configs (``config_dir``: default ``configs/``) for
    the duration of the block; a Hydra session the caller holds (their own
    ``initialize(...)``, or a running ``@hydra.main`` task) is set aside and restored after,
    even when the block raises."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from . import checks

    held = GlobalHydra.instance()
    caller = held.hydra if held.is_initialized() else None
    if caller is not None:
        held.clear()
    try:
        with initialize_config_dir(config_dir=str(config_dir or checks.CONFIG_DIR), version_base="1.3"):
            yield
    finally:
        if caller is not None:
            GlobalHydra.instance().clear()
            GlobalHydra.instance().initialize(caller)


def load_config(overrides: list[str] | None = None) -> SimConfig:
    """The model's configuration as ``python -m sim OVERRIDES`` would compose and check it.

    Args:
        overrides: command-line overrides, e.g. ``["experiment=training_reform", "scale=0.1"]``.

    Returns:
        A new :class:`~sim.config.SimConfig` (the caller may change it).

    Raises:
        sim.checks.UserError: the configuration cannot run; ``lines`` holds one line per
            problem, naming the key, the value and what is allowed.
    """
    return copy.deepcopy(_composed(tuple(overrides or ()), _fingerprint()))


def _fingerprint() -> tuple:
    """Names, sizes and modification times of every config file and every experiment file
    Hydra may find (the ones in ``CAREERSIM_EXPERIMENTS``, ``./experiments`` and the shipped
    ones, see :mod:`sim.resources`): a composition is reused only while none of them changed,
    so a notebook that edits or adds an experiment file, or changes folder, sees it."""
    from . import checks, resources

    root = Path(checks.CONFIG_DIR)
    files = {*root.glob("*.yaml"), *root.glob("*/*.yaml"), *root.glob("*/*/*.yaml")}
    folders = resources.experiment_folders()
    for folder in folders:
        files.update(folder.glob("*.yaml"))
    stats = [tuple(str(f) for f in folders)]
    for path in sorted(files):
        st = path.stat()
        stats.append((str(path), st.st_size, st.st_mtime_ns))
    return tuple(stats)


@functools.lru_cache(maxsize=32)
def _composed(overrides: tuple[str, ...], fingerprint: tuple) -> SimConfig:
    from .checks import UserError, _compose_job, to_sim_config

    with hydra_session():
        cfg, errors = _compose_job(list(overrides), "config", {})
    if cfg is not None:
        try:
            sim_cfg = to_sim_config(cfg)
        except UserError as err:
            errors.extend(err.lines)
        else:
            if not errors:
                return sim_cfg
    raise UserError(errors)


_PLAIN = re.compile(r"[A-Za-z_][\w.\-/]*")


def _override_value(value: Any) -> str:
    """A Python value as Hydra's override grammar writes it (strings quoted when needed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_override_value(v) for v in value) + "]"
    if isinstance(value, str):
        if _PLAIN.fullmatch(value) and value.lower() not in ("null", "true", "false", "nan", "inf"):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if hasattr(value, "item"):  # a numpy scalar
        return _override_value(value.item())
    raise TypeError(f"cannot pass {type(value).__name__} {value!r} as a configuration value")


def overrides_from(values: Mapping[str, Any]) -> list[str]:
    """Keyword values as command-line overrides: ``{"seed": 1, "experiment": "training_reform",
    "policy.returnee_premium": 0.2}`` gives ``["seed=1", "experiment=training_reform",
    "policy.returnee_premium=0.2"]``. A mapping under a key stands for its dotted keys
    (``policy={"returnee_premium": 0.2}``); a string under a config group (``origin``,
    ``policy``, ``experiment``, ...) chooses that group's file.

    Raises:
        TypeError: a value that has no form on the command line (an object, say).
    """
    out: list[str] = []
    for key, value in values.items():
        if isinstance(value, Mapping):
            out.extend(overrides_from({f"{key}.{k}": v for k, v in value.items()}))
        else:
            out.append(f"{key}={_override_value(value)}")
    return out


__all__ = ["hydra_session", "load_config", "overrides_from"]
