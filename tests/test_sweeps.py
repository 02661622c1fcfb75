"""Sweeps as a user runs them: default folders, every launcher, resume, refusals, the sweep's
tables, the up-front check's cost, the Optuna sweeper, progress."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim import checks, outputs, tables
from sim.cli import check_command_line

ROOT = Path(__file__).resolve().parent.parent
TINY = ["scale=0.01", "years=3"]


def sim(*args, cwd: Path, timeout: float = 300, **kwargs):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, **kwargs)


def without_timings(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in tables.TIMING_COLUMNS if c in df.columns])


def only_sweep(cwd: Path) -> Path:
    (root,) = (cwd / "results" / "multiruns").iterdir()
    return root


# ---------------------------------------------------------------- README lines, as written

def readme_commands() -> list[str]:
    """Every `python -m sim` command line of the README's bash blocks that carry no skip
    marker (see tests/test_readme.py), once each."""
    from test_readme import commands, is_sim_line, readme_blocks

    lines = []
    for block in readme_blocks():
        if block.lang == "bash" and block.marker is None:
            lines += [c for c in commands(block) if is_sim_line(c) and c not in lines]
    return lines


def is_sweep(command: str) -> bool:
    return "-m" in shlex.split(command)[3:] or "search=" in command


def shrunk(command: str) -> list[str]:
    """The README line's arguments, made small: national scale and 35 years become a few
    hundred people over three years; a SLURM launcher becomes submitit's local one (no
    cluster here)."""
    args = shlex.split(command)[3:]
    args = [a.replace("hydra/launcher=slurm", "hydra/launcher=submitit_local") for a in args
            if not a.startswith("hydra.launcher.partition=")]
    extra = ["scale=0.01", "years=3"]
    if any(a.startswith("replications=") for a in args):
        extra.append("replications=2")
    if "search=" in command:  # two trials (one for a line that sets its own number), years for most targets
        extra += [f"hydra.sweeper.n_trials={1 if 'n_trials=' in command else 2}", "years=12"]
    return [*args, *extra]


def test_readme_has_sweep_lines():
    commands = [c for c in readme_commands() if is_sweep(c)]
    assert len(commands) >= 5, commands
    assert any("hydra/launcher=" in c for c in commands) and any("search=" in c for c in commands)


@pytest.mark.parametrize("command", readme_commands())
def test_readme_command_runs_as_written(tmp_path, command):
    """Each `python -m sim` line of the README, from a fresh folder with the default output
    folders, made small (see :func:`shrunk`)."""
    r = sim(*shrunk(command), cwd=tmp_path)
    assert r.returncode == 0, (command, r.stderr[-3000:])
    if "--cfg" in command:
        assert "origin:" in r.stdout and not (tmp_path / "results").exists()
        return
    if not is_sweep(command):
        folders = [p.parent for p in tmp_path.rglob("COMPLETE")]
        assert len(folders) == 1, folders
        runs = outputs.read_runs(folders[0])
        assert len(runs) == (2 if "replications=" in command else 1)
        return
    root = only_sweep(tmp_path)  # under results/multiruns/, named after what it runs
    assert re.fullmatch(r"\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d{6}_[\w.+-]+", root.name), root.name
    ledger = json.loads((root / "sweep.json").read_text())
    jobs = ledger["jobs"]
    assert jobs and all(j["status"] == "complete" for j in jobs.values())
    runs = outputs.read_runs(root)
    assert sorted(runs["job"].unique()) == sorted(j["job"] for j in jobs.values())
    assert len(outputs.read_yearly(root)) == len(runs) * (12 if "search=" in command else 3)
    for key, info in jobs.items():  # each job folder says what the job is
        job = json.loads((root / key / "job.json").read_text())
        assert job["overrides"] == info["overrides"] and job["status"] == "complete"
    if "search=" in command:  # Optuna: every trial returned its objective, the best is recorded
        best = float(re.search(r"best_value: (\S+)", (root / "optimization_results.yaml").read_text()).group(1))
        values = [json.loads((root / key / "job.json").read_text())["objective_value"] for key in jobs]
        assert all(isinstance(v, float) for v in values) and best == pytest.approx(min(values))
        assert runs["params.returning.base_annual"].between(0.01, 0.12).all()


def test_two_sweeps_started_together_do_not_collide(tmp_path):
    args = [sys.executable, "-m", "sim", "-m", "seed=1", *TINY]
    procs = [subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    roots = sorted((tmp_path / "results" / "multiruns").iterdir())
    assert len(roots) == 2 and all(len(outputs.read_runs(r)) == 1 for r in roots)


# ---------------------------------------------------------------- launchers and workers

def test_tables_are_the_same_with_every_launcher_and_worker_count(tmp_path):
    sweep = ["-m", "seed=1,2", *TINY, "replications=2"]
    variants = {"basic": ["jobs=1"], "joblib": ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"],
                "submitit": ["hydra/launcher=submitit_local"]}
    found = {}
    for name, extra in variants.items():
        root = tmp_path / name
        r = sim(*sweep, *extra, f"hydra.sweep.dir={root}", cwd=tmp_path)
        assert r.returncode == 0, (name, r.stderr[-2000:])
        found[name] = (without_timings(outputs.read_runs(root)), outputs.read_yearly(root))
    runs, yearly = found.pop("basic")
    assert runs["job"].tolist() == [0, 0, 1, 1] and runs["seed"].nunique() == 4
    for name, (other_runs, other_yearly) in found.items():
        pd.testing.assert_frame_equal(runs, other_runs, obj=name)
        pd.testing.assert_frame_equal(yearly, other_yearly, obj=name)


# ---------------------------------------------------------------- resume, and earlier sweeps

def _times(folder: Path) -> dict:
    return {p.name: p.stat().st_mtime_ns for p in folder.iterdir() if p.name in (*outputs.KNOWN_FILES, "COMPLETE")}


def test_a_rerun_keeps_complete_jobs_and_repairs_a_broken_one(tmp_path):
    root = tmp_path / "sweep"
    command = ["-m", "seed=1,2,3", *TINY, f"hydra.sweep.dir={root}"]
    assert sim(*command, cwd=tmp_path).returncode == 0
    runs, yearly = without_timings(outputs.read_runs(root)), outputs.read_yearly(root)
    kept = {k: _times(root / k) for k in ("0", "2")}
    (root / "1" / "summary.json").write_text("{}")  # broken: no longer matches its COMPLETE manifest
    r = sim(*command, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert {k: _times(root / k) for k in ("0", "2")} == kept  # not rerun
    outputs.require_complete(root / "1")
    pd.testing.assert_frame_equal(without_timings(outputs.read_runs(root)), runs)
    pd.testing.assert_frame_equal(outputs.read_yearly(root), yearly)
    # a different sweep into the same root: the earlier sweep's job 2 stays on disk, out of the table
    r = sim("-m", "seed=1,2", *TINY, f"hydra.sweep.dir={root}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert outputs.read_runs(root)["job"].tolist() == [0, 1] and outputs.is_complete(root / "2")
    assert sorted(json.loads((root / "sweep.json").read_text())["jobs"]) == ["0", "1"]


def test_stopping_a_sweep_keeps_the_jobs_done(tmp_path):
    root = tmp_path / "sweep"
    command = [sys.executable, "-m", "sim", "-m", "seed=1,2,3,4", "scale=0.3", "years=20",
               f"hydra.sweep.dir={root}"]
    p = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (root / "0" / "COMPLETE").exists():
        assert p.poll() is None and time.monotonic() < deadline, p.stderr.read() if p.poll() is not None else ""
        time.sleep(0.01)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err
    assert "Traceback" not in err and "stopped" in err
    outputs.require_complete(root / "0")
    done = outputs.read_runs(root)["job"].tolist()
    assert 0 in done and done == sorted(done)
    for folder in root.iterdir():  # the job under way left no files behind
        if folder.is_dir() and not outputs.is_complete(folder):
            assert not any((folder / name).exists() for name in outputs.KNOWN_FILES)
            assert not any(n.name.startswith(".") and ".tmp" in n.name for n in folder.iterdir())
    assert not (root / outputs.LOCK_FILE).exists()


# ---------------------------------------------------------------- refused up front

def _nothing_written(tmp_path: Path, before: set) -> None:
    assert {p.relative_to(tmp_path) for p in tmp_path.rglob("*")} == before


@pytest.mark.parametrize("case", ["user-files", "configs", "current-folder", "empty", "single-run-as-sweep",
                                  "same-folder", "sweep-as-run"])
def test_folders_that_are_not_ours_are_refused(tmp_path, monkeypatch, case):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "summary.json").write_text("{}")
    (tmp_path / "sweep" / "0").mkdir(parents=True)
    (tmp_path / "sweep" / "sweep.json").write_text("{}")
    before = {p.relative_to(tmp_path) for p in tmp_path.rglob("*")}
    monkeypatch.chdir(tmp_path)
    argv = {
        "user-files": [*TINY, "hydra.run.dir=mine"],
        "configs": [*TINY, f"hydra.run.dir={ROOT / 'configs'}"],
        "current-folder": [*TINY, "hydra.run.dir=."],
        "empty": [*TINY, "hydra.run.dir="],
        "single-run-as-sweep": ["-m", "seed=1,2", *TINY, "hydra.sweep.dir=run"],
        "same-folder": ["-m", "seed=1,2", *TINY, "hydra.sweep.dir=new", "hydra.sweep.subdir=x"],
        "sweep-as-run": [*TINY, "hydra.run.dir=sweep"],
    }[case]
    lines = check_command_line(argv)
    assert len(lines) == 1 and lines[0].startswith("hydra."), lines
    _nothing_written(tmp_path, before)
    assert check_command_line([*TINY, "hydra.run.dir=run"]) == []  # an earlier run of ours may be replaced


def test_a_folder_another_live_run_writes_is_refused_and_a_dead_runs_lock_is_not(tmp_path):
    folder = tmp_path / "run"
    lock = outputs.FolderLock(folder).acquire()  # held by this (live) process
    lines = check_command_line([*TINY, f"hydra.run.dir={folder}"])
    assert len(lines) == 1 and "another run" in lines[0] and str(os.getpid()) in lines[0]
    r = sim(*TINY, f"hydra.run.dir={folder}", cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("error:") == 1 and "another run" in r.stderr
    lock.release()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record = json.loads((folder / outputs.LOCK_FILE).read_text()) if (folder / outputs.LOCK_FILE).exists() else {}
    record.update(pid=int(dead.stdout), host=socket.gethostname(), process_start=None)
    (folder / outputs.LOCK_FILE).write_text(json.dumps(record))  # a killed run's lock
    assert check_command_line([*TINY, f"hydra.run.dir={folder}"]) == []
    r = sim(*TINY, f"hydra.run.dir={folder}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    outputs.require_complete(folder)
    assert not (folder / outputs.LOCK_FILE).exists()


# ---------------------------------------------------------------- the up-front check

def test_checking_a_1000_job_sweep_composes_once():
    before = checks.COMPOSITIONS[0]
    t0 = time.perf_counter()
    assert check_command_line(["-m", "seed=range(0,1000)", *TINY]) == []
    elapsed = time.perf_counter() - t0
    assert checks.COMPOSITIONS[0] - before == 1
    assert elapsed < 60  # about 2 s on the development machine
    before = checks.COMPOSITIONS[0]
    lines = check_command_line(["-m", "experiment=baseline,training_reform", "seed=range(0,100)",
                                "scale=0.01,50", "years=3"])
    assert checks.COMPOSITIONS[0] - before == 3  # the command line, then one per experiment
    assert len(lines) == 1 and lines[0].startswith("scale: 50 is out of range")


def test_the_check_lets_through_what_the_sweeper_expands():
    assert check_command_line(["-m", "hydra/sweeper=optuna", "hydra.sweeper.n_trials=2",
                               "params.returning.base_annual=interval(0.01,0.1)", *TINY]) == []
    lines = check_command_line(["-m", "hydra/sweeper=optuna", "params.returning.nope=interval(0,1)", *TINY])
    assert len(lines) == 1 and lines[0].startswith("params.returning.nope: unknown key")
    lines = check_command_line(["-m", "years=interval(1,3)"])  # the basic sweeper cannot sample
    assert len(lines) == 1 and "hydra/sweeper=optuna" in lines[0]
    assert check_command_line(["-m", "experiment=glob(*)", *TINY]) == []
    lines = check_command_line(["-m", "experiment=glob(*)", "replications=0", *TINY])
    assert lines == ["replications: 0 is out of range; expected an integer in [1, 100000]"]


# ---------------------------------------------------------------- progress

def _run_on_a_terminal(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (100 columns); what it showed there, and on stdout."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    out = cwd / "stdout.txt"
    with open(out, "w") as fh:
        p = subprocess.Popen([sys.executable, "-m", "sim", *args], cwd=cwd, stdout=fh, stderr=slave)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    p.wait(timeout=300)
    os.close(master)
    return p.returncode, shown.decode(errors="replace"), out.read_text()


@pytest.mark.parametrize("argv, start", [
    (["seed=1,2", "seed=3"], "seed: given twice (seed=1,2 and seed=3)"),
    (["seed=1,2,1"], "seed=1: listed twice, so jobs 0 and 2 would be the same run"),
    (["experiment=baseline,baseline", "seed=4"], "experiment=baseline: listed twice"),
    (["experiment=glob(zzz*)"], "experiment: glob(zzz*) matches nothing, so the sweep has no jobs; options: baseline"),
])
def test_a_sweep_that_is_empty_or_repeats_a_job_is_refused(argv, start):
    errors = check_command_line(["-m", *argv, "scale=0.01", "years=2"])
    assert len(errors) == 1 and errors[0].startswith(start), errors


def test_progress_in_a_terminal_and_quiet_otherwise(tmp_path):
    code, shown, printed = _run_on_a_terminal(["-m", "seed=1,2,3", *TINY, f"hydra.sweep.dir={tmp_path / 'a'}"],
                                              tmp_path)
    assert code == 0, shown
    assert "3/3" in shown and f"sweep folder: {tmp_path / 'a'}" in shown
    assert printed == ""  # the bar replaces the log lines (kept in each job's log file)
    code, shown, _ = _run_on_a_terminal([*TINY, "replications=3", "jobs=1", f"hydra.run.dir={tmp_path / 'b'}"],
                                        tmp_path)
    assert code == 0, shown
    assert "replications" in shown and "3/3" in shown
    r = sim("-m", "seed=1,2", *TINY, f"hydra.sweep.dir={tmp_path / 'c'}", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""  # not a terminal: no bar
    assert "#1 : seed=2" in r.stdout and f"sweep folder: {tmp_path / 'c'}" in r.stdout  # the log lines instead
