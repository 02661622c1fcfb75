"""Hydra entry point: compose a config, check it, run the model, write the run folder.

``python -m sim`` runs the default experiment; ``python -m sim experiment=NAME`` runs a
named file from ``experiments/``; any key can be overridden (``seed=7 scale=0.1``) and
``-m`` sweeps. This layer owns everything the model core does not: configuration
files, output folders, plots and progress messages.

The command line (:func:`cli`, run by ``python -m sim``) first composes and checks the
configuration with Hydra's compose API, so that every problem (a wrong type, an unknown
key or option, a value out of range, a run too large) is one ``error:`` line with exit
code 2 and nothing is created on disk; only then does it hand over to :func:`main`.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import logging
import os
import platform
import re
import signal
import sys
import threading
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import hydra
import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

from . import config as _config_module
from . import outputs
from .config import SimConfig, _show, describe_field, validate

CONFIG_DIR = Path(__file__).resolve().parent.parent / "configs"
log = logging.getLogger("sim")

ConfigStore.instance().store(name="config_schema", node=SimConfig)
_DATACLASSES = {name: obj for name, obj in vars(_config_module).items()
                if isinstance(obj, type) and dataclasses.is_dataclass(obj)}


class UserError(Exception):
    """A problem with the user's input: reported as lines, never as a traceback."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _schema_at(path: str) -> type | None:
    """The dataclass that holds the keys under ``path`` ("" is the top level)."""
    node: Any = SimConfig
    if path.startswith("hydra"):
        from hydra.conf import HydraConf
        node, path = HydraConf, path[len("hydra"):].lstrip(".")
    for part in [p for p in path.split(".") if p]:
        fields = {f.name: f for f in dataclasses.fields(node)} if dataclasses.is_dataclass(node) else {}
        f = fields.get(part)
        if f is None:
            return None
        t = f.type if not isinstance(f.type, str) else _DATACLASSES.get(f.type)
        node = t
    return node if dataclasses.is_dataclass(node) else None


def _field_at(full_key: str) -> dataclasses.Field | None:
    """The schema field of a key of the model's configuration (not Hydra's own)."""
    if full_key.split(".")[0] == "hydra":
        return None
    parent, _, name = full_key.rpartition(".")
    schema = _schema_at(parent)
    if schema is None:
        return None
    return {f.name: f for f in dataclasses.fields(schema)}.get(name)


def _allowed_here(full_key: str) -> str:
    parent = full_key.rpartition(".")[0]
    schema = _schema_at(parent)
    if schema is None:
        return ""
    return "; allowed here: " + ", ".join(sorted(f.name for f in dataclasses.fields(schema)))


def _unknown_keys(node: DictConfig, prefix: str = "", drop: bool = False) -> list[str]:
    """Keys a user added (``+key=value``) that the schema does not know (removed if ``drop``)."""
    schema = OmegaConf.get_type(node)
    if not dataclasses.is_dataclass(schema):
        return []
    known = {f.name for f in dataclasses.fields(schema)}
    errors = []
    for key in list(node.keys()):
        if key not in known:
            errors.append(f"{prefix}{key}: unknown key; allowed here: {', '.join(sorted(known))}")
            if drop:
                with open_dict(node):
                    del node[key]
        elif isinstance(node._get_node(key), DictConfig):
            errors.extend(_unknown_keys(node[key], f"{prefix}{key}.", drop))
    return errors


def to_sim_config(cfg: DictConfig) -> SimConfig:
    """The plain config object the model takes; every problem reported, none raised as a traceback."""
    errors: list[str] = []
    try:
        if _unknown_keys(cfg):
            cfg = copy.deepcopy(cfg)
            errors.extend(_unknown_keys(cfg, drop=True))  # reported; the rest is still checked
        sim_cfg = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        raise UserError(errors + [_omegaconf_error(exc)]) from None
    errors.extend(validate(sim_cfg))
    if errors:
        raise UserError(errors)
    return sim_cfg


def load_config(overrides: list[str] | None = None) -> SimConfig:
    """Compose the configs as ``python -m sim`` would (for tests and notebooks).

    Raises :class:`UserError` (one line per problem) for a configuration that cannot run.
    """
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg, errors = _compose_job(list(overrides or []), "config", {})
    if cfg is not None:
        try:
            sim_cfg = to_sim_config(cfg)
        except UserError as err:
            errors.extend(err.lines)
        else:
            if not errors:
                return sim_cfg
    raise UserError(errors)


