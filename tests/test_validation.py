"""Bad input through the real command line: one clear line per problem, exit code 2, no
traceback, nothing left on disk.

Every case runs `python -m sim ...` in a fresh process from an empty scratch directory,
with the run and sweep folders pointed into it, and then checks that the directory is
still empty (no run folder, no sweep folder, no results/ or outputs/).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sim.cli import UserError, check_command_line, load_config
from sim.config import MAX_PEOPLE, validate

SMALL = ["scale=0.01", "years=3"]


def sim(args, cwd: Path):
    return subprocess.run([sys.executable, "-m", "sim", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def assert_rejected(r, tmp_path: Path, fields: list[str], also: tuple[str, ...] = ()):
    """Exit 2; stderr is exactly one `error: FIELD: ...` line per expected field; nothing on disk."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "HYDRA_FULL_ERROR" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert all(ln.startswith("error: ") for ln in lines), r.stderr
    assert len(lines) == len(fields), r.stderr
    for field in fields:
        hits = [ln for ln in lines if ln.startswith(f"error: {field}")]
        assert len(hits) == 1, (field, r.stderr)
    for text in also:
        assert text in r.stderr, (text, r.stderr)
    assert r.stdout == ""
    assert list(tmp_path.iterdir()) == [], "a bad run left files behind"


# (overrides, one field per expected error line, texts the message must contain)
CASES = {
    # wrong types
    "years-text": (["years=abc"], ["years:"], ("'abc' is not an integer", "[1, 200]")),
    "seed-float": (["seed=1.5"], ["seed:"], ("1.5 is not an integer",)),
    "seed-null": (["seed=null"], ["seed:"], ("null is not allowed",)),
    "nested-type": (["params.life.retirement_age_mean=abc"], ["params.life.retirement_age_mean:"], ("[40, 100]",)),
    "bool-type": (["policy.home_return_requirement=maybe"], ["policy.home_return_requirement:"],
                  ("true or false",)),
    "group-as-number": (["origin.electives=3"], ["origin.electives:"], ("group of settings",)),
    "list-as-text": (["params.research.start_years=abc"], ["params.research.start_years:"], ("not a list",)),
    "unparseable": (["years=[1,"], ["years=[1,:"], ("not a valid override",)),
    "sweep-without-m": (["seed=1,2"], ["seed:"], ("add -m",)),
    # NaN and infinity
    "scale-nan": (["scale=nan"], ["scale:"], ("nan is not allowed", "(0, 20]")),
    "share-inf": (["origin.female_share=inf"], ["origin.female_share:"], ("inf is not allowed",)),
    "years-inf": (["years=inf"], ["years:"], ("not an integer",)),
    # ranges
    "probability-above-1": (["origin.female_share=1.5"], ["origin.female_share:"], ("[0, 1]",)),
    "probability-negative": (["params.elective.apply_base=-0.1"], ["params.elective.apply_base:"], ("[0, 1]",)),
    "negative-count": (["origin.electives.hic_slots=-5"], ["origin.electives.hic_slots:"], ("-5",)),
    "years-zero": (["years=0"], ["years:"], ("[1, 200]",)),
    "scale-zero": (["scale=0"], ["scale:"], ("(0, 20]",)),
    # shares that must sum to 1
    "shares-sum": (["destination.training_years_probs=[0.5,0.6,0.1,0.1]"], ["destination.training_years_probs:"],
                   ("sums to 1.3", "must sum to 1")),
    "orientation-shares": (["origin.orientation_research_share=0.7", "origin.orientation_policy_share=0.6"],
                           ["origin.orientation_research_share + origin.orientation_policy_share:"], ("at most 1",)),
    # zero-sized population, too large
    "empty-population": (["scale=0.00001"], ["scale:"], ("empty population",)),
    "no-intake": (["origin.intake_per_year=0"], ["origin.intake_per_year:"], ()),
    "too-many-years": (["years=1000"], ["years:"], ("1000 is out of range", "200")),
    "too-large-scale": (["scale=50"], ["scale:"], ("20",)),
    "too-many-people": (["scale=20", "years=200"], ["scale:"], (f"{MAX_PEOPLE:,} people",)),
    # unknown keys
    "unknown-top": (["foo=1"], ["foo:"], ("unknown key", "allowed here")),
    "unknown-top-added": (["+foo=1"], ["foo:"], ("unknown key",)),
    "unknown-nested": (["origin.foo=1"], ["origin.foo:"], ("unknown key", "female_share")),
    # unknown names
    "origin": (["origin=mars"], ["origin:"], ("no option 'mars'", "japan")),
    "experiment": (["experiment=nope"], ["experiment:"], ("fewer_img_positions",)),
    # several problems at once: all reported, one line each
    "several": (["years=abc", "origin.female_share=2", "policy.reintegration_support=-0.5", "+foo=1",
                 "origin=mars", "destination.visa_denial_prob=nan"],
                ["years:", "origin.female_share:", "policy.reintegration_support:", "foo:", "origin:",
                 "destination.visa_denial_prob:"], ()),
}

