"""The command line as a user runs it: `python -m sim ...` in a fresh process."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.outputs import IncompleteRunError, read_summary

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = sorted(p.stem for p in (ROOT / "experiments").glob("*.yaml"))
FAST = ["scale=0.02", "years=12"]


def sim(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_default_run_writes_the_contract(tmp_path):
    out = tmp_path / "run"
    r = sim(*FAST, f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr
    for name in ("config.yaml", "summary.json", "timeseries.parquet", "events.parquet", "stocks.png", "run.json",
                 "COMPLETE"):
        assert (out / name).is_file(), name
    summary = read_summary(out)
    assert summary["graduates_total"] > 0
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert len(ts) == 12
    run = json.loads((out / "run.json").read_text())
    assert run["experiment"] == "baseline" and run["seed"] == 20261122
    assert "scale: 0.02" in (out / "config.yaml").read_text()
    assert (out / "stocks.png").read_bytes()[:4] == b"\x89PNG"


def test_same_seed_same_results_in_separate_processes(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert sim(*FAST, "seed=11", f"hydra.run.dir={a}").returncode == 0
    assert sim(*FAST, "seed=11", f"hydra.run.dir={b}").returncode == 0
    assert (a / "summary.json").read_text() == (b / "summary.json").read_text()
    pd.testing.assert_frame_equal(pd.read_parquet(a / "timeseries.parquet"), pd.read_parquet(b / "timeseries.parquet"))
    pd.testing.assert_frame_equal(pd.read_parquet(a / "events.parquet"), pd.read_parquet(b / "events.parquet"))
    # another seed, another process: different results
    assert sim(*FAST, "seed=12", f"hydra.run.dir={c}").returncode == 0
    assert read_summary(c) != read_summary(a)
    assert not pd.read_parquet(c / "timeseries.parquet").equals(pd.read_parquet(a / "timeseries.parquet"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_runs(tmp_path, experiment):
    out = tmp_path / experiment
    r = sim(f"experiment={experiment}", *FAST, f"hydra.run.dir={out}")
    assert r.returncode == 0, r.stderr
    assert read_summary(out)["graduates_total"] > 0


def test_experiment_changes_what_it_lists(tmp_path):
    out = tmp_path / "x"
    assert sim("experiment=fewer_img_positions", *FAST, f"hydra.run.dir={out}").returncode == 0
    ts = pd.read_parquet(out / "timeseries.parquet")
    assert ts["positions"].iloc[0] == round(5864 * 0.7 * 0.02)  # positions scale with the run (scale=0.02)


def test_sweep_writes_one_folder_per_job(tmp_path):
    r = sim("-m", "seed=1,2", "scale=0.01", "years=6", f"hydra.sweep.dir={tmp_path / 'sweep'}")
    assert r.returncode == 0, r.stderr
    s1, s2 = read_summary(tmp_path / "sweep" / "0"), read_summary(tmp_path / "sweep" / "1")
    assert s1 != s2


def test_default_folders_are_under_results(tmp_path):
    # run from a scratch directory: relative output folders land under its results/runs/
    r = sim("scale=0.01", "years=3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    runs = list((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("_baseline")
    assert (runs[0] / "COMPLETE").is_file()


# bad input: tests/test_validation.py


def test_readers_refuse_an_incomplete_folder(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    with pytest.raises(IncompleteRunError, match="incomplete"):
        read_summary(tmp_path)
