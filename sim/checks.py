"""The up-front check of a ``python -m sim`` command line: every problem one line, before
anything runs or is created on disk.

Hydra reports composition problems (wrong types, unknown keys, unknown group options, YAML
syntax) as several lines ending in a hint about HYDRA_FULL_ERROR, and stops at the first.
This module composes with Hydra's compose API, turns each problem into one line naming the
field, the value and what is allowed, and finds every bad override, not just the first.

A sweep (``-m``) is checked job by job without composing every job: the command line without
its sweeps is composed once, then once per combination of swept config groups
(``experiment=a,b``), and each job's swept values are checked against the schema
(:func:`_check_jobs`). Sweep syntax the configured sweeper expands itself (``interval()`` for
Optuna, say) is let through. The output folder is resolved here, checked (it must be new,
empty, or an earlier run of this product, and not written by another live run) and handed
to Hydra resolved, so that every job of every launcher writes under the same root.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import os
import re
import shlex
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hydra import compose, initialize_config_dir
from hydra.core.config_store import ConfigStore
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf, open_dict
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException

from . import ensemble, hydra_compat, outputs, resources
from .config import SimConfig, _show, describe_field, validate
from .ensemble import RunConfig

CONFIG_DIR = resources.CONFIG_DIR
COMPOSITIONS = [0]  # configurations composed by this process (the check's cost; tests count them)
PLUGIN_HINT = ("; Hydra's other launchers and sweepers come with this project's extras: "
               "python -m pip install -e '.[joblib]' (joblib, cores), '.[slurm]' (submitit_local, submitit_slurm, "
               "slurm), '.[optuna]' (optuna)")

# the schema named first in configs/config.yaml: the model's configuration plus run-level keys
ConfigStore.instance().store(name="config_schema", node=RunConfig)


def sweep_label(overrides: list[str], experiment: str | None) -> str:
    """What a sweep runs, for its folder name: the experiment(s) named on the command line
    (``baseline+more_scholarships``), else the parameter search, else the experiment
    chosen; at most 60 characters."""
    named = {}
    for ov in overrides:
        key, sep, value = ov.partition("=")
        if sep and key.lstrip("+~") in ("experiment", "search"):
            text = re.sub(r"^(choice|glob)\((.*)\)$", r"\2", value.strip()).replace("*", "all")
            named[key.lstrip("+~")] = re.sub(r"[^A-Za-z0-9_.-]+", "+", text).strip("+")[:60]
    label = named.get("experiment") or named.get("search") or experiment or "sweep"
    fixed = [ov for ov in overrides if not re.search(r"^[^=]*=.*(,|^\w+\(|=\s*(choice|range|glob|interval)\()", ov)]
    return _with_changes(label, fixed)


# what a run simulates beyond its experiment: the policy, the parameters and the countries'
# figures (not the seed, horizon, scale or how it is run)
CHANGING = ("policy", "params", "origin", "destination")


def changes_from_experiment(overrides: list[str]) -> list[str]:
    """The overrides that change the policy or the parameters the experiment sets (as typed,
    the last of a key given twice)."""
    last: dict[str, str] = {}
    for ov in overrides:
        key, sep, _ = ov.partition("=")
        key = key.lstrip("+~")
        if sep and key.split(".")[0].split("/")[0] in CHANGING:
            last.pop(key, None)
            last[key] = ov.lstrip("+")
    return list(last.values())


def _with_changes(label: str, overrides: list[str]) -> str:
    """``label`` followed by the changes to the experiment's policy or parameters, so that a changed
    run is not named after the experiment alone (``baseline+policy.elective_slots_multiplier-2``);
    ``+N_changes`` when they would make the name longer than 80 characters."""
    changes = changes_from_experiment(overrides)
    if not changes:
        return label
    # key-value as key-value: a folder name with = would need quoting to be given back as hydra.run.dir
    text = "+".join(re.sub(r"[^A-Za-z0-9_.-]+", "-", c).strip("-") for c in changes)
    return f"{label}+{text}" if len(label) + len(text) < 80 else f"{label}+{len(changes)}_changes"


def run_label(overrides: list[str], experiment: str | None) -> str:
    """A single run's folder name after its timestamp: the experiment and any change to it."""
    return _with_changes(experiment or "run", overrides)


