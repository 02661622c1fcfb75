"""Command-line edge cases: a leading ~ in the output folder, values that need quoting,
unusable experiment files, a superseded override that cannot be resolved, broken priors under
``sampled``, the memory estimate, values shown as typed, what a run records about itself and
how a changed run is named."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path

import pytest

from sim import checks, provenance
from sim.checks import check_command_line, inspect_command_line

ROOT = Path(__file__).resolve().parent.parent
TINY = ["scale=0.01", "years=3"]


def sim(*args, cwd: Path, env: dict | None = None):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **(env or {})})


def completed(cwd: Path) -> list[Path]:
    return [p.parent for p in cwd.rglob("COMPLETE")]


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREERSIM_EXPERIMENTS", raising=False)
    return tmp_path


# ---------------------------------------------------------------- output folder with ~

def test_a_leading_tilde_is_the_home_folder_for_the_check_and_the_run(tmp_path, monkeypatch):
    home, cwd = tmp_path / "home", tmp_path / "work"
    home.mkdir(), cwd.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(cwd)
    found = inspect_command_line(["hydra.run.dir='~/r1'", *TINY])
    assert found.errors == [] and found.folder == home / "r1"
    found = inspect_command_line(["-m", "seed=1,2", "hydra.sweep.dir='~/s1'", *TINY])
    assert found.errors == [] and found.folder == home / "s1"
    r = sim("hydra.run.dir='~/r1'", *TINY, cwd=cwd, env={"HOME": str(home)})
    assert r.returncode == 0, r.stderr[-2000:]
    assert completed(tmp_path) == [home / "r1"] and not any(cwd.iterdir())


# ---------------------------------------------------------------- quoting

@pytest.mark.parametrize("typed, quoted", [
    ("hydra.run.dir=out/epoch=1", "'hydra.run.dir=\"out/epoch=1\"'"),
    ("hydra.run.dir=~/runs", "'hydra.run.dir=\"~/runs\"'"),
])
def test_a_value_that_needs_quoting_gets_the_quoted_form(work, typed, quoted):
    (line,) = check_command_line([typed, *TINY])
    assert line.startswith(f"{typed}: not a valid override") and line.endswith(quoted), line
    import shlex

    assert check_command_line([*shlex.split(quoted), *TINY]) == []  # the hint, typed into a shell, is accepted


def test_a_value_with_an_equals_sign_runs_into_that_folder_when_quoted(work):
    r = sim('hydra.run.dir="out/epoch=1"', *TINY, cwd=work)
    assert r.returncode == 0, r.stderr[-2000:]
    assert completed(work) == [work / "out" / "epoch=1"]


# ---------------------------------------------------------------- experiment files

@pytest.mark.parametrize("text, says", [
    ("", "is empty"),
    ("policy:\n  name: x\n", "does not start with '# @package _global_'"),
    ("# @package _global_\ndefaults:\n  origin: romania\n", "has 'defaults' as a mapping"),
])
def test_an_unusable_experiment_file_is_one_line_naming_it(work, text, says):
    (work / "experiments").mkdir()
    path = work / "experiments" / "mine.yaml"
    path.write_text(text)
    for argv in (["experiment=mine", *TINY], ["-m", "experiment=mine,baseline", *TINY]):
        errors = check_command_line(argv)
        assert errors == [f"experiment=mine: {path} {says}" + errors[0].split(says, 1)[1]], errors
    r = sim("experiment=mine", *TINY, cwd=work)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and says in r.stderr and "Traceback" not in r.stderr
    assert not (work / "results").exists()


def test_experiments_are_found_in_the_given_folders_then_here_then_shipped(work, monkeypatch, tmp_path_factory):
    from hydra import compose, initialize_config_dir

    from sim import resources

    def policy_name(experiment: str) -> str:
        with initialize_config_dir(config_dir=str(resources.CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=[f"experiment={experiment}"]).policy.name

    given = tmp_path_factory.mktemp("given")
    (work / "experiments").mkdir()
    for folder, name in ((work / "experiments", "here"), (given, "given")):
        (folder / "training_reform.yaml").write_text(f"# @package _global_\npolicy:\n  name: {name}\n")
    (work / "experiments" / "only_here.yaml").write_text("# @package _global_\npolicy:\n  name: only_here\n")
    assert policy_name("only_here") == "only_here" and policy_name("training_reform") == "here"
    monkeypatch.setenv("CAREERSIM_EXPERIMENTS", f"{tmp_path_factory.mktemp('empty')}{os.pathsep}{given}")
    assert policy_name("training_reform") == "given" and policy_name("only_here") == "only_here"
    assert policy_name("more_scholarships") == "more_scholarships"  # shipped
    assert resources.experiment_folders()[1:] == [given, work / "experiments", resources.SHIPPED_EXPERIMENTS]


# ---------------------------------------------------------------- values as typed

def test_values_out_of_range_are_shown_as_typed(work):
    line = "origin.female_share: 1.0000001 is out of range; expected a number in [0, 1]"
    assert check_command_line(["origin.female_share=1.0000001", *TINY]) == [line]
    assert check_command_line(["-m", "origin.female_share=0.5,1.0000001", *TINY]) == [line]
    assert check_command_line(["origin.female_share=2.0", *TINY]) == [line.replace("1.0000001", "2")]


# ---------------------------------------------------------------- priors under sampled

def test_a_broken_prior_under_sampled_is_reported_before_the_run(work, monkeypatch, tmp_path_factory):
    copy = tmp_path_factory.mktemp("provenance")
    for p in provenance.PROVENANCE_DIR.glob("*.yaml"):
        shutil.copy(p, copy)
    path = copy / "origin_japan.yaml"
    text = path.read_text()
    assert "{dist: triangular, low: 18, mode: 19, high: 21}" in text
    path.write_text(text.replace("{dist: triangular, low: 18, mode: 19, high: 21}",
                                 "{dist: triangular, low: 20, mode: 19, high: 21}"))
    monkeypatch.setattr(provenance, "PROVENANCE_DIR", copy)
    line = (f"params.uncertainty=sampled: origin.entry_age: triangular prior: need low <= mode <= high and "
            f"low < high (in {path})")
    assert check_command_line(["params.uncertainty=sampled", *TINY]) == [line]
    assert check_command_line(["-m", "params.uncertainty=sampled", "seed=1,2", *TINY]) == [line]
    assert check_command_line(TINY) == []  # central values draw nothing
    assert check_command_line(["params.uncertainty=sampled", "origin.entry_age=20.0", *TINY]) == []  # set, not drawn


# ---------------------------------------------------------------- superseded override, run.json, labels

def test_a_superseded_override_a_changed_sampled_run_and_what_it_records(work):
    args = ["years=${oc.env:CAREERSIM_NOT_SET_ANYWHERE}", "years=2", "scale=0.01", "params.uncertainty=sampled",
            "policy.returnee_premium=0.2"]
    started = datetime.now(timezone.utc).replace(microsecond=0)
    r = sim(*args, cwd=work)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    (folder,) = completed(work)
    assert folder.name.endswith("_baseline+params.uncertainty-sampled+policy.returnee_premium-0.2"), folder.name
    run = json.loads((folder / "run.json").read_text())
    assert run["years"] == 2
    assert run["changes_from_experiment"] == ["params.uncertainty=sampled", "policy.returnee_premium=0.2"]
    assert run["product_version"] == version("career-migration-sim")
    assert started <= datetime.fromisoformat(run["started"]) <= datetime.now(timezone.utc)
    assert run["libraries"]["numpy"] == version("numpy") and run["libraries"]["hydra-core"] == version("hydra-core")
    if (ROOT / ".git").exists():
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout
        assert run["git_commit"] == head.strip() and isinstance(run["git_dirty"], bool)
    config = (folder / "config.yaml").read_text()
    assert config.startswith("# params.uncertainty=sampled: the values below are the central values")
    assert "parameters.json" in config.splitlines()[1] + config.splitlines()[2]
    assert json.loads((folder / "parameters.json").read_text())["drawn"]  # where it points holds the draws
    # the same command again keeps the complete result (the header is part of what is compared)
    r = sim(*args, f"hydra.run.dir={folder}", cwd=work)
    assert r.returncode == 0 and "kept" in r.stderr + r.stdout, r.stderr[-2000:]


def test_a_run_is_named_after_its_experiment_and_its_changes(work):
    def name(*argv: str) -> str:
        found = inspect_command_line([*argv, *TINY])
        assert found.errors == [], found.errors
        return found.folder.name.split("_", 3)[3]

    assert name() == "baseline" and name("seed=3") == "baseline"
    assert name("experiment=training_reform", "policy.returnee_premium=0.1") == \
        "training_reform+policy.returnee_premium-0.1"
    assert name("origin=romania") == "baseline+origin-romania"
    many = [f"policy.returnee_premium=0.{i}" for i in range(1, 3)] + ["params.match.max_rounds=5",
                                                                       "origin.income_gap=0.5",
                                                                       "destination.world_pool_applicants=9000",
                                                                       "policy.reintegration_support=0.3"]
    assert name(*many) == "baseline+5_changes"
    assert checks.changes_from_experiment(["years=2", "policy.a=1", "policy.a=2"]) == ["policy.a=2"]
    assert checks.sweep_label(["experiment=baseline,training_reform", "policy.a=2", "seed=1,2"], None) == \
        "baseline+training_reform+policy.a-2"


# ---------------------------------------------------------------- memory estimate

@pytest.mark.slow
@pytest.mark.parametrize("extra", [[], ["destination.world_pool_applicants=10000000"],
                                   ["params.network.peers=200", "params.network.alumni=200"]])
def test_the_memory_estimate_holds_with_the_world_pool_and_the_network_at_their_maximum(work, extra):
    from sim.config import memory_estimate_bytes

    args = ["scale=1", "years=5", "outputs.events=false", "outputs.plots=false", *extra]
    r = sim(*args, cwd=work)
    assert r.returncode == 0, r.stderr[-2000:]
    (folder,) = completed(work)
    peak = json.loads((folder / "run.json").read_text())["peak_memory_mb"] * 1e6
    estimate = memory_estimate_bytes(checks.load_config(args[:2] + extra))
    assert 0.7 < peak / estimate < 1.3, (peak, estimate)
