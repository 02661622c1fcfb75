"""A regular install: the wheel built from this checkout, installed (not editable) into a fresh
virtual environment, runs from a folder outside the repository.

The fresh environment takes its dependencies from the one running the tests (a ``.pth`` file
naming its site-packages, whose own ``.pth`` files, the editable install among them, are not
read), so nothing is downloaded except, if pip's cache lacks them, the build's own
requirements. Slow: building and compiling the model's loops in a new place take minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def run(args: list, cwd: Path, env: dict | None = None, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin folder of a fresh environment with the wheel installed."""
    base = tmp_path_factory.mktemp("install")
    r = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", ROOT], cwd=base)
    assert r.returncode == 0, r.stderr[-3000:]
    (wheel,) = (base / "dist").glob("career_migration_sim-*.whl")
    r = run([sys.executable, "-m", "venv", base / "venv"], cwd=base)
    assert r.returncode == 0, r.stderr
    python = base / "venv" / "bin" / "python"
    purelib = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=base).stdout
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib.strip()) / "_deps_of_the_tests.pth").write_text("\n".join(sorted(deps)) + "\n")
    r = run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=base)
    assert r.returncode == 0, r.stderr[-3000:]
    return base / "venv" / "bin"


def test_the_wheel_carries_configs_experiments_and_the_plugin(installed):
    python = installed / "python"
    code = ("import sim, sim.resources as r, hydra_plugins.careersim as p; "
            "print(sim.__file__); print(r.CONFIG_DIR); print(r.SHIPPED_EXPERIMENTS); print(p.__file__)")
    out = run([python, "-c", code], cwd=installed).stdout.split()
    venv = installed.parent
    assert all(Path(p).is_relative_to(venv) for p in out), out
    config_dir, experiments = Path(out[1]), Path(out[2])
    assert (config_dir / "config.yaml").is_file() and (config_dir / "provenance" / "params_default.yaml").is_file()
    for group in ("origin", "destination", "policy", "params", "targets", "search", "hydra/launcher"):
        assert sorted(p.name for p in (config_dir / group).glob("*.yaml")) == \
            sorted(p.name for p in (ROOT / "configs" / group).glob("*.yaml")), group
    assert sorted(p.name for p in experiments.glob("*.yaml")) == sorted(p.name for p in (ROOT / "experiments").glob("*.yaml"))


def test_the_command_runs_from_any_folder(installed, tmp_path):
    env = {"PATH": f"{installed}{os.pathsep}{os.environ['PATH']}", "NUMBA_CACHE_DIR": str(tmp_path / "numba"),
           "CAREERSIM_EXPERIMENTS": ""}
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "my_reform.yaml").write_text(
        "# @package _global_\npolicy:\n  name: my_reform\n  returnee_premium: 0.2\n")
    r = run(["careersim", "experiment=my_reform", "years=3", "scale=0.01"], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    (folder,) = (tmp_path / "results" / "runs").iterdir()
    assert folder.name.endswith("_my_reform") and (folder / "COMPLETE").is_file()
    record = json.loads((folder / "run.json").read_text())
    assert record["policy"] == "my_reform" and record["git_commit"] is None  # not a checkout
    r = run([installed / "python", "-m", "sim", "experiment=training_reform", "--cfg", "job"], cwd=tmp_path, env=env)
    assert r.returncode == 0 and "name: training_reform" in r.stdout, r.stderr[-2000:]
    r = run(["careersim", "experiment=nope"], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "my_reform" in r.stderr and "training_reform" in r.stderr
    r = run([installed / "python", "-m", "sim.provenance", "--check"], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr[-2000:]  # every parameter's provenance ships with it
    r = run([installed / "python", "-m", "sim.provenance"], cwd=tmp_path, env=env)
    assert r.returncode == 2 and "checkout" in r.stderr  # no docs/ to regenerate in an installed copy
    assert not list(installed.parent.glob("lib/*/site-packages/docs"))
    r = run(["careersim", "--hydra-help"], cwd=tmp_path, env=env)
    assert r.returncode == 0 and "--shell-completion" in r.stdout


def test_tab_completion_of_the_command(installed, tmp_path):
    env = {"PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    r = run(["careersim", "-sc", "install=bash"], cwd=tmp_path, env=env)
    assert r.returncode == 0 and r.stdout.rstrip().endswith("hydra_bash_completion careersim"), r.stdout[-300:]
    (tmp_path / "experiments").mkdir()
    (tmp_path / "experiments" / "travel_grant.yaml").write_text("# @package _global_\npolicy:\n  name: t\n")
    script = ('eval "$(careersim -sc install=bash)"\n'
              'complete -p careersim\n'
              'COMP_LINE="careersim experiment=tr"; COMP_WORDS=(careersim experiment=tr); COMP_CWORD=1\n'
              'COMP_POINT=${#COMP_LINE}; hydra_bash_completion; echo "reply: ${COMPREPLY[*]}"\n')
    r = run(["bash", "-c", script], cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert "-F hydra_bash_completion careersim" in r.stdout
    reply = r.stdout.split("reply: ", 1)[1].split()
    assert reply == ["experiment=training_reform", "experiment=travel_grant"], r.stdout