def _as_typed_list(overrides: Any) -> list[str]:
    if OmegaConf.is_config(overrides):  # as typed: a superseded override may not resolve
        overrides = OmegaConf.to_container(overrides, resolve=False)
    return [str(o) for o in overrides or []]


def _sweep_label_resolver(overrides: Any, experiment: Any) -> str:
    return sweep_label(_as_typed_list(overrides), experiment)


def _run_label_resolver(overrides: Any, experiment: Any) -> str:
    return run_label(_as_typed_list(overrides), experiment)


def _console_level(mode: Any) -> str:
    """Log lines on the console: all of them, except in a sweep shown in a terminal, where a
    progress bar takes their place (the job's log file keeps every line)."""
    import sys

    return "WARNING" if str(mode).endswith("MULTIRUN") and sys.stderr.isatty() else "INFO"


OmegaConf.register_new_resolver("console_level", _console_level, replace=True)
# ``${sweep_label:${hydra.overrides.task},${hydra.runtime.choices.experiment}}`` in
# configs/config.yaml; cached (on its text) like Hydra's ``${now:}``, so that every job of a
# sweep (whose own configuration names one experiment) resolves the same sweep folder
OmegaConf.register_new_resolver("sweep_label", _sweep_label_resolver, use_cache=True, replace=True)
OmegaConf.register_new_resolver("run_label", _run_label_resolver, replace=True)


class UserError(Exception):
    """A problem with the user's input: reported as lines, never as a traceback."""

    def __init__(self, lines: list[str]):
        super().__init__("\n".join(lines))
        self.lines = lines


def _hinted(cls: type, name: str) -> Any:
    """The type of field ``name`` of dataclass ``cls``, with ``Optional[...]`` unwrapped."""
    try:
        hint = typing.get_type_hints(cls).get(name)
    except Exception:  # noqa: BLE001 - an annotation that cannot be evaluated
        return None
    if typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else None
    return hint


def _schema_at(path: str) -> type | None:
    """The dataclass that holds the keys under ``path`` ("" is the top level)."""
    node: Any = RunConfig
    if path.startswith("hydra"):
        from hydra.conf import HydraConf
        node, path = HydraConf, path[len("hydra"):].lstrip(".")
    for part in [p for p in path.split(".") if p]:
        if not dataclasses.is_dataclass(node) or part not in {f.name for f in dataclasses.fields(node)}:
            return None
        node = _hinted(node, part)
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


def _describe(f: dataclasses.Field) -> str:
    """What a field allows; an optional field (``Optional[bool]``) also allows null."""
    m = re.fullmatch(r"Optional\[(\w+)\]", str(f.type))
    if m:
        return describe_field(types.SimpleNamespace(type=m.group(1), metadata=f.metadata)) + " or null"
    return describe_field(f)


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


def to_run_config(cfg: DictConfig) -> RunConfig:
    """The composed configuration as a checked :class:`RunConfig` (the model's configuration
    plus the run-level keys); every problem reported, none raised as a traceback."""
    errors: list[str] = []
    try:
        if _unknown_keys(cfg):
            cfg = copy.deepcopy(cfg)
            errors.extend(_unknown_keys(cfg, drop=True))  # reported; the rest is still checked
        run_cfg = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        raise UserError(errors + [_omegaconf_error(exc)]) from None
    errors.extend(validate(run_cfg))
    errors.extend(run_level_problems(run_cfg))
    if errors:
        raise UserError(errors)
    return run_cfg


def to_sim_config(cfg: DictConfig) -> SimConfig:
    """The plain config object the model takes (run-level keys left out), checked."""
    return ensemble.split(to_run_config(cfg))


