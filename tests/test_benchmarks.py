"""The benchmark scripts' contract: the results file's rows, and the step-part timer."""

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import phases  # noqa: E402

from sim.model import PROCESSES, CareerModel  # noqa: E402

PARTS = [*(p.name for p in PROCESSES), "record"]


def test_results_rows_have_the_fields_the_readme_quotes():
    data = json.loads((BENCH / "results" / "latest.json").read_text())
    rows = [r for r in data["rows"] if "error" not in r]
    assert {r["engine"] for r in rows} == {"model", "reference"}
    for r in rows:
        for key in ("n_agents", "years", "agent_steps", "agent_steps_per_s", "setup_s", "run_s", "peak_rss_mb"):
            assert isinstance(r[key], (int, float)) and r[key] > 0, (key, r)
        assert r["agent_steps_per_s"] == pytest.approx(r["agent_steps"] / r["run_s"], rel=0.01)
        if r["engine"] == "model":
            assert r["warmup_s"] > 0
    assert data["machine"]["cores"] >= 1 and "numba" in data["machine"]


def test_phase_timer_times_every_part_of_the_step_in_order():
    from sim.cli import load_config

    model = CareerModel(load_config(["scale=0.001", "years=1"]))
    parts = phases.step_parts(model)
    assert parts[0] == "life" and parts[-1] == "record"
    assert parts.index("electives") < parts.index("graduation") < parts.index("intention") < parts.index("match")
    assert parts[:-1] == list(model.processes)


@pytest.mark.parametrize("args", [["--people", "lots"], ["--people", "0"], ["--years", "0"]])
def test_phase_timer_rejects_bad_input(args, capsys):
    assert phases.main(args) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_phase_timer_splits_the_year_into_parts_and_compiled_loops(capsys):
    from sim.processes import research

    compiled = research.research_engagement
    assert phases.main(["--people", "5k", "--years", "12", "--repeat", "1", "--kernels"]) == 0
    out = capsys.readouterr().out
    year_ms = float(out.splitlines()[0].split(": ")[1].split()[0])
    part_ms = [float(line.split()[1]) for line in out.splitlines()[1:] if "ms/year" in line and "calls" not in line]
    assert len(part_ms) == len(PARTS)
    assert 0 < sum(part_ms) <= year_ms * 1.001  # the parts are inside the year
    assert "in compiled loops:" in out and "research_engagement" in out.split("in compiled loops:")[1]
    assert research.research_engagement is compiled  # the timers are removed afterwards


def test_paired_refuses_a_baseline_it_would_not_measure(tmp_path, capsys):
    """A folder that is no checkout, and an interpreter that imports this checkout's package
    (which would compare this version with itself), are refused before anything runs."""
    import paired

    assert paired.main([str(tmp_path)]) == 2
    assert "baseline" in capsys.readouterr().err
    baseline = tmp_path / "other"
    (baseline / "benchmarks").mkdir(parents=True)
    (baseline / "benchmarks" / "run.py").write_text("")
    assert paired.main([str(baseline), "--baseline-python", sys.executable, "--out", str(tmp_path / "p.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --baseline-python:") and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "p.json").exists()


def test_ensemble_benchmark_records_the_split_and_the_machine_speed(tmp_path, capsys):
    import ensemble

    out = tmp_path / "ensemble.json"
    assert ensemble.main(["--replications", "3", "--scales", "0.002", "--jobs", "1", "--base-seed", "4",
                          "--out", str(out)]) == 0
    data = json.loads(out.read_text())
    rows = data["ensembles"]
    assert [r["base_seed"] for r in rows] == [None, 4]
    for r in rows:
        assert r["replications"] == 3 and r["workers"] == 1
        # the whole process took at least what the model and metrics did in it
        assert r["wall_per_replication_ms"] >= r["model_setup_ms"] + r["model_run_ms"]
        assert r["layer_ms_per_replication"] > 0
        speed = r["speed_reference_before"]
        assert 0 < speed["python_loop_s"] < 60 and 0 < speed["numpy_sort_s"] < 60
    printed = capsys.readouterr().out
    assert printed.count("machine speed before") == 2


@pytest.mark.parametrize("args, field", [
    (["--replications", "0"], "--replications"),
    (["--scales", "0.01,abc"], "--scales"),   # a bad value after a good one: refused before the good one runs
    (["--scales", "0.01,"], "--scales"),
    (["--base-seed", "-1"], "--base-seed"),
    (["--jobs", "-1"], "--jobs"),
    (["--sweep", "-1"], "--sweep"),
])
def test_ensemble_benchmark_refuses_bad_options_before_measuring(tmp_path, capsys, args, field):
    import ensemble

    out = tmp_path / "ensemble.json"
    with pytest.raises(SystemExit) as exit_:
        ensemble.main([*args, "--out", str(out)])
    assert exit_.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1].startswith("python benchmarks/ensemble.py: error: " + field)
    assert not out.exists()
