"""Where the files the package reads at run time are: in a checkout, the repository's
``configs/`` and ``experiments/``; in an installed wheel, their copies inside the package
(``sim/configs``, ``sim/experiments``, mapped there by pyproject.toml).

Experiment files are looked up, first found wins, in: the folders listed in the
``CAREERSIM_EXPERIMENTS`` environment variable (separated by ``os.pathsep``), then
``./experiments`` of the working folder, then the experiments shipped with the package.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
EXPERIMENTS_ENV = "CAREERSIM_EXPERIMENTS"


def _data_dir(name: str) -> Path:
    """``sim/<name>`` in an installed package, else ``<checkout>/<name>``."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


CONFIG_DIR = _data_dir("configs")
SHIPPED_EXPERIMENTS = _data_dir("experiments")
# docs/ exists in a checkout only: docs/parameters.md is checked and regenerated there
IN_CHECKOUT = CONFIG_DIR == PACKAGE.parent / "configs"
DOCS_DIR = PACKAGE.parent / "docs"


def experiment_folders() -> list[Path]:
    """The folders searched for ``experiment=NAME``, in order, each once (see the module docstring)."""
    given = [Path(p).expanduser() for p in os.environ.get(EXPERIMENTS_ENV, "").split(os.pathsep) if p.strip()]
    folders = [*given, Path.cwd() / "experiments", SHIPPED_EXPERIMENTS]
    seen: set[Path] = set()
    out = []
    for folder in folders:
        try:
            key = folder.resolve()
        except OSError:
            continue
        if key not in seen and folder.is_dir():
            seen.add(key)
            out.append(folder)
    return out