def run_level_problems(run_cfg: RunConfig) -> list[str]:
    """Checks of the run-level keys beyond their types and ranges."""
    objective = run_cfg.objective
    if objective is None:
        return []
    if not objective.strip() or not re.fullmatch(r"[A-Za-z_][\w.\[\]]*", objective):
        return [f"objective: {objective!r} is not allowed; expected a metric name of summary.json (dotted for "
                "by_group, e.g. by_group.elective.yes.went_abroad_share) or targets"]
    if objective == "targets":
        from .targets import targets_path

        path = targets_path(run_cfg.origin.name)
        if not path.is_file():
            return [f"objective: 'targets' needs calibration targets for origin {run_cfg.origin.name!r} "
                    f"(configs/targets/{path.name} does not exist); name a metric instead"]
        return []
    from .metrics import is_metric_name, unknown_metric

    return [] if is_metric_name(objective) else [unknown_metric(objective)]


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
    expected = _describe(f) if f is not None else ""
    ctx = f" (in {where})" if where else ""
    name = key or (override.key_or_group if override is not None else "configuration")
    if unknown or (first.startswith("Key '") and " not in " in first):
        m = re.match(r"Key '([^']+)' not in", first)
        if m and not key.endswith(m.group(1)):
            name = f"{key}.{m.group(1)}" if key else m.group(1)
        return f"{name}: unknown key{ctx}{_allowed_here(name)}"
    if "does not support deletion" in first and name != "configuration":
        return _deletion(name)
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


def _deletion(key: str) -> str:
    """One line for ``~key``: an unknown key, or a key of the schema (which keeps a value)."""
    f = _field_at(key)
    if f is None:
        return f"{key}: unknown key{_allowed_here(key)}"
    return (f"~{key}: the keys of this configuration cannot be deleted; to change {key}, write {key}=VALUE "
            f"(expected {_describe(f)})")


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
    bad_file = _experiment_error(exc)
    if bad_file is not None:
        return str(bad_file)
    if isinstance(exc, OverrideParseException):
        first = text.strip().splitlines()[0] if text.strip() else "syntax error"
        return f"{_override_text(override)}: not a valid override ({first}); {_quoting_hint(_override_text(override))}"
    if isinstance(exc, MissingConfigException) and exc.missing_cfg_file and "/" in exc.missing_cfg_file:
        group, _, name = exc.missing_cfg_file.rpartition("/")
        options = list(exc.options or []) or _group_options(loader, group)
        ctx = f" (asked for in {where})" if where else ""
        if not ctx and override is not None and key != group:
            ctx = f" (asked for by {_override_text(override)})"
        hint = PLUGIN_HINT if group in ("hydra/launcher", "hydra/sweeper") else ""
        return f"{group}: no option {name!r}{ctx}; available: {', '.join(options)}{hint}"
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
    if key and "Could not delete from config" in text:
        return _deletion(key)
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


def _quoting_hint(text: str) -> str:
    """How to write an override Hydra could not parse: quoted, when it has the form key=value
    (a value with ``=``, ``~``, spaces or brackets must be quoted for Hydra, and the quotes
    protected from the shell)."""
    key, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[+~]{0,2}[A-Za-z_][\w.@/-]*", key) or not value:
        return "write key=value, e.g. years=20"
    if value[:1] in "'\"" and value[-1:] == value[:1]:
        return "write key=value, e.g. years=20"
    inner = value.replace("\\", "\\\\").replace('"', '\\"')
    shell = shlex.quote(f'{key}="{inner}"')
    return f"quote the value for Hydra, and the whole for the shell: {shell}"


def _experiment_error(exc: BaseException | None) -> BaseException | None:
    """The unusable experiment file behind a composition error, if that is its cause (Hydra's
    plugin scan loads hydra_plugins.careersim a second time, so its class is known by name)."""
    while exc is not None:
        cls = hydra_compat.ExperimentError
        if any((c.__module__, c.__name__) == (cls.__module__, cls.__name__) for c in type(exc).__mro__):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


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

    bad_file = _experiment_error(exc)
    if bad_file is not None:
        name = str(bad_file).split(":", 1)[0].partition("=")[2]
        return chose("experiment", name)
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
                 hydra_out: dict[str, Any] | None = None):
    """Compose one job's config; returns (config or None, error lines).

    ``hydra_out["hydra"]`` receives Hydra's own part of the last configuration composed.

    Hydra stops at the first problem; to report every bad override, the one its message
    names is set aside and the rest composed again. When a message names no override, the
    overrides are added back one at a time instead. Overrides already found bad in an
    earlier job of a sweep are skipped.
    """
    loader = GlobalHydra.instance().config_loader()
    parser = OverridesParser.create(config_loader=loader)
    hydra_out = {} if hydra_out is None else hydra_out

    def parse(ov: str) -> Any:
        try:
            return parser.parse_override(ov)
        except OverrideParseException as exc:
            known_bad[ov] = _explain(exc, _Raw(ov), loader)
            return None
        except Exception:  # noqa: BLE001 - left for compose to report
            return _Raw(ov)

    def compose_(ovs: list[str]):
        COMPOSITIONS[0] += 1
        cfg = compose(config_name=config_name, overrides=ovs, return_hydra_config=True)
        with open_dict(cfg):
            hydra_out["hydra"] = cfg.pop("hydra")
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