# ---------------------------------------------------------------- one-line errors
# Hydra reports composition problems (wrong types, unknown keys, unknown group options,
# YAML syntax) as several lines ending in a hint about HYDRA_FULL_ERROR. The command line
# composes first with Hydra's compose API, turns each problem into one line naming the
# field, the value and what is allowed, and only then hands over to Hydra to run.

def _show_raw(override: Any) -> str:
    """The value as the user typed it (quoted when it is text)."""
    raw = _raw_value(override)
    try:
        value = override.value()
    except Exception:  # noqa: BLE001 - sweeps, functions
        value = raw
    if value is None:
        return "null"
    return repr(raw) if isinstance(value, str) else raw


def _raw_value(override: Any) -> str:
    line = _override_text(override)
    return line.split("=", 1)[1] if "=" in line else ""


def _omegaconf_error(exc: OmegaConfBaseException, override: Any = None, where: str = "") -> str:
    """One line for an OmegaConf error raised while merging or converting a config."""
    msg = (getattr(exc, "msg", None) or str(exc)).strip().splitlines()
    first = msg[0] if msg else type(exc).__name__
    key = getattr(exc, "full_key", None) or ""
    if not key:
        m = re.search(r"full_key: (\S+)", str(exc))
        key = m.group(1) if m else ""
    return _explain_message(first, key, getattr(exc, "value", None), override, where,
                            isinstance(exc, (ConfigKeyError, ConfigAttributeError)),
                            isinstance(exc, MissingMandatoryValue))


def _explain_message(first: str, key: str, value: Any, override: Any, where: str, unknown: bool,
                     missing: bool = False) -> str:
    own = override is not None and key and override.key_or_group == key
    shown = _show_raw(override) if own else (_show(value) if value is not None else None)
    if shown is None:
        m = re.match(r"Value '(.*)' (?:of type|is not)", first)
        shown = repr(m.group(1)) if m else "this value"
    f = _field_at(key) if key else None
    expected = describe_field(f) if f is not None else ""
    ctx = f" (in {where})" if where else ""
    name = key or (override.key_or_group if override is not None else "configuration")
    if unknown or (first.startswith("Key '") and " not in " in first):
        m = re.match(r"Key '([^']+)' not in", first)
        if m and not key.endswith(m.group(1)):
            name = f"{key}.{m.group(1)}" if key else m.group(1)
        return f"{name}: unknown key{ctx}{_allowed_here(name)}"
    if missing or "Missing mandatory value" in first or "missing mandatory value" in first:
        return f"{name}: no value set{ctx}; every parameter must be given in configs/"
    if re.search(r"could not be converted to (Integer|Float)", first) or "is not a valid bool" in first:
        what = ("an integer" if "Integer" in first else "a number" if "Float" in first else "true or false")
        return f"{name}: {shown} is not {what}{ctx}; expected {expected or what}"
    if "is not Optional" in first:
        return f"{name}: null is not allowed{ctx}; expected {expected or 'a value'}"
    m = re.match(r"Invalid type assigned: (\w+) is not a subclass of (\w+)", first)
    if m:
        return (f"{name}: {shown} is not allowed{ctx}; {name} is a group of settings ({m.group(2)}): "
                f"set its fields one by one, e.g. {name}.FIELD=VALUE")
    if "is not a ListConfig, list or tuple" in first:
        return f"{name}: {shown} is not a list{ctx}; expected a list such as [3, 4]"
    if re.match(r"Cannot convert '\w+' to string", first):
        return f"{name}: {shown} is not allowed{ctx}; expected a name (text)"
    return f"{name}: {first}{ctx}"


def _group_options(loader: Any, group: str) -> list[str]:
    try:
        return sorted(loader.get_group_options(group))
    except Exception:  # noqa: BLE001 - not a group
        return []