# more bad inputs, checked in-process by the same function the command line runs first
# (a fresh `python -m sim` costs about two seconds of imports; these cost a composition)
MORE_CASES = {
    "scale-text": (["scale=abc"], ["scale:"], ("'abc' is not a number",)),
    "list-of-fractions": (["destination.training_years=[3.5,4,5,6]"], ["destination.training_years:"],
                          ("3.5", "integer")),
    "negative-positions": (["destination.img_positions=-1"], ["destination.img_positions:"], ()),
    "scale-negative": (["scale=-1"], ["scale:"], ()),
    "school-years": (["origin.school_years=2"], ["origin.school_years:"], ("[3, 8]",)),
    "shares-length": (["destination.training_years_probs=[0.5,0.5]"], ["destination.training_years_probs:"],
                      ("length",)),
    "world-pool-too-large": (["destination.world_pool_applicants=100000000000"],
                             ["destination.world_pool_applicants:"], ("10000000",)),
    "unknown-nested-added": (["+params.life.bar=2"], ["params.life.bar:"], ("retirement_age_max",)),
    "unknown-hydra": (["hydra.foo=1"], ["hydra.foo:"], ("unknown key",)),
    "destination": (["destination=mars"], ["destination:"], ("usa",)),
    "policy": (["policy=nope"], ["policy:"], ("baseline",)),
    "search": (["search=nope"], ["search:"], ("calibrate_return",)),
    "launcher": (["hydra/launcher=nope"], ["hydra/launcher:"], ("cores", "slurm", "pip install")),
    "origin-null": (["origin=null"], ["origin:"], ("japan",)),
    "empty-name": (["origin.name="], ["origin.name:"], ("non-empty",)),
    "retry-prob": (["params.match.retry_prob=1.01"], ["params.match.retry_prob:"], ()),
    "negative-peers": (["params.network.peers=-1"], ["params.network.peers:"], ()),
    "free-scholarship": (["policy.scholarship_amount_usd=0"], ["policy.scholarship_amount_usd:"], ()),
    "quality-above-max": (["origin.training_quality_baseline=0.95"], ["origin.training_quality_baseline:"],
                          ("training_quality_max",)),
    "policy-after-horizon": (["policy.start_year=5"], ["policy.start_year:"], ("after the last reported year",)),
    "retirement-bounds": (["params.life.retirement_age_min=70", "params.life.retirement_age_max=65"],
                          ["params.life.retirement_age_min:"], ("at most the maximum",)),
    "start-year-text": (["start_year=soon"], ["start_year:"], ("not an integer",)),
    "repeated-year": (["params.research.start_years=[3,3,5,6]"], ["params.research.start_years:"], ("repeats",)),
    "hazard-length": (["params.research.base_hazard=[0.1,0.1]"], ["params.research.base_hazard:"], ("length",)),
    "empty-list": (["origin.elective_years=[]"], ["origin.elective_years:"], ("non-empty",)),
    "deleted-group": (["~origin"], ["origin:"], ("no value set",)),
    # deleting a key: a key of the schema names what to write instead; an unknown key says so
    "deleted-null-key": (["~base_seed"], ["~base_seed:"], ("cannot be deleted", "base_seed=VALUE", "or null")),
    "deleted-nested-key": (["~params.uncertainty"], ["~params.uncertainty:"], ("cannot be deleted", "sampled")),
    "deleted-unknown-key": (["~foo"], ["foo:"], ("unknown key", "allowed here")),
    "missing-value": (["origin.name=???"], ["origin.name:"], ("no value set",)),
    "bad-interpolation": (["years=${nowhere}"], ["years:"], ("nowhere",)),
    "many-at-once": (["seed=-1", "years=abc", "params.network.alumni=500", "origin.motivation.a=0",
                      "++params.life.bar=2"],
                     ["seed:", "years:", "params.network.alumni:", "origin.motivation.a:", "params.life.bar:"], ()),
}