# ---------------------------------------------------------------- the command line as a whole

_SKIP_CHECK = ("help", "hydra_help", "shell_completion", "experimental_rerun", "config_path", "config_dir", "info")
BASIC_SWEEPER = f"{hydra_compat.BasicSweeper.__module__}.{hydra_compat.BasicSweeper.__name__}"
DEFAULT_SUBDIR = "${hydra.job.num}"


@dataclass
class Checked:
    """What the up-front check found: the problems, and where the run will write.

    ``checked`` is False when the command line is left to Hydra (``--help``, ``--info``, ...);
    ``folder`` is the output folder resolved (the run folder, or the sweep root with ``-m``),
    None when the command writes nothing (``--cfg``) or has problems.
    """

    errors: list[str] = field(default_factory=list)
    checked: bool = True
    multirun: bool = False
    folder: Path | None = None
    jobs: int | None = None
    pool: bool = False  # a single run whose replications will run in a process pool

    @property
    def folder_key(self) -> str:
        return "hydra.sweep.dir" if self.multirun else "hydra.run.dir"


def check_command_line(argv: list[str]) -> list[str]:
    """Every problem with the configuration a ``python -m sim`` command line asks for, one line each.

    Nothing is created on disk. Hydra's own flags (``--help``, ``--info``, ``-cp``/``-cd``,
    ...) are left to Hydra; ``--cfg`` checks composition only (it prints, it does not run);
    ``-m`` checks every job of the sweep.
    """
    return inspect_command_line(argv).errors


def inspect_command_line(argv: list[str]) -> Checked:
    """:func:`check_command_line`, also returning the resolved output folder."""
    if any(a in ("--version", "-h", "--help", "--hydra-help", "-sc", "--shell-completion") for a in argv):
        return Checked(checked=False)
    try:
        with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
            args = hydra_compat.get_args_parser().parse_args(argv)
    except SystemExit:
        return Checked(checked=False)  # a malformed flag: Hydra reports it with its usage line
    if any(getattr(args, name, None) for name in _SKIP_CHECK):
        return Checked(checked=False)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        found = _inspect(list(args.overrides), args.config_name or "config", args.multirun, args.cfg is not None)
    found.errors = list(dict.fromkeys(found.errors))  # a sweep repeats a problem in every job: report it once
    if found.errors:
        found.folder = None
    return found


def _parse_all(overrides: list[str], loader: Any) -> tuple[list[Any], list[str]]:
    parser = OverridesParser.create(config_loader=loader)
    parsed, errors = [], []
    for ov in overrides:
        try:
            parsed.append(parser.parse_override(ov))
            parsed[-1].config_loader = loader  # glob() lists a group's options through it
        except Exception as exc:  # noqa: BLE001
            errors.append(_explain(exc if isinstance(exc, OverrideParseException) else OverrideParseException(
                ov, str(exc)), _Raw(ov), loader))
    return parsed, errors


