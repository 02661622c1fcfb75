"""The model in Mesa's conventions, and from Python: keyword construction, DataCollector,
running and the horizon, batch_run, agents as read-only views, embedding in Hydra sessions."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import mesa
import numpy as np
import pytest

import sim
from sim.cli import load_config
from sim.model import FLOWS, KEY_FLOWS, PATHWAY, CareerModel, ConfigError, HorizonError, current_row
from sim.population import EXITED, STAGES

ROOT = Path(__file__).resolve().parent.parent
TINY = {"scale": 0.01, "years": 3}


@pytest.fixture(scope="module")
def tiny():
    return CareerModel(seed=5, **TINY).run()


def test_keywords_compose_the_same_config_as_the_command_line():
    kw = CareerModel(seed=1, scale=0.01, years=3, experiment="training_reform",
                     **{"policy.returnee_premium": 0.2}, origin="romania")
    cfg = load_config(["seed=1", "scale=0.01", "years=3", "experiment=training_reform",
                       "policy.returnee_premium=0.2", "origin=romania"])
    assert kw.cfg == cfg
    assert kw.cfg.policy.name == "training_reform" and kw.cfg.policy.training_quality_investment == 0.01
    assert kw.cfg.origin.name == "romania" and kw.cfg.policy.returnee_premium == 0.2
    kw.run()
    np.testing.assert_array_equal(kw.stock_records, CareerModel(cfg).run().stock_records)


def test_a_mapping_under_a_group_stands_for_its_dotted_keys():
    m = CareerModel(scale=0.01, years=1, policy={"returnee_premium": 0.3, "home_return_requirement": False})
    assert m.cfg.policy.returnee_premium == 0.3 and m.cfg.policy.home_return_requirement is False


def test_bad_keywords_raise_one_line_per_problem():
    with pytest.raises(ConfigError) as err:
        CareerModel(scale=0.01, years="abc", origin="mars")
    lines = err.value.errors
    assert any(line.startswith("years") for line in lines) and any("mars" in line for line in lines)
    with pytest.raises(TypeError, match="rng"):
        CareerModel(scale=0.01, years=1, rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match="no configuration keywords"):
        CareerModel(load_config(["scale=0.01", "years=1"]), years=2)
    with pytest.raises(TypeError, match="disagree"):
        CareerModel(scale=0.01, years=1, seed=1, rng=2)


def test_rng_is_the_seed():
    a = CareerModel(scale=0.01, years=2, rng=7).run()
    b = CareerModel(load_config(["scale=0.01", "years=2", "seed=7"])).run()
    assert a.cfg.seed == 7
    np.testing.assert_array_equal(a.flow_records, b.flow_records)


def test_datacollector_holds_one_row_per_reported_year(tiny):
    df = tiny.datacollector.get_model_vars_dataframe()
    assert len(df) == TINY["years"]  # no row for the spin-up: it is current_row() before the first step
    np.testing.assert_array_equal(df[list(STAGES)].to_numpy(), tiny.stock_records)
    key = [FLOWS.index(name) for name in KEY_FLOWS]
    np.testing.assert_array_equal(df[list(KEY_FLOWS)].to_numpy(), tiny.flow_records[:, key])
    assert list(df["year"]) == [tiny.calendar_year(t) for t in range(1, TINY["years"] + 1)]
    shares = df[[f"share_{name}" for name in PATHWAY]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    present = tiny.stock_records[:, [j for j in range(len(STAGES)) if j != EXITED]].sum(axis=1)
    np.testing.assert_array_equal(df["present"].to_numpy(), present)


def test_current_row_before_the_first_step_is_the_population_after_the_spin_up():
    m = CareerModel(seed=5, **TINY)
    row = current_row(m)
    assert m.datacollector.get_model_vars_dataframe().empty
    assert [row[name] for name in STAGES] == m.initial_stocks.tolist()
    assert row["year"] == m.calendar_year(0) and all(row[name] == 0 for name in KEY_FLOWS)


def test_running_turns_false_and_a_step_too_many_changes_nothing(tiny):
    assert tiny.running is False and tiny.steps == TINY["years"] and tiny.year == TINY["years"]
    before = (tiny.stocks.copy(), tiny.pop.stage.copy(), tiny.stock_records.copy(), tiny.steps,
              len(tiny.datacollector.model_vars["students"]), getattr(tiny, "time", None))
    with pytest.raises(HorizonError, match="all 3 years"):
        tiny.step()
    after = (tiny.stocks, tiny.pop.stage, tiny.stock_records, tiny.steps,
             len(tiny.datacollector.model_vars["students"]), getattr(tiny, "time", None))
    for x, y in zip(before, after):
        np.testing.assert_array_equal(x, y)


def test_run_model_stops_at_the_horizon():
    m = CareerModel(scale=0.01, years=2)
    assert m.running and m.steps == 0  # the spin-up is not counted as steps
    m.run_model()
    assert m.year == 2 and m.steps == 2 and not m.running


# Mesa 3.5's batch_run numbers rows by model.time at collection (the step just run); Mesa 3.3's
# numbers them 0, 1, ... by position in the collector
FIRST_STEP = 1 if hasattr(mesa.DataCollector(), "_collection_steps") else 0


def _batch(**kwargs):
    return mesa.batch_run(CareerModel, parameters={"seed": [1, 2], **TINY}, iterations=1, number_processes=1,
                          display_progress=False, **kwargs)


def test_batch_run_returns_the_last_reported_year_by_default():
    rows = _batch()
    last = CareerModel(seed=1, **TINY).calendar_year(TINY["years"])
    assert [(r["seed"], r["year"], r["Step"]) for r in rows] == [
        (s, last, FIRST_STEP + TINY["years"] - 1) for s in (1, 2)]
    direct = CareerModel(seed=2, **TINY).run().stock_records[-1]
    assert [rows[1][name] for name in STAGES] == direct.tolist()


def test_batch_run_with_period_1_returns_every_reported_year():
    rows = _batch(data_collection_period=1)
    model = CareerModel(seed=1, **TINY).run()
    years = [int(model.calendar_year(t)) for t in range(1, TINY["years"] + 1)]  # no spin-up row
    for seed in (1, 2):
        mine = [r for r in rows if r["seed"] == seed]
        assert [r["year"] for r in mine] == years
        assert [r["Step"] for r in mine] == list(range(FIRST_STEP, FIRST_STEP + TINY["years"]))
    mine = [r for r in rows if r["seed"] == 1]
    np.testing.assert_array_equal([[r[name] for name in STAGES] for r in mine], model.stock_records)


def test_batch_run_works_directly():
    rows = mesa.batch_run(CareerModel, parameters={"scale": 0.01, "years": 3, "seed": [1, 2],
                                                   "policy.returnee_premium": [0.0, 0.5]},
                          number_processes=1, data_collection_period=1, display_progress=False)
    seeds = {(r["seed"], r["policy.returnee_premium"]) for r in rows}
    assert seeds == {(1, 0.0), (1, 0.5), (2, 0.0), (2, 0.5)}
    assert len(rows) == 4 * 3
    direct = {s: CareerModel(scale=0.01, years=3, seed=s).run().datacollector for s in (1, 2)}
    for r in rows:
        if r["policy.returnee_premium"] == 0.0:
            assert r["students"] == direct[r["seed"]].model_vars["students"][int(r["Step"]) - FIRST_STEP]
    first = {r["seed"]: r["students"] for r in rows if r["Step"] == FIRST_STEP}
    assert first[1] != first[2]  # the seeds reach the model


def test_model_agents_hold_only_people_still_in_the_model():
    model = CareerModel(scale=0.01, years=4, materialize_agents=True).run()
    stages = np.array([a.stage for a in model.agents])
    assert len(stages) and (stages != EXITED).all()
    assert len(model.agents) == int((model.pop.stage[: model.pop.n] != EXITED).sum())
    gone = int(np.flatnonzero(model.pop.stage[: model.pop.n] == EXITED)[0])
    assert model.person(gone).stage_name == "exited" and model.person(gone) not in model.agents


def test_lazy_agents_leave_model_agents_when_their_person_exits():
    model = CareerModel(scale=0.01, years=3)
    exits = model.processes["life"]
    k = model.year + 1 - exits.first_year
    leaving = int(exits.order[exits.offsets[k]])  # exits next year
    agent = model.person(leaving)
    assert agent in model.agents
    model.step()
    assert agent.stage_name == "exited" and agent not in model.agents
    assert model.person(leaving) is agent


def test_assigning_a_state_variable_raises_and_writes_nothing():
    model = CareerModel(scale=0.01, years=1)
    p = model.person(0)
    before = model.pop.motivation[0]
    with pytest.raises(AttributeError, match="Person.motivation is read-only"):
        p.motivation = 0.9
    with pytest.raises(AttributeError, match="model.move"):
        p.stage = 2
    with pytest.raises(AttributeError, match="read-only"):
        p.age = 30
    assert model.pop.motivation[0] == before and "motivation" not in vars(p)


def test_a_new_attribute_on_an_agent_raises_and_mesas_own_still_work():
    model = CareerModel(scale=0.01, years=1)
    p = model.person(0)
    with pytest.raises(AttributeError, match="'foo' to set: .* read-only view"):
        p.foo = 3
    with pytest.raises(AttributeError, match="'motivaton' to set"):  # a typo no longer passes silently
        p.motivaton = 0.9
    assert "foo" not in vars(p) and "motivaton" not in vars(p)
    p.pos = (1, 2)  # Mesa's attributes of an agent stay assignable
    assert p.pos == (1, 2)


def test_with_values_is_the_fast_documented_way_to_change_parameters():
    cfg = load_config(["scale=0.01", "years=2"])
    new = sim.with_values(cfg, {"policy.returnee_premium": 0.4, "seed": 9})
    assert new.policy.returnee_premium == 0.4 and new.seed == 9
    assert cfg.policy.returnee_premium == 0.0 and cfg.seed != 9  # the original is unchanged
    with pytest.raises(KeyError, match="policy.no_such: no such parameter"):
        sim.with_values(cfg, {"policy.no_such": 1})
    with pytest.raises(ConfigError, match="reintegration_support"):
        sim.with_values(cfg, {"policy.reintegration_support": 2.0})
    assert sim.with_values.__doc__ and "sim.with_values" in (ROOT / "README.md").read_text()


def test_mesa_step_log_lines_are_quiet_unless_asked_for(caplog):
    model = CareerModel(scale=0.01, years=2)
    with caplog.at_level(logging.DEBUG):
        model.step()
    assert not [r for r in caplog.records if r.name.startswith("MESA")]
    mesa_log = logging.getLogger("MESA")
    level = mesa_log.level
    mesa_log.setLevel(logging.INFO)
    try:
        with caplog.at_level(logging.INFO):
            model.step()
    finally:
        mesa_log.setLevel(level)
    assert [r for r in caplog.records if r.name.startswith("MESA")]


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=cwd or ROOT, env=env, timeout=600)


def test_load_config_inside_a_users_own_hydra_session(tmp_path):
    (tmp_path / "mine.yaml").write_text("answer: 42\n")
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(tmp_path), version_base="1.3"):
        cfg = load_config(["years=3", "scale=0.01"])
        assert cfg.years == 3
        assert compose("mine").answer == 42  # the user's session is back


def test_load_config_under_hydra_main(tmp_path):
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "app.yaml").write_text("answer: 42\n")
    (tmp_path / "app.py").write_text(textwrap.dedent("""
        import hydra
        from hydra.core.hydra_config import HydraConfig
        from sim.cli import load_config

        @hydra.main(version_base="1.3", config_path="conf", config_name="app")
        def task(cfg):
            sim_cfg = load_config(["years=3", "experiment=training_reform"])
            print("years", sim_cfg.years, sim_cfg.policy.name, cfg.answer, HydraConfig.get().job.name)

        task()
    """))
    out = subprocess.run([sys.executable, "app.py", "hydra.run.dir=out"], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "years 3 training_reform 42 app" in out.stdout


def test_importing_the_package_leaves_matplotlibs_backend_alone():
    out = _python("""
        import matplotlib
        def refuse(*a, **k):
            raise AssertionError("matplotlib.use called")
        matplotlib.use = refuse
        import sim, sim.model, sim.metrics, sim.compose, sim.cli, sim.ensemble, sim.provenance
        m = sim.CareerModel(scale=0.01, years=1).run()
        import sys
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
    """)
    assert out.returncode == 0, out.stderr
    assert "no pyplot" in out.stdout


def test_load_config_sees_an_edited_experiment_of_the_working_folder(tmp_path, monkeypatch):
    """Compositions are cached; the cache must not serve a user's experiment file from
    ./experiments after it was edited (it is found outside configs/)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CAREERSIM_EXPERIMENTS", raising=False)
    (tmp_path / "experiments").mkdir()
    path = tmp_path / "experiments" / "my_premium.yaml"
    path.write_text("# @package _global_\npolicy:\n  name: my_premium\n  returnee_premium: 0.1\n")
    assert load_config(["experiment=my_premium"]).policy.returnee_premium == pytest.approx(0.1)
    path.write_text("# @package _global_\npolicy:\n  name: my_premium\n  returnee_premium: 0.25\n")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert load_config(["experiment=my_premium"]).policy.returnee_premium == pytest.approx(0.25)
