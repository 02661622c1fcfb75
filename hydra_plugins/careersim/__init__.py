"""Hydra plugins of this simulation: the ``experiment`` config group gathered from several folders.

Hydra finds these itself (every module under ``hydra_plugins`` is scanned), so that every
way of composing the simulation's configs -- ``python -m sim``, ``careersim``, Hydra's
``glob()`` sweeps, tab completion, ``hydra.compose`` -- sees the same experiments. Both act
only for this simulation's own primary config folder; other Hydra applications are left alone.
This module imports nothing of the simulation until an experiment is looked up.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.config_search_path import ConfigSearchPath
from hydra.core.object_type import ObjectType
from hydra.plugins.config_source import ConfigLoadError, ConfigResult, ConfigSource
from hydra.plugins.search_path_plugin import SearchPathPlugin
from omegaconf import OmegaConf

GROUP = "experiment"
SCHEME = "careersim-experiments"


def _config_dirs() -> set[str]:
    """Where this simulation's primary config folder may be (installed package or checkout)."""
    spec = importlib.util.find_spec("sim")
    if spec is None or not spec.submodule_search_locations:
        return set()
    out = set()
    for location in spec.submodule_search_locations:
        package = Path(location).resolve()
        out |= {str(package / "configs"), str(package.parent / "configs")}
    return out


class ExperimentsSearchPath(SearchPathPlugin):
    """Adds the ``experiment`` group's folders after this simulation's primary config folder."""

    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        main = [e.path for e in search_path.get_path() if e.provider == "main"]
        if not main:
            return
        path = main[0].split("://", 1)[-1]
        try:
            resolved = str(Path(path).resolve())
        except OSError:
            return
        if resolved in _config_dirs():
            search_path.append("careersim", f"{SCHEME}://")


class ExperimentsSource(ConfigSource):
    """The ``experiment`` config group, gathered from several folders (first found wins).

    The folders, in order (:func:`sim.resources.experiment_folders`): those in
    ``CAREERSIM_EXPERIMENTS`` (separated by the system's path separator), ``./experiments`` of
    the working folder, then the experiments shipped with the package. Each file is checked
    when loaded (:func:`experiment_problem`); a problem is one line naming the file.
    """

    def __init__(self, provider: str, path: str) -> None:
        if "://" not in path:
            path = f"{self.scheme()}://{path}"
        super().__init__(provider=provider, path=path)

    @staticmethod
    def scheme() -> str:
        return SCHEME

    @staticmethod
    def _folders() -> list[Path]:
        from sim.resources import experiment_folders

        return experiment_folders()

    def _find(self, name: str) -> Optional[Path]:
        for folder in self._folders():
            path = folder / f"{name}.yaml"
            if path.is_file():
                return path
        return None

    @staticmethod
    def _name(config_path: str) -> Optional[str]:
        group, sep, name = config_path.partition("/")
        if group != GROUP or not sep or "/" in name:
            return None
        return name[:-5] if name.endswith(".yaml") else name

    def load_config(self, config_path: str) -> ConfigResult:
        name = self._name(config_path)
        path = self._find(name) if name else None
        if path is None:
            raise ConfigLoadError(f"Config not found : {config_path}")
        text = path.read_text(encoding="utf-8")
        header = ConfigSource._get_header_dict(text[:512])
        cfg = OmegaConf.create(text) if text.strip() else OmegaConf.create()
        problem = experiment_problem(text, header, cfg)
        if problem:
            raise ExperimentError(f"experiment={name}: {path} {problem}")
        return ConfigResult(config=cfg, path=f"file://{path.parent}", provider=self.provider, header=header)

    def available(self) -> bool:
        return True

    def is_group(self, config_path: str) -> bool:
        return config_path in ("", GROUP)

    def is_config(self, config_path: str) -> bool:
        name = self._name(config_path)
        return name is not None and self._find(name) is not None

    def list(self, config_path: str, results_filter: Optional[ObjectType]) -> List[str]:
        if config_path == "":
            return [GROUP] if results_filter in (None, ObjectType.GROUP) else []
        if config_path != GROUP or results_filter == ObjectType.GROUP:
            return []
        return sorted({p.stem for folder in self._folders() for p in folder.glob("*.yaml") if p.is_file()})


class ExperimentError(ConfigLoadError):
    """An experiment file that cannot be used; the message is one line naming the file."""


def experiment_problem(text: str, header: dict, cfg: Any) -> Optional[str]:
    """Why an experiment file cannot be used (the end of a sentence naming it), or None."""
    if not text.strip():
        return ("is empty; an experiment starts with the line '# @package _global_' and lists what it changes "
                "(see experiments/baseline.yaml)")
    if header.get("package") != "_global_":
        return ("does not start with '# @package _global_'; an experiment's first line must be that comment, "
                "so that its keys (policy:, years:, ...) apply to the whole configuration")
    if OmegaConf.is_dict(cfg) and "defaults" in cfg and not OmegaConf.is_list(cfg._get_node("defaults")):
        return ("has 'defaults' as a mapping; write it as a list, e.g. defaults: [{override /origin: romania}] "
                "or one '- override /origin: romania' a line")
    return None
