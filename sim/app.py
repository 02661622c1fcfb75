"""Hydra entry point: compose a config, check it, run the model, write the run folder.

``python -m sim`` runs the default experiment; ``python -m sim experiment=NAME`` runs a
named file from ``experiments/``; any key can be overridden (``seed=7 scale=0.1``) and
``-m`` sweeps. This layer owns everything the model core does not: configuration
files, output folders, plots and progress messages.
"""

from __future__ import annotations

import dataclasses
import logging
import platform
import shutil
import sys
import time
from importlib.metadata import version
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from . import metrics, outputs, plots
from .config import SimConfig, validate
from .model import CareerModel

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
log = logging.getLogger("sim")

ConfigStore.instance().store(name="config_schema", node=SimConfig)


class UserError(Exception):
    """A problem with the user's input: reported as lines, never as a traceback."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _unknown_keys(node: DictConfig, prefix: str = "") -> list[str]:
    """Keys a user added (``+key=value``) that the schema does not know."""
    schema = OmegaConf.get_type(node)
    if not dataclasses.is_dataclass(schema):
        return []
    known = {f.name for f in dataclasses.fields(schema)}
    errors = []
    for key in node.keys():
        if key not in known:
            errors.append(f"{prefix}{key}: unknown key; allowed here: {', '.join(sorted(known))}")
        elif isinstance(node._get_node(key), DictConfig):
            errors.extend(_unknown_keys(node[key], f"{prefix}{key}."))
    return errors


def to_sim_config(cfg: DictConfig) -> SimConfig:
    """The plain config object the model takes; every problem reported, none raised as a traceback."""
    unknown = _unknown_keys(cfg)
    if unknown:
        raise UserError(unknown)
    try:
        sim_cfg = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        key = getattr(exc, "full_key", None)
        msg = str(exc).splitlines()[0]
        raise UserError([f"{key}: {msg}" if key else msg]) from None
    errors = validate(sim_cfg)
    if errors:
        raise UserError(errors)
    return sim_cfg


def load_config(overrides: list[str] | None = None) -> SimConfig:
    """Compose the configs as ``python -m sim`` would (for tests and notebooks)."""
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = compose(config_name="config", overrides=list(overrides or []))
    return to_sim_config(cfg)


def run_experiment(sim_cfg: SimConfig, folder: Path, resolved_yaml: str, meta: dict) -> dict:
    """Run one simulation and write its folder; returns the summary."""
    folder = Path(folder)
    outputs.start_run(folder)
    t0 = time.perf_counter()
    model = CareerModel(sim_cfg)
    t_setup = time.perf_counter() - t0
    every = max(1, sim_cfg.years // 7)
    for _ in range(sim_cfg.years):
        model.step()
        if model.year % every == 0 or model.year == sim_cfg.years:
            log.info("year %d/%d  people %d  elapsed %.1fs", model.year, sim_cfg.years, model.pop.n,
                     time.perf_counter() - t0)
    t_run = time.perf_counter() - t0 - t_setup
    summary = metrics.summary(model)
    ts = metrics.timeseries(model)
    ev = metrics.events(model)
    outputs.write_text(folder / "config.yaml", resolved_yaml)
    outputs.write_json(folder / "summary.json", summary)
    outputs.write_parquet(folder / "timeseries.parquet", ts)
    outputs.write_parquet(folder / "events.parquet", ev)
    title = (f"{sim_cfg.origin.name} -> {sim_cfg.destination.name}, policy {sim_cfg.policy.name}, "
             f"seed {sim_cfg.seed}")
    plots.plot_stocks(ts, folder / "stocks.png", title, sim_cfg.scale)
    outputs.write_json(folder / "run.json", {
        **meta,
        "seed": sim_cfg.seed, "years": sim_cfg.years, "scale": sim_cfg.scale,
        "origin": sim_cfg.origin.name, "destination": sim_cfg.destination.name, "policy": sim_cfg.policy.name,
        "people_simulated": int(model.pop.n), "events": int(len(ev)),
        "setup_seconds": round(t_setup, 3), "run_seconds": round(t_run, 3),
        "total_seconds": round(time.perf_counter() - t0, 3),
        "python": platform.python_version(), "mesa": version("mesa"), "numpy": version("numpy"),
    })
    outputs.finish_run(folder)
    log.info("wrote %s (%.1fs)", folder, time.perf_counter() - t0)
    return summary


def _discard_if_empty(folder: Path) -> None:
    """Remove a run folder this failed run created, if it holds nothing but Hydra's own files."""
    if not folder.is_dir():
        return
    leftovers = [p for p in folder.iterdir() if p.name != ".hydra" and not p.name.endswith(".log")]
    if not leftovers:
        shutil.rmtree(folder, ignore_errors=True)


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def main(cfg: DictConfig) -> dict:
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    folder = Path(hc.runtime.output_dir)
    try:
        sim_cfg = to_sim_config(cfg)
    except UserError as err:
        for line in err.lines:
            print(f"error: {line}", file=sys.stderr)
        _discard_if_empty(folder)
        sys.exit(2)
    meta = {"experiment": hc.runtime.choices.get("experiment"), "overrides": list(hc.overrides.task)}
    return run_experiment(sim_cfg, folder, OmegaConf.to_yaml(cfg, resolve=True), meta)