def _inspect(overrides: list[str], config_name: str, multirun: bool, show_only: bool) -> Checked:
    loader = GlobalHydra.instance().config_loader()
    known_bad: dict[str, str] = {}
    out: dict[str, Any] = {}
    if not multirun:
        cfg, errors = _compose_job(overrides, config_name, known_bad, out)
        if cfg is None or show_only:
            return Checked(errors)
        multirun = str(out["hydra"].mode) == "RunMode.MULTIRUN"  # a config that asks for a sweep itself
        if not multirun:
            found = _check_run(cfg, out["hydra"], overrides, errors)
            return found
    parsed, errors = _parse_all(overrides, loader)
    errors += _given_twice(parsed)
    if errors:
        return Checked(errors, multirun=True)
    base = [p.input_line for p in parsed if not p.is_sweep_override()]
    cfg, base_errors = _compose_job(base, config_name, known_bad, out)
    if cfg is None or show_only:
        return Checked(base_errors, multirun=True)
    hydra_node = out["hydra"]
    sweeper = OmegaConf.select(hydra_node, "sweeper._target_", default="")
    task = [p for p in parsed if not p.is_hydra_override()]
    found = Checked(multirun=True)
    if sweeper == BASIC_SWEEPER:
        params = OmegaConf.select(hydra_node, "sweeper.params", default=None) or {}
        extra, errors = _parse_all([f"{k}={v}" for k, v in params.items()], loader)
        if errors:
            return Checked(errors, multirun=True)
        found.errors, found.jobs = _check_basic_sweep(extra + task, parsed, cfg, hydra_node, config_name,
                                                      known_bad, loader)
        if not found.errors:
            with contextlib.suppress(UserError):
                found.errors += sampling_problems(to_run_config(cfg), hydra_node)
    else:
        found.errors = _check_sweep_keys([p for p in task if p.is_sweep_override()], cfg, loader)
        found.errors += _check_config(cfg, hydra_node)
    found.errors = base_errors + found.errors
    if not found.errors:
        found.folder, folder_errors = _resolve_folder(cfg, hydra_node, "sweep", overrides)
        found.errors += folder_errors
    return found


def _check_run(cfg: DictConfig, hydra_node: DictConfig, overrides: list[str], errors: list[str]) -> Checked:
    found = Checked(list(errors))
    try:
        run_cfg = to_run_config(cfg)
        found.pool = run_cfg.jobs != 1 and ensemble.pool_likely(run_cfg, run_cfg.replications)
        found.errors += sampling_problems(run_cfg, hydra_node)
    except UserError as err:
        found.errors += err.lines
    if not found.errors:
        found.folder, folder_errors = _resolve_folder(cfg, hydra_node, "run", overrides)
        found.errors += folder_errors
    return found


def _check_config(cfg: DictConfig, hydra_node: DictConfig | None = None) -> list[str]:
    try:
        run_cfg = to_run_config(cfg)
    except UserError as err:
        return err.lines
    return sampling_problems(run_cfg, hydra_node) if hydra_node is not None else []


def sampling_problems(run_cfg: RunConfig, hydra_node: DictConfig) -> list[str]:
    """Under ``params.uncertainty=sampled``: the priors that cannot be drawn from, before anything runs."""
    if run_cfg.params.uncertainty != "sampled":
        return []
    from . import provenance

    option = OmegaConf.select(hydra_node, "runtime.choices.params", default=None) or provenance.DEFAULTS["params"]
    return provenance.sampling_problems(ensemble.split(run_cfg), option)


def _is_group(key: str, loader: Any) -> bool:
    return "/" in key or bool(_group_options(loader, key))


def _check_sweep_keys(sweeps: list[Any], cfg: DictConfig, loader: Any) -> list[str]:
    """For a sweeper that expands its own syntax (``interval()`` for Optuna): the swept keys exist."""
    errors = []
    for p in sweeps:
        key = p.key_or_group
        if p.is_add() or _is_group(key, loader) or OmegaConf.select(cfg, key, default="\0missing") != "\0missing":
            continue
        errors.append(f"{key}: unknown key{_allowed_here(key)}")
    return errors


