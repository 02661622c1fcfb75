"""What the package takes from Hydra beyond its public API (sim/hydra_compat.py) still works
as it expects: if a Hydra release moves or changes any of it, these fail by name."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import hydra
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser

from sim import hydra_compat, resources

ROOT = Path(__file__).resolve().parent.parent


def test_hydra_is_the_version_the_package_is_written_for():
    major_minor = tuple(int(x) for x in hydra.__version__.split(".")[:2])
    assert major_minor == (1, 3), f"sim/hydra_compat.py was written against Hydra 1.3, found {hydra.__version__}"


def test_only_hydra_compat_reaches_into_hydra_internals():
    users = [p.relative_to(ROOT).as_posix() for p in sorted((ROOT / "sim").rglob("*.py"))
             if "hydra._internal" in p.read_text(encoding="utf-8") and p.name != "hydra_compat.py"]
    assert users == [], f"Hydra internals used outside sim/hydra_compat.py: {users}"


def test_the_command_line_parser_reads_hydras_flags():
    args = hydra_compat.get_args_parser().parse_args(["-m", "--cfg", "job", "seed=1", "years=2"])
    assert args.multirun is True and args.cfg == "job" and args.overrides == ["seed=1", "years=2"]
    assert args.config_name is None and args.shell_completion is False


def test_the_basic_sweeper_splits_a_sweep_into_jobs():
    parsed = OverridesParser.create().parse_overrides(["seed=1,2", "years=3", "scale=0.1,0.2,0.3"])
    batches = hydra_compat.BasicSweeper.split_arguments(parsed, None)
    jobs = [job for batch in batches for job in batch]
    assert len(jobs) == 6 and ["seed=1", "years=3", "scale=0.1"] in jobs
    assert hydra_compat.BasicSweeper.__module__ + ".BasicSweeper" == \
        "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"  # the _target_ the checks compare with


def test_a_jobs_override_dirname_is_computed_as_hydra_does():
    parsed = OverridesParser.create().parse_overrides(["seed=1", "years=3", "+x=a"])
    assert hydra_compat.overrides_dirname(parsed, ["years"], ",", "=") == "+x=a,seed=1"
    assert list(inspect.signature(hydra_compat.overrides_dirname).parameters) == [
        "parsed", "exclude_keys", "item_sep", "kv_sep"]


def test_the_experiments_source_is_registered_and_found_by_hydra(tmp_path, monkeypatch):
    from hydra._internal.sources_registry import SourcesRegistry

    registered = SourcesRegistry.instance().resolve("careersim-experiments")  # ours, or the plugin scan's copy
    assert (registered.__module__, registered.__qualname__) == ("hydra_plugins.careersim", "ExperimentsSource")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(resources.EXPERIMENTS_ENV, raising=False)
    with initialize_config_dir(config_dir=str(resources.CONFIG_DIR), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        # glob() sweeps and tab completion list a group without naming the primary config
        assert "training_reform" in loader.get_group_options("experiment")
        cfg = compose(config_name="config", overrides=["experiment=training_reform"])
    assert cfg.policy.name == "training_reform"


def test_the_source_implements_every_method_hydra_calls():
    source = hydra_compat.ExperimentsSource("test", "careersim-experiments://")
    abstract = {name for name, v in inspect.getmembers(type(source).__mro__[1])
                if getattr(v, "__isabstractmethod__", False)}
    assert abstract <= set(vars(hydra_compat.ExperimentsSource)), abstract
    assert source.is_group("experiment") and not source.is_group("origin")
    assert source.is_config("experiment/baseline") and not source.is_config("origin/japan")
    assert re.fullmatch(r"file://.*experiments", source.load_config("experiment/baseline.yaml").path)