@pytest.mark.parametrize("overrides, fields, also", list(CASES.values()), ids=list(CASES))
def test_bad_input_is_one_line_per_problem_and_leaves_nothing(tmp_path, overrides, fields, also):
    r = sim([*SMALL, *overrides, f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert_rejected(r, tmp_path, fields, also)


@pytest.mark.parametrize("overrides, fields, also", list(MORE_CASES.values()), ids=list(MORE_CASES))
def test_more_bad_inputs_in_process(tmp_path, overrides, fields, also):
    lines = check_command_line([*SMALL, *overrides, f"hydra.run.dir={tmp_path / 'run'}"])
    assert len(lines) == len(fields), lines
    for field in fields:
        assert len([ln for ln in lines if ln.startswith(field)]) == 1, (field, lines)
    for text in also:
        assert any(text in ln for ln in lines), (text, lines)
    assert list(tmp_path.iterdir()) == []


def write_experiment(tmp_path: Path, text: str) -> Path:
    """An experiment kept outside the repository, found through Hydra's search path."""
    extra = tmp_path.parent / f"{tmp_path.name}-configs"
    (extra / "experiment").mkdir(parents=True)
    (extra / "experiment" / "broken.yaml").write_text("# @package _global_\n" + text)
    return extra


EXPERIMENT_FILES = {
    "yaml-syntax": ("policy:\n  name: broken\n   bad: [1,\n", ["experiment:"], ("not valid YAML", "line 4")),
    "unknown-key": ("policy:\n  foo: 1\n", ["policy.foo:"], ("unknown key",)),
}
MORE_EXPERIMENT_FILES = {
    "wrong-type": ("years: abc\n", ["years:"], ("not an integer",)),
    "unknown-option": ("defaults:\n  - override /origin: mars\n", ["origin:"], ("no option 'mars'",)),
    "out-of-range": ("policy:\n  reintegration_support: 7\n", ["policy.reintegration_support:"], ()),
    "tab": ("policy:\n\tname: x\n", ["experiment:"], ("not valid YAML",)),
}


@pytest.mark.parametrize("text, fields, also", list(EXPERIMENT_FILES.values()), ids=list(EXPERIMENT_FILES))
def test_bad_experiment_file(tmp_path, text, fields, also):
    extra = write_experiment(tmp_path, text)
    r = sim([*SMALL, f"hydra.searchpath=[file://{extra}]", "experiment=broken",
             f"hydra.run.dir={tmp_path / 'run'}"], cwd=tmp_path)
    assert_rejected(r, tmp_path, fields, also)


@pytest.mark.parametrize("text, fields, also", list(MORE_EXPERIMENT_FILES.values()), ids=list(MORE_EXPERIMENT_FILES))
def test_more_bad_experiment_files_in_process(tmp_path, text, fields, also):
    extra = write_experiment(tmp_path, text)
    lines = check_command_line([*SMALL, f"hydra.searchpath=[file://{extra}]", "experiment=broken"])
    assert [ln.split(":")[0] + ":" for ln in lines] == fields, lines
    for t in also:
        assert t in lines[0]


def test_sweep_with_one_bad_job_runs_nothing(tmp_path):
    r = sim(["-m", "scale=0.01,50", "years=3", f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=tmp_path)
    assert_rejected(r, tmp_path, ["scale:"], ("50 is out of range",))


def test_sweep_reports_a_problem_shared_by_every_job_once():
    lines = check_command_line(["-m", "seed=1,2,3", *SMALL, "origin.female_share=3", "experiment=baseline,nope"])
    assert [ln.split(":")[0] for ln in lines] == ["origin.female_share", "experiment"], lines
    lines = check_command_line(["-m", "years=interval(1,3)"])
    assert len(lines) == 1 and "sweep" in lines[0]


def test_show_config_checks_composition_only(tmp_path):
    # --cfg prints and runs nothing: a type error stops it, a range error does not
    r = sim(["--cfg", "job", "years=abc"], cwd=tmp_path)
    assert_rejected(r, tmp_path, ["years:"])
    assert check_command_line(["--cfg", "job", "origin.female_share=3"]) == []
    r = sim(["--help"], cwd=tmp_path)
    assert r.returncode == 0 and "Configuration groups" in r.stdout


# ---------------------------------------------------------------- the same checks in-process

def test_output_folder_that_cannot_be_created(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    lines = check_command_line([*SMALL, f"hydra.run.dir={tmp_path / 'file' / 'run'}"])
    assert len(lines) == 1 and lines[0].startswith("hydra.run.dir:") and "not a folder" in lines[0]
    lines = check_command_line(["-m", "seed=1,2", *SMALL, f"hydra.sweep.dir={tmp_path / 'file'}"])
    assert len(lines) == 1 and lines[0].startswith("hydra.sweep.dir:")
    assert check_command_line([*SMALL, f"hydra.run.dir={tmp_path / 'new' / 'deeper'}"]) == []


def test_good_command_lines_pass():
    assert check_command_line(SMALL) == []
    assert check_command_line(["-m", "seed=1,2", "experiment=baseline,training_reform", *SMALL]) == []
    assert check_command_line(["--cfg", "job"]) == []
    assert check_command_line(["--help", "years=abc"]) == []  # left to Hydra


def test_load_config_raises_one_line_per_problem():
    with pytest.raises(UserError) as err:
        load_config(["years=abc", "origin=mars", "origin.female_share=2"])
    assert [ln.split(":")[0] for ln in err.value.lines] == ["years", "origin", "origin.female_share"]


def test_validate_checks_types_of_a_config_built_in_python():
    cfg = load_config(SMALL)
    bad = dataclasses.replace(cfg, years="3", scale=True,
                              origin=dataclasses.replace(cfg.origin, elective_years=[5.5, 6], name=7))
    errors = validate(bad)
    assert [e.split(":")[0] for e in errors] == ["years", "scale", "origin.name", "origin.elective_years"], errors
    assert errors[0] == "years: '3' is not allowed; expected an integer in [1, 200]"
    assert validate(dataclasses.replace(cfg, years=np.int64(3), scale=np.float64(0.01))) == []