def _check_basic_sweep(task: list[Any], parsed: list[Any], base_cfg: DictConfig, hydra_node: DictConfig,
                       config_name: str, known_bad: dict[str, str], loader: Any) -> tuple[list[str], int | None]:
    """Every job of a sweep of Hydra's basic sweeper, as it makes them."""
    try:
        batches = hydra_compat.BasicSweeper.split_arguments(task, None)
    except HydraException:
        bad = next((p for p in task if p.is_sweep_override() and not p.is_discrete_sweep()), None)
        if bad is None:
            raise
        return [f"{bad.key_or_group}: {_raw_value(bad)} is a range to sample from, which the basic sweeper cannot "
                "run (it runs lists a,b, range() and glob()); to sample, choose a sampling sweeper, e.g. "
                "hydra/sweeper=optuna"], None
    jobs = [job for batch in batches for job in batch]
    problems = _empty_or_repeated(jobs, [p for p in task if p.is_sweep_override()], loader)
    if problems:
        return problems, len(jobs)
    base_ovs = [p.input_line for p in parsed if not p.is_sweep_override()]
    errors = _check_jobs(jobs, [p for p in task if p.is_sweep_override()], base_ovs, base_cfg, config_name,
                         known_bad, loader)
    errors += _subdir_collisions(jobs, hydra_node)
    return errors, len(jobs)


def _given_twice(parsed: list[Any]) -> list[str]:
    """A key set twice in a sweep where one of them is swept: which one the user meant is unclear."""
    seen: dict[str, Any] = {}
    errors = []
    for p in parsed:
        key = p.get_key_element()
        first = seen.setdefault(key, p)
        if first is not p and (first.is_sweep_override() or p.is_sweep_override()):
            errors.append(f"{key.lstrip('+~')}: given twice ({_override_text(first)} and {_override_text(p)}); "
                          "give each key once")
    return errors


def _empty_or_repeated(jobs: list[list[str]], sweeps: list[Any], loader: Any) -> list[str]:
    """A sweep with no job (a ``glob()`` that matches nothing), or with one job twice (the same
    value listed twice: the tables would hold the same run as if it were two)."""
    if not jobs:
        empty = next((p for p in sweeps if p.is_discrete_sweep() and not list(p.sweep_string_iterator())), None)
        key = empty.key_or_group if empty is not None else (sweeps[0].key_or_group if sweeps else "-m")
        options = _group_options(loader, key)
        raw = _raw_value(empty) if empty is not None else ""
        return [f"{key}: {raw} matches nothing, so the sweep has no jobs"
                + (f"; options: {', '.join(options)}" if options else "")]
    seen: dict[tuple[str, ...], int] = {}
    for number, job in enumerate(jobs):
        first = seen.setdefault(tuple(sorted(job)), number)
        if first != number:
            swept = {p.get_key_element() for p in sweeps}
            shown = " ".join(ov for ov in job if ov.split("=", 1)[0] in swept)
            return [f"{shown}: listed twice, so jobs {first} and {number} would be the same run; list each value "
                    "once (replications=N repeats a run with new seeds)"]
    return []


def _has_interpolation(node: Any) -> bool:
    """Whether any value under ``node`` refers to another (then a swept value may change others)."""
    if OmegaConf.is_dict(node):
        children = [node._get_node(k) for k in node.keys()]
    elif OmegaConf.is_list(node):
        children = [node._get_node(i) for i in range(len(node))]
    else:
        return False
    return any(c._is_interpolation() or _has_interpolation(c) for c in children)


