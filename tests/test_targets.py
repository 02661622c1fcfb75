"""`python -m sim.targets RUN_FOLDER`: compare a finished run with its calibration targets."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from sim import targets as tg

ROOT = Path(__file__).resolve().parent.parent
JAPAN = ROOT / "configs" / "targets" / "japan.yaml"


def targets_cmd(*args):
    return subprocess.run([sys.executable, "-m", "sim.targets", *map(str, args)], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("targets") / "run"
    r = subprocess.run([sys.executable, "-m", "sim", "scale=0.05", "years=20", f"hydra.run.dir={out}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def write_targets(path: Path, targets: list[dict], origin: str | None = "japan") -> Path:
    data = {"targets": targets} if origin is None else {"origin": origin, "targets": targets}
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_japan_targets_file_is_well_formed_and_sourced():
    origin, items = tg.load_targets(JAPAN)
    assert origin == "japan"
    metrics = {t.metric for t in items}
    assert {"elective_rate_annual", "elective_share_hic", "elective_share_research", "research_engagement_share",
            "publication_share"} <= metrics
    # HEIST2018's 16 of 35 back in Japan is an interview quota, not a return rate: no return target
    assert not any(m.startswith("return_share") for m in metrics)
    assert "quota" in JAPAN.read_text()
    for t in items:
        assert t.low <= t.value <= t.high and t.source


def test_default_targets_follow_the_runs_origin(run_dir):
    r = targets_cmd(run_dir)
    assert r.returncode == 0, r.stderr
    _, items = tg.load_targets(JAPAN)
    for t in items:
        assert t.metric in r.stdout
    assert "within" in r.stdout and "targets within their intervals" in r.stdout


def test_model_values_and_distances_match_the_summary(run_dir):
    rows, notes, meets = tg.evaluate(run_dir)
    assert meets is None  # one replication: judged by its summary.json
    summary = json.loads((run_dir / "summary.json").read_text())
    assert notes == []
    for row in rows:
        assert row["model"] == summary[row["metric"]]
        assert row["distance"] == pytest.approx(row["model"] - row["target"])
        assert row["within"] == (row["low"] <= row["model"] <= row["high"])


def test_enforce_fails_on_an_impossible_target(run_dir, tmp_path):
    bad = write_targets(tmp_path / "impossible.yaml", [
        {"metric": "elective_rate_annual", "value": 0.95, "interval": [0.9, 1.0], "source": "test"},
        {"metric": "publication_share", "value": 0.5, "tolerance": 0.5, "source": "test"},
    ])
    r = targets_cmd(run_dir, "--targets", bad, "--enforce")
    assert r.returncode == 1
    assert "elective_rate_annual" in r.stderr and "missed" in r.stderr
    assert "NO" in r.stdout
    assert tg.main([str(run_dir), "--targets", str(bad)]) == 0  # without --enforce: report only


def test_enforce_passes_when_every_target_is_met(run_dir, tmp_path, capsys):
    ok = write_targets(tmp_path / "ok.yaml", [
        {"metric": "elective_rate_annual", "value": 0.02, "interval": [0.0, 1.0], "source": "test"},
        {"metric": "by_group.sex.female.graduates_total", "value": 1000, "interval": [1, 1e9], "source": "test"},
    ])
    assert tg.main([str(run_dir), "--targets", str(ok), "--enforce"]) == 0
    assert "2 of 2 targets within" in capsys.readouterr().out


def test_incomplete_or_missing_run_folder_is_one_clear_line(run_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "COMPLETE").unlink()
    for folder in (broken, tmp_path / "nowhere"):
        r = targets_cmd(folder)
        assert r.returncode == 2
        assert "Traceback" not in r.stderr
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    assert "incomplete" in targets_cmd(broken).stderr


@pytest.mark.parametrize("content, message", [
    ("targets: [\n", "not valid YAML"),
    ("origin: japan\n", "non-empty list under 'targets'"),
    ("targets:\n  - {metric: elective_rate_annual, interval: [0, 1], source: x}\n", "is not a finite number"),
    ("targets:\n  - {metric: elective_rate_annual, value: 0.02, source: x}\n", "either interval"),
    ("targets:\n  - {metric: elective_rate_annual, value: 0.02, interval: [0.5, 0.1], source: x}\n", "low <= high"),
    ("targets:\n  - {metric: elective_rate_annual, value: 0.02, tolerance: 0.01}\n", "no source"),
    ("targets:\n  - {metric: no_such_metric, value: 0.02, tolerance: 0.01, source: x}\n", "not in the run's summary"),
])
def test_bad_targets_file_is_one_clear_line(run_dir, tmp_path, capsys, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert tg.main([str(run_dir), "--targets", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0], err


def test_missing_targets_file_and_an_origin_without_targets(run_dir, tmp_path, capsys, monkeypatch):
    assert tg.main([str(run_dir), "--targets", str(tmp_path / "none.yaml")]) == 2
    assert "no such targets file" in capsys.readouterr().err
    monkeypatch.setattr(tg, "TARGETS_DIR", tmp_path)  # no japan.yaml here
    assert tg.main([str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no targets for origin 'japan'" in err[0] and "--targets" in err[0]


def test_targets_for_another_origin_are_noted(run_dir, tmp_path, capsys):
    other = write_targets(tmp_path / "lmic.yaml", [
        {"metric": "elective_rate_annual", "value": 0.02, "tolerance": 1, "source": "test"}], origin="lmic")
    assert tg.main([str(run_dir), "--targets", str(other)]) == 0
    assert "is for origin 'lmic'" in capsys.readouterr().err


def test_a_run_of_several_replications_is_judged_by_every_replication(tmp_path):
    """Each replication counts (it used to be replication 0 alone); --enforce asks a share."""
    out = tmp_path / "reps"
    r = subprocess.run([sys.executable, "-m", "sim", "scale=0.02", "years=12", "replications=4", f"hydra.run.dir={out}"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rows, notes, meets = tg.evaluate(out)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(meets) == 4
    expected = np.ones(4, dtype=bool)
    for row in rows:
        values = runs[row["metric"]].to_numpy(dtype=float)
        ok = (values >= row["low"]) & (values <= row["high"])
        expected &= ok
        assert row["within"] == pytest.approx(ok.mean())
        assert row["model"] == pytest.approx(np.nanmedian(values))
    assert (meets == expected).all()
    # a file whose one target no replication meets: the share is 0, --enforce fails; --min-share 0 lets it pass
    never = write_targets(tmp_path / "never.yaml", [{"metric": "elective_rate_annual", "value": 5.0,
                                                     "interval": [4.0, 6.0], "source": "test"}])
    r = targets_cmd(out, "--targets", never, "--enforce")
    assert r.returncode == 1 and "0 of 4 replications (0%) meet every target" in r.stdout
    assert "0/4" in r.stdout
    assert targets_cmd(out, "--targets", never, "--enforce", "--min-share", "0").returncode == 0
    r = targets_cmd(out, "--min-share", "2")
    assert r.returncode == 2 and r.stderr.strip().startswith("error: --min-share: 2.0 is not allowed")


def test_a_sweep_folder_is_refused_with_what_to_give_instead(tmp_path):
    root = tmp_path / "sweep"
    r = subprocess.run([sys.executable, "-m", "sim", "-m", "seed=1,2", "scale=0.01", "years=3",
                        f"hydra.sweep.dir={root}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    r = targets_cmd(root)
    assert r.returncode == 2 and "is a sweep folder; give one of its job folders" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
