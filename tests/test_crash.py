"""Outputs are never half-written: a run killed part-way is never taken as a result, and
running again into the same folder gives the complete, correct result.

Also the folder protocol itself (sim.outputs): the old marker goes first, stale temporary
files and old run files go before a rerun writes, a file changed after completion is
caught, and a run that fails or is stopped removes what it wrote.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import outputs
from sim.outputs import (COMPLETE, KNOWN_FILES, LEGACY_FILES, RUN_FILES, IncompleteRunError, read_events,
                         read_summary, read_timeseries)

ROOT = Path(__file__).resolve().parent.parent
# big enough that the model and the writing take a few seconds
BIG = ["scale=1", "years=35", "seed=3"]
OTHER = ["seed=4"]  # another configuration of the same size


def start(args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen) -> str:
    _, err = p.communicate(timeout=300)
    assert p.returncode == 0, err
    return err


def wait_for(path: Path, p: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert p.poll() is None, f"the run ended before {path} appeared: {p.stderr.read()}"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.005)


def kill(p: subprocess.Popen) -> None:
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=60)
    p.stderr.close()


def assert_not_a_result(folder: Path) -> None:
    assert not (folder / COMPLETE).exists()
    for read in (read_summary, read_timeseries, read_events):
        with pytest.raises(IncompleteRunError):
            read(folder)


def assert_same_result(folder: Path, clean: Path, temporaries_ok: bool = False) -> None:
    assert (folder / COMPLETE).is_file()
    assert (folder / "summary.json").read_text() == (clean / "summary.json").read_text()
    assert read_timeseries(folder).equals(read_timeseries(clean))
    assert read_events(folder).equals(read_events(clean))
    leftovers = sorted(p.name for p in folder.iterdir() if p.name.startswith(".") and p.name != ".hydra")
    assert temporaries_ok or leftovers == [], f"temporary files left behind: {leftovers}"


def _seed(folder: Path) -> int:
    return json.loads((outputs.require_complete(folder) / "run.json").read_text())["seed"]


def _result_times(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name in (*KNOWN_FILES, COMPLETE)}


def test_killed_run_is_not_a_result_and_a_rerun_completes_it(tmp_path):
    out, clean, other = tmp_path / "run", tmp_path / "clean", tmp_path / "other"
    reference = start([*BIG, f"hydra.run.dir={clean}"], tmp_path)  # meanwhile, a clean run for comparison
    victim = start([*BIG, f"hydra.run.dir={out}"], tmp_path)
    # kill as soon as the folder appears: the model has not finished, nothing is complete
    wait_for(out, victim)
    kill(victim)
    assert_not_a_result(out)
    # run again into the same folder: complete and identical to the clean run
    finish(start([*BIG, f"hydra.run.dir={out}"], tmp_path))
    finish(reference)
    assert_same_result(out, clean)
    assert read_summary(out) == read_summary(clean)
    # the same command again keeps the complete result: nothing is rewritten
    before = _result_times(out)
    finish(start([*BIG, f"hydra.run.dir={out}"], tmp_path))
    assert _result_times(out) == before
    # another configuration into the complete folder, killed while it writes: the earlier
    # result stays whole until the new one replaces it at once; a rerun then completes it
    finish(start([*BIG, *OTHER, f"hydra.run.dir={other}"], tmp_path))
    _kill_while_writing(tmp_path, out, clean, other, "summary.json")
    # a bad rerun into the complete folder is refused before it touches anything
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    r = subprocess.run([sys.executable, "-m", "sim", *BIG, "years=abc", f"hydra.run.dir={out}"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert read_summary(out) == read_summary(other)


def _kill_while_writing(tmp_path: Path, out: Path, earlier: Path | None, clean: Path, first_file: str) -> None:
    """Run ``clean``'s configuration into ``out`` (which holds ``earlier``'s result, or nothing),
    kill it once ``first_file`` is being written; check; then repair and check."""
    victim = start([*BIG, *OTHER, f"hydra.run.dir={out}"], tmp_path)
    deadline = time.monotonic() + 120
    while not any(p.name.startswith(f".{first_file}.tmp") for p in out.glob(".*")):
        assert victim.poll() is None, f"the run ended before {first_file} was written: {victim.stderr.read()}"
        assert time.monotonic() < deadline, f"{first_file} was never written"
        time.sleep(0.001)
    kill(victim)
    # whatever state it was killed in: the earlier result whole, not a result, or the new result whole
    if not (out / COMPLETE).exists():
        assert_not_a_result(out)
    elif _seed(out) == _seed(clean):
        assert_same_result(out, clean, temporaries_ok=True)
    else:
        assert earlier is not None
        assert_same_result(out, earlier, temporaries_ok=True)
    finish(start([*BIG, *OTHER, f"hydra.run.dir={out}"], tmp_path))
    assert_same_result(out, clean)


@pytest.mark.slow
@pytest.mark.parametrize("first_file", ["config.yaml", "summary.json", "timeseries.parquet", "runs.parquet",
                                        "yearly.parquet", "events.parquet", "stocks.png", "run.json"])
def test_run_killed_at_each_file(tmp_path, first_file):
    out, clean, other = tmp_path / "run", tmp_path / "clean", tmp_path / "other"
    finish(start([*BIG, f"hydra.run.dir={clean}"], tmp_path))
    finish(start([*BIG, *OTHER, f"hydra.run.dir={other}"], tmp_path))
    _kill_while_writing(tmp_path, out, None, other, first_file)  # into a fresh folder
    finish(start([*BIG, f"hydra.run.dir={out}"], tmp_path))
    _kill_while_writing(tmp_path, out, clean, other, first_file)  # into a complete folder of another run


def test_a_failing_job_does_not_stop_the_sweep(tmp_path):
    # the job with seed 2 fails inside the model; the others run; at the end the failure is
    # one line naming the job, and the command fails; the failed job's folder says why and
    # holds no result files; the sweep's table has the jobs that completed
    code = ("import sys, sim.ensemble as e\n"
            "run_one = e.run_one\n"
            "def boom(plan, k):\n"
            "    if plan.seed == 2:\n"
            "        raise RuntimeError('boom')\n"
            "    return run_one(plan, k)\n"
            "e.run_one = boom\n"
            "from sim.cli import cli\n"
            "cli(sys.argv[1:])\n")
    sweep = tmp_path / "sweep"
    r = subprocess.run([sys.executable, "-c", code, "-m", "seed=1,2,3", "scale=0.01", "years=3",
                        f"hydra.sweep.dir={sweep}"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 2 and "job 1 (seed=2" in lines[0] and "RuntimeError: boom" in lines[0], r.stderr
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    failed = json.loads((sweep / "1" / "FAILED").read_text())
    assert failed["error"] == "RuntimeError: boom" and failed["overrides"][0] == "seed=2"
    assert "Traceback" in (sweep / "1" / "sim.log").read_text()  # the traceback, in the job's log
    assert not any((sweep / "1" / name).exists() for name in KNOWN_FILES)
    assert_not_a_result(sweep / "1")
    assert outputs.read_runs(sweep)["job"].tolist() == [0, 2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_stopped_run_removes_its_folder(tmp_path, sig):
    out = tmp_path / "run"
    # several replications in a pool of workers: stopping ends them too
    p = subprocess.Popen([sys.executable, "-m", "sim", *BIG, "replications=4", "jobs=2", f"hydra.run.dir={out}"],
                         cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # the first progress line: the run is under way (and its SIGTERM handler installed)
    for line in p.stdout:
        if " - started: " in line:
            break
    else:
        raise AssertionError(f"the run never said it started: {p.stderr.read()}")
    p.send_signal(sig)
    _, err = p.communicate(timeout=60)
    if p.returncode == 0:  # finished before the signal arrived (a very fast machine)
        assert (out / COMPLETE).is_file()
        return
    assert p.returncode == 128 + sig, err
    assert "Traceback" not in err and ("stopped" in err if sig == signal.SIGTERM else "interrupted" in err)
    assert not out.exists()


# ---------------------------------------------------------------- the folder protocol, in-process

def _fake_run(folder: Path, text: str = "x") -> None:
    outputs.start_run(folder)
    for name in RUN_FILES:
        outputs.write_text(folder / name, f"{name} {text}\n")
    outputs.finish_run(folder)


def test_start_run_drops_the_marker_old_files_and_stale_temporaries(tmp_path):
    _fake_run(tmp_path)
    outputs.require_complete(tmp_path)
    stale = [".summary.json.tmp-4242.json", ".stocks.png.tmp.png", ".COMPLETE.tmp-1"]
    for name in stale:
        (tmp_path / name).write_text("half")
    (tmp_path / "notes.txt").write_text("mine")
    outputs.start_run(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["notes.txt"]


def test_finish_run_refuses_a_folder_with_a_missing_file(tmp_path):
    outputs.start_run(tmp_path)
    for name in RUN_FILES[:-1]:
        outputs.write_text(tmp_path / name, "x")
    with pytest.raises(IncompleteRunError, match=RUN_FILES[-1]):
        outputs.finish_run(tmp_path)
    assert not (tmp_path / COMPLETE).exists()


def test_readers_refuse_files_changed_after_completion(tmp_path):
    _fake_run(tmp_path)
    manifest = json.loads((tmp_path / COMPLETE).read_text())
    assert set(manifest["files"]) == set(RUN_FILES)
    (tmp_path / "summary.json").write_text("summary.json y\n")  # same size, other content
    with pytest.raises(IncompleteRunError, match="changed after"):
        outputs.require_complete(tmp_path)
    (tmp_path / "summary.json").unlink()
    with pytest.raises(IncompleteRunError, match="missing"):
        outputs.require_complete(tmp_path)


def test_legacy_marker_needs_every_file(tmp_path):
    for name in LEGACY_FILES:
        (tmp_path / name).write_text("x")
    (tmp_path / COMPLETE).write_text("all run files written\n")
    outputs.require_complete(tmp_path)
    (tmp_path / "events.parquet").unlink()
    with pytest.raises(IncompleteRunError):
        outputs.require_complete(tmp_path)


def test_failed_write_leaves_no_temporary_file(tmp_path):
    def broken(path: Path) -> None:
        path.write_text("half")
        raise OSError("disk full")

    with pytest.raises(OSError):
        outputs.write_with(tmp_path / "summary.json", broken)
    assert list(tmp_path.iterdir()) == []


def test_discard_run_removes_only_what_a_run_writes(tmp_path):
    run = tmp_path / "run"
    _fake_run(run)
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text("x")
    (run / "sim.log").write_text("x")
    outputs.discard_run(run)
    assert not run.exists()
    _fake_run(run)
    (run / "notes.txt").write_text("mine")
    outputs.discard_run(run)
    assert sorted(p.name for p in run.iterdir()) == ["notes.txt"]