def _check_jobs(jobs: list[list[str]], sweeps: list[Any], base_ovs: list[str], base_cfg: DictConfig,
                config_name: str, known_bad: dict[str, str], loader: Any) -> list[str]:
    """The problems of every job, composing once per combination of swept config groups.

    Each job's swept values are applied as Hydra applies a command-line value (``OmegaConf.update``
    with the schema's type conversion) to that combination's configuration, once per distinct
    value; the job's whole configuration is then range-checked. Sweeps this cannot mirror
    (adding or deleting keys, whole groups of settings as values, configurations with
    interpolations) fall back to composing each job.
    """
    hydra_ovs = [ov for ov in base_ovs if ov.startswith("hydra.") or ov.startswith("hydra/")]
    swept = {p.get_key_element() for p in sweeps}
    group_keys = {k for k in swept if _is_group(k.lstrip("+~"), loader)}
    fast = (not _has_interpolation(base_cfg)
            and all(not k.startswith(("+", "~")) for k in swept))
    errors: list[str] = []
    if not fast:
        for job in jobs:
            cfg, job_errors = _compose_job(hydra_ovs + job, config_name, known_bad)
            errors.extend(job_errors or (_check_config(cfg) if cfg is not None else []))
        return errors
    combos: dict[tuple[str, ...], tuple[DictConfig | None, Any]] = {}
    converted: dict[tuple[tuple[str, ...], str], tuple[str, Any, str | None]] = {}
    typed = _typed_values(sweeps)
    for job in jobs:
        by_key = {ov.split("=", 1)[0]: ov for ov in job}
        combo = tuple(by_key[k] for k in sorted(group_keys))
        if combo not in combos:
            combos[combo] = _combo(combo, base_ovs, base_cfg, config_name, known_bad, errors)
        cfg, obj = combos[combo]
        if cfg is None:
            continue
        values, bad = [], False
        for key in sorted(swept - group_keys):
            ov = by_key[key]
            if (combo, ov) not in converted:
                converted[combo, ov] = _convert(cfg, typed[ov])
            path, value, problem = converted[combo, ov]
            if problem is not None:
                errors.append(problem)
                bad = True
            elif value is _COMPOSE:
                bad = True
                cfg_job, job_errors = _compose_job(hydra_ovs + job, config_name, known_bad)
                errors.extend(job_errors or (_check_config(cfg_job) if cfg_job is not None else []))
                break
            else:
                values.append((path, value))
        if not bad:
            errors.extend(_validate_with(obj, values))
    return errors


_COMPOSE = object()  # a value this check cannot apply without composing


class _Typed(_Raw):
    """One job's ``key=value`` of a sweep, with the value as Hydra's parser typed it (parsing
    each job's override again costs milliseconds a job)."""

    def __init__(self, text: str, value: Any):
        super().__init__(text)
        self._value = value

    def value(self) -> Any:
        return self._value


def _typed_values(sweeps: list[Any]) -> dict[str, _Typed]:
    """Each ``key=value`` a discrete sweep expands to, typed."""
    out = {}
    for p in sweeps:
        key = p.get_key_element()
        for text, value in zip(p.sweep_string_iterator(), p.sweep_iterator()):
            out[f"{key}={text}"] = _Typed(f"{key}={text}", value)
    return out


def _combo(combo: tuple[str, ...], base_ovs: list[str], base_cfg: DictConfig, config_name: str,
           known_bad: dict[str, str], errors: list[str]) -> tuple[DictConfig | None, Any]:
    """The configuration (and its checked object) of one combination of swept group choices."""
    if combo:
        cfg, combo_errors = _compose_job(base_ovs + list(combo), config_name, known_bad)
        errors.extend(combo_errors)
        if cfg is None or combo_errors:
            return None, None
    else:
        cfg = base_cfg
    unknown = _unknown_keys(cfg)
    if unknown:
        errors.extend(unknown)
        return None, None
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as exc:
        errors.append(_omegaconf_error(exc))
        return None, None
    return copy.deepcopy(cfg), obj


def _convert(cfg: DictConfig, override: Any) -> tuple[str, Any, str | None]:
    """(key, value as the schema converts it, problem line or None) for one ``key=value``."""
    key = override.key_or_group
    missing = "\0missing"
    old = OmegaConf.select(cfg, key, default=missing)
    if old == missing:
        return key, None, f"{key}: unknown key{_allowed_here(key)}"
    try:
        OmegaConf.update(cfg, key, override.value(), merge=True)
        new = OmegaConf.select(cfg, key)
        if isinstance(new, DictConfig):
            return key, _COMPOSE, None
        value = OmegaConf.to_container(new, resolve=True) if OmegaConf.is_config(new) else new
    except OmegaConfBaseException as exc:
        return key, None, _omegaconf_error(exc, override)
    finally:
        with contextlib.suppress(OmegaConfBaseException):
            OmegaConf.update(cfg, key, old, merge=False)
    return key, value, None