def _explain(exc: BaseException, override: Any, loader: Any) -> str:
    """One line naming the field, the value and what is allowed, for a composition error."""
    text = str(exc)
    where_m = re.match(r"In '([^']+)'", text)
    where = where_m.group(1) if where_m and where_m.group(1) != "config" else ""
    key = override.key_or_group if override is not None else ""
    if isinstance(exc, OverrideParseException):
        first = text.strip().splitlines()[0] if text.strip() else "syntax error"
        return f"{_override_text(override)}: not a valid override ({first}); write key=value, e.g. years=20"
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and "/" in exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        options = list(exc.options or []) or _group_options(loader, group)
        ctx = f" (asked for in {where})" if where else ""
        if not ctx and override is not None and key != group:
            ctx = f" (asked for by {_override_text(override)})"
        return f"{group}: no option {name!r}{ctx}; available: {', '.join(options)}"
    if isinstance(exc, yaml.YAMLError):
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or text.strip().splitlines()[0]
        at = f"{mark.name}, line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "a config file"
        name = key or "configuration"
        value = f" {_show_raw(override)}" if override is not None else ""
        return f"{name}:{value} is not valid YAML ({at}): {problem}"
    if text.startswith("Ambiguous value for argument") and override is not None:
        return (f"{key}: {_raw_value(override)!r} is several values; to run one job per "
                f"value add -m (--multirun), to give a list write {key}=[...]")
    options = _group_options(loader, key) if key else []
    if options and not isinstance(exc, HydraException):
        return f"{key}: {_show_raw(override)} is not allowed; choose one of: {', '.join(options)}"
    cause = exc.__cause__ if isinstance(exc.__cause__, OmegaConfBaseException) else None
    if cause is not None:
        return _omegaconf_error(cause, override, where)
    m = re.search(r"raised while composing config:\n(.*)", text)
    if m:
        return _explain_message(m.group(1).strip(), _key_in(text), None, override, where,
                                m.group(1).startswith("Key '"))
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    name = key or "configuration"
    return f"{name}: {first}" + (f" (in {where})" if where else "")


def _key_in(text: str) -> str:
    m = re.search(r"full_key: (\S+)", text)
    return m.group(1) if m else ""


def _override_text(override: Any) -> str:
    return override if isinstance(override, str) else (override.input_line or str(override))


class _Raw:
    """Stands in for a parsed override when an override cannot be parsed."""

    def __init__(self, text: str):
        self.input_line = text
        self.key_or_group = text.split("=", 1)[0].lstrip("+~")

    def value(self) -> str:
        return _raw_value(self)


def _culprit(exc: BaseException, pending: list[str], parsed: list[Any]) -> int | None:
    """Which override (index into ``pending``) Hydra's error is about, when its message says so."""
    text = str(exc)
    first = text.strip().splitlines()[0] if text.strip() else ""

    def last(pred) -> int | None:
        for i in range(len(pending) - 1, -1, -1):
            try:
                if pred(parsed[i]):
                    return i
            except Exception:  # noqa: BLE001
                continue
        return None

    def chose(group: str, name: str) -> int | None:
        return last(lambda p: p.key_or_group == group and _raw_value(p) == name)

    m = re.match(r"(?:Error merging override|Ambiguous value for argument) '?(.+?)'?$", first)
    if m and m.group(1) in pending:
        return len(pending) - 1 - pending[::-1].index(m.group(1))
    m = re.match(r"Could not (?:override|append to config|delete from config)\b.*?'([^']+)'", first)
    if m:
        return last(lambda p: p.key_or_group == m.group(1))
    m = re.match(r"In '([^']+)/([^'/]+)'", first)
    if m:
        return chose(m.group(1), m.group(2))
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and "/" in exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        return chose(group, name)
    mark = getattr(exc, "problem_mark", None)
    if isinstance(exc, yaml.YAMLError) and mark is not None:
        return last(lambda p: _raw_value(p) == Path(mark.name).stem and "." not in p.key_or_group)
    return None


def _compose_job(overrides: list[str], config_name: str, known_bad: dict[str, str],
                 folders: dict[str, str | None] | None = None):
    """Compose one job's config; returns (config or None, error lines).

    ``folders`` receives the run and sweep folders asked for (``hydra.run.dir`` and
    ``hydra.sweep.dir``, not yet resolved).

    Hydra stops at the first problem; to report every bad override, the one its message
    names is set aside and the rest composed again. When a message names no override, the
    overrides are added back one at a time instead. Overrides already found bad in an
    earlier job of a sweep are skipped.
    """
    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    folders = {} if folders is None else folders

    def parse(ov: str) -> Any:
        try:
            return parser.parse_override(ov)
        except OverrideParseException as exc:
            known_bad[ov] = _explain(exc, _Raw(ov), loader)
            return None
        except Exception:  # noqa: BLE001 - left for compose to report
            return _Raw(ov)

    def compose_(ovs: list[str]):
        cfg = compose(config_name=config_name, overrides=ovs, return_hydra_config=True)
        with open_dict(cfg):
            hydra_node = cfg.pop("hydra")
        for kind in ("run", "sweep"):
            folders[kind] = OmegaConf.to_container(hydra_node[kind], resolve=False).get("dir")
        return cfg

    pending, parsed = [], []
    for ov in overrides:
        p = parse(ov) if ov not in known_bad else None
        if p is not None:
            pending.append(ov)
            parsed.append(p)

    def lines(extra: list[str] = ()) -> list[str]:
        """The bad overrides' lines in command-line order, then ``extra``."""
        return [known_bad[o] for o in dict.fromkeys(overrides) if o in known_bad] + list(extra)

    while True:
        try:
            return compose_(pending), lines()
        except Exception as exc:  # noqa: BLE001 - every composition problem becomes a line
            i = _culprit(exc, pending, parsed)
            if i is None:
                failure = exc
                break
            known_bad[pending[i]] = _explain(exc, parsed[i], loader)
            del pending[i], parsed[i]
    try:
        compose_([])
    except Exception as exc:  # noqa: BLE001 - the configs themselves are broken
        return None, lines([_explain(exc, None, loader)])
    accepted: list[str] = []
    found = False
    for ov, p in zip(pending, parsed):
        try:
            compose_(accepted + [ov])
            accepted.append(ov)
        except Exception as exc:  # noqa: BLE001
            found = True
            known_bad[ov] = _explain(exc, p, loader)
    if not found:  # only the combination fails
        return None, lines([_explain(failure, None, loader)])
    try:
        return compose_(accepted), lines()
    except Exception as exc:  # noqa: BLE001
        return None, lines([_explain(exc, None, loader)])


