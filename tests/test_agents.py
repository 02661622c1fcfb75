"""Mesa agents are thin views onto the model's arrays."""

import numpy as np

from sim.cli import load_config
from sim.model import CareerModel


def test_one_mesa_agent_per_person_reading_the_arrays():
    model = CareerModel(load_config(["scale=0.01", "years=8"]), materialize_agents=True)
    model.run()
    present = np.flatnonzero(model.pop.stage[: model.pop.n] != 9)  # everyone not exited
    assert len(model.agents) == len(present)
    ids = {a.pid for a in model.agents}
    assert ids == set(present.tolist())
    stages = np.array([a.stage for a in model.agents])
    pids = np.array([a.pid for a in model.agents])
    np.testing.assert_array_equal(stages, model.pop.stage[pids])
    p = model.person(0)
    assert p.age == model.cfg.origin.entry_age + model.year - model.pop.cohort[0]
    student = model.person(model.pop.n - 1)  # the last cohort entered this year
    assert student.stage_name == "students" and student.student_year == 1
    doctor = next(a for a in model.agents if a.stage_name == "home_practice" and a.age > 45)
    assert doctor.family["partner"] == (doctor.age >= doctor.partner_age)
    # Mesa's AgentSet API works on the views
    abroad = model.agents.select(lambda a: a.stage_name == "training_abroad")
    assert len(abroad) == int((model.pop.stage[: model.pop.n] == 4).sum())


def test_person_views_without_materialised_agents():
    model = CareerModel(load_config(["scale=0.01", "years=3"]), materialize_agents=False).run()
    assert len(model.agents) == 0
    assert model.person(5).stage_name in ("students", "home_training", "exited", "preparing_abroad")