def _validate_with(obj: Any, values: list[tuple[str, Any]]) -> list[str]:
    """Range and run-level checks of ``obj`` with ``values`` set (``obj`` is restored after)."""
    undo = []
    try:
        for path, value in values:
            *parents, name = path.split(".")
            target = obj
            for part in parents:
                target = getattr(target, part)
            undo.append((target, name, getattr(target, name)))
            setattr(target, name, value)
        return validate(obj) + run_level_problems(obj)
    finally:
        for target, name, old in reversed(undo):
            setattr(target, name, old)


def _subdir_collisions(jobs: list[list[str]], hydra_node: DictConfig) -> list[str]:
    """Two jobs whose folders would be one (a ``hydra.sweep.subdir`` that does not tell them apart)."""
    raw = OmegaConf.to_container(hydra_node.sweep, resolve=False).get("subdir")
    if raw is None or str(raw) == DEFAULT_SUBDIR:
        return []
    parser = OverridesParser.create()
    dirname_cfg = hydra_node.job.config.override_dirname
    seen: dict[str, int] = {}
    for num, job in enumerate(jobs):
        try:
            parsed = parser.parse_overrides(job)
            job_node = {"num": num, "id": num, "name": hydra_node.job.name,
                        "override_dirname": hydra_compat.overrides_dirname(parsed, list(dirname_cfg.exclude_keys),
                                                                  dirname_cfg.item_sep, dirname_cfg.kv_sep)}
            probe = OmegaConf.create({"hydra": {"job": job_node, "sweep": {"subdir": raw}}})
            subdir = str(OmegaConf.select(probe, "hydra.sweep.subdir"))
        except Exception:  # noqa: BLE001 - refers to something only a running job knows
            return []
        if subdir in seen:
            return [f"hydra.sweep.subdir: {raw!r} gives jobs {seen[subdir]} and {num} the same folder {subdir!r}; "
                    "use a pattern that tells every job apart, e.g. ${hydra.job.num}"]
        seen[subdir] = num
    return []


# ---------------------------------------------------------------- the output folder

def _resolve_folder(cfg: DictConfig, hydra_node: DictConfig, kind: str,
                    overrides: list[str]) -> tuple[Path | None, list[str]]:
    """The output folder (``hydra.<kind>.dir``) resolved as Hydra would now, and its problems."""
    key = f"hydra.{kind}.dir"
    raw = OmegaConf.to_container(hydra_node[kind], resolve=False).get("dir")
    if raw is None or not str(raw).strip():
        return None, [f"{key}: {raw if raw is None else repr(raw)} is the current folder; name a folder of the "
                      "run's own, e.g. results/my_run"]
    with open_dict(cfg):
        cfg["hydra"] = hydra_node
        try:
            with open_dict(cfg.hydra):
                cfg.hydra.overrides.task = overrides
            HydraConfig.instance().set_config(cfg)
            text = str(OmegaConf.select(cfg, key))
        except Exception as exc:  # noqa: BLE001 - a broken interpolation in the folder name
            first = (getattr(exc, "msg", None) or str(exc)).strip().splitlines()
            return None, [f"{key}: {str(raw)!r} cannot be resolved ({first[0] if first else type(exc).__name__})"]
        finally:
            cfg.pop("hydra")
    folder = Path(text).expanduser()
    folder = folder if folder.is_absolute() else Path.cwd() / folder
    problem = folder_problem(key, folder, sweep=kind == "sweep")
    return folder, [problem] if problem else []


def folder_problem(key: str, folder: Path, sweep: bool) -> str | None:
    """Why this run may not write into ``folder``, if it may not."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        return f"{key}: {str(folder)!r} cannot be created: {probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"{key}: {str(folder)!r} cannot be created: no permission to write in {probe}"
    if probe != folder:
        return None  # a new folder
    foreign = outputs.foreign_entries(folder, sweep=sweep)
    if foreign:
        shown = sorted({p.relative_to(folder).as_posix() for p in foreign})
        names = ", ".join(shown[:3]) + (", ..." if len(shown) > 3 else "")
        what = "earlier sweeps" if sweep else "earlier runs"
        return (f"{key}: {folder} holds files that are not {what} of this simulation ({names}); "
                "a run writes only into a new or empty folder or one of its own earlier results")
    holder = outputs.lock_holder(folder)
    if holder is not None:
        return f"{key}: {outputs.describe_holder(folder, holder)}"
    return None