def _sweep_jobs(overrides: list[str]) -> tuple[list[str] | None, list[list[str]], list[str]]:
    """The overrides without sweeps, and the jobs of a ``-m`` sweep as Hydra's basic sweeper makes them."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    errors, parsed = [], []
    for ov in overrides:
        try:
            parsed.append(parser.parse_override(ov))
        except Exception as exc:  # noqa: BLE001
            errors.append(_explain(exc if isinstance(exc, OverrideParseException) else OverrideParseException(
                ov, str(exc)), _Raw(ov), loader))
    if errors:
        return None, [], errors
    # Hydra first composes the command line without its sweeps (each later override wins),
    # then one config per job
    base = [o.input_line for o in parsed if not o.is_sweep_override()]
    hydra_ovs = [o.input_line for o in parsed if o.is_hydra_override()]
    task = [o for o in parsed if not o.is_hydra_override()]
    try:
        batches = BasicSweeper.split_arguments(task, None)
    except Exception as exc:  # noqa: BLE001
        return None, [], [f"{exc}".strip().splitlines()[0]]
    return base, [hydra_ovs + job for batch in batches for job in batch], []


_SKIP_CHECK = ("help", "hydra_help", "shell_completion", "experimental_rerun", "config_path", "config_dir", "info")


def check_command_line(argv: list[str]) -> list[str]:
    """Every problem with the configuration a ``python -m sim`` command line asks for, one line each.

    Nothing is created on disk. Hydra's own flags (``--help``, ``--info``, ``-cp``/``-cd``,
    ...) are left to Hydra; ``--cfg`` checks composition only (it prints, it does not run);
    ``-m`` checks every job of the sweep.
    """
    from hydra._internal.utils import get_args_parser

    if any(a in ("--version", "-h", "--help", "--hydra-help", "-sc", "--shell-completion") for a in argv):
        return []
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            args = get_args_parser().parse_args(argv)
    except SystemExit:
        return []  # a malformed flag: Hydra reports it with its usage line
    if any(getattr(args, name, None) for name in _SKIP_CHECK):
        return []
    config_name = args.config_name or "config"
    errors: list[str] = []
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        known_bad: dict[str, str] = {}
        if args.multirun:
            base, jobs, errors = _sweep_jobs(list(args.overrides))
            if base is not None:
                errors.extend(_compose_job(base, config_name, known_bad)[1])
        else:
            jobs = [list(args.overrides)]
        for job in jobs:
            folders: dict[str, str | None] = {}
            cfg, job_errors = _compose_job(job, config_name, known_bad, folders)
            errors.extend(job_errors)
            if cfg is not None and args.cfg is None:
                try:
                    to_sim_config(cfg)
                except UserError as err:
                    errors.extend(err.lines)
                kind = "sweep" if args.multirun else "run"
                problem = _folder_problem(f"hydra.{kind}.dir", folders.get(kind))
                if problem:
                    errors.append(problem)
    return list(dict.fromkeys(errors))  # a sweep repeats a problem in every job: report it once


def _folder_problem(key: str, raw: str | None) -> str | None:
    """Why the output folder ``raw`` (possibly with ``${...}`` still in it) cannot be created, if it cannot."""
    if not raw:
        return None
    fixed = raw.split("${", 1)[0]
    path = Path(fixed or ".")
    if "${" in raw and fixed and not fixed.endswith(("/", os.sep)):
        path = path.parent  # the rest of this name comes from the interpolation
    path = path.expanduser()
    probe = path if path.is_absolute() else Path.cwd() / path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{key}: {raw!r} cannot be created: {probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{key}: {raw!r} cannot be created: no permission to write in {probe}"
    return None


def cli(argv: list[str] | None = None) -> None:
    """``python -m sim``: check the configuration first, then hand over to Hydra to run it."""
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]
    try:
        try:
            errors = check_command_line(sys.argv[1:])
        except Exception as exc:  # noqa: BLE001 - a fault in the pre-check must not block a run
            print(f"warning: the configuration could not be checked up front ({type(exc).__name__}: {exc}); "
                  "it is checked again when the run starts", file=sys.stderr)
            errors = []
        if errors:
            for line in errors:
                print(f"error: {line}", file=sys.stderr)
            sys.exit(2)
        main()
    except KeyboardInterrupt:
        print("error: interrupted; an unfinished run folder is removed", file=sys.stderr)
        sys.exit(130)
    except _Stopped as stop:
        print("error: stopped (SIGTERM); the unfinished run folder was removed", file=sys.stderr)
        sys.exit(stop.code)


def run_experiment(sim_cfg: SimConfig, folder: Path, resolved_yaml: str, meta: dict) -> dict:
    """Run one simulation and write its folder; returns the summary."""
    folder = Path(folder)
    from . import kernels, metrics  # imported here: checking a command line does not need Mesa
    from .model import CareerModel

    outputs.start_run(folder)
    t0 = time.perf_counter()
    sim_cfg, drawn = _parameter_values(sim_cfg, meta.get("params"))
    outputs.write_json(folder / "parameters.json", {
        "uncertainty": sim_cfg.params.uncertainty, "seed": sim_cfg.seed,
        "note": ("values drawn from their priors for this run (every other parameter at its central value)"
                 if drawn else "every parameter at its central value (see config.yaml)"),
        "drawn": drawn,
    })
    if not kernels.compiled_code_cached():
        log.info("compiling the decision loops (once per machine and version; about ten seconds)")
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
    summary["parameters_sampled"] = int(sim_cfg.params.uncertainty == "sampled")  # 1: see parameters.json
    ts = metrics.timeseries(model)
    ev = metrics.events(model)
    outputs.write_text(folder / "config.yaml", resolved_yaml)
    outputs.write_json(folder / "summary.json", summary)
    outputs.write_parquet(folder / "timeseries.parquet", ts)
    outputs.write_parquet(folder / "events.parquet", ev)
    title = (f"{sim_cfg.origin.name} -> {sim_cfg.destination.name}, policy {sim_cfg.policy.name}, "
             f"seed {sim_cfg.seed}")
    from . import plots  # matplotlib: only when a run gets this far

    outputs.write_with(folder / "stocks.png", lambda p: plots.plot_stocks(ts, p, title, sim_cfg.scale))
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


def _parameter_values(sim_cfg: SimConfig, params_option: str | None) -> tuple[SimConfig, dict]:
    """Under ``params.uncertainty=sampled``, draw the parameters from their priors (from the seed)."""
    if sim_cfg.params.uncertainty != "sampled":
        return sim_cfg, {}
    from . import provenance

    kwargs = {"params": params_option} if params_option else {}
    drawn = provenance.sample(sim_cfg, sim_cfg.seed, **kwargs)
    return provenance.apply(sim_cfg, drawn), drawn


def _discard_if_empty(folder: Path) -> None:
    """Remove a run folder this failed run created, if it holds nothing but Hydra's own files."""
    if not folder.is_dir():
        return
    leftovers = [p for p in folder.iterdir() if p.name != ".hydra" and not p.name.endswith(".log")]
    if not leftovers:
        outputs.discard_run(folder)


class _Stopped(SystemExit):
    """SIGTERM during a run: unwind (removing the unfinished folder) and exit 128 + 15."""


def _terminate(signum, frame):  # noqa: ARG001 - signal handler signature
    raise _Stopped(128 + signum)


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
    meta = {"experiment": hc.runtime.choices.get("experiment"), "params": hc.runtime.choices.get("params"),
            "overrides": list(hc.overrides.task)}
    # a run that fails or is stopped (Ctrl-C, SIGTERM) removes what it wrote: no half folder
    # is left behind; only SIGKILL or a power cut can leave one, and without COMPLETE it is
    # not a result (sim.outputs refuses it; a rerun into the same folder replaces it)
    handle = threading.current_thread() is threading.main_thread()  # signal handlers live there
    previous = signal.signal(signal.SIGTERM, _terminate) if handle else None
    try:
        return run_experiment(sim_cfg, folder, OmegaConf.to_yaml(cfg, resolve=True), meta)
    except BaseException:
        outputs.discard_run(folder)
        raise
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)
