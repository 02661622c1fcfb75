"""Everyone leaves the model once. Romania's international graduates who leave the origin at
graduation (`left_origin`) are out for good: their drawn death or retirement, later, must not
move them again, rewrite their exit or count as a second exit."""

from __future__ import annotations

import numpy as np

from conftest import run
from sim.events import CAUSE
from sim.model import FLOWS
from sim.population import EXITED


def test_people_who_left_the_origin_exit_once():
    model, summary, _, events = run("origin=romania", "scale=0.05", "years=30")
    pop, n = model.pop, model.pop.n
    exited_in = pop.exit_year[:n] >= 1
    # every exit in the horizon counted once, under the cause that took the person out
    assert model.flow_records[:, FLOWS.index("exits")].sum() == np.count_nonzero(exited_in)
    assert not (events["from_stage"].astype(str) == "exited").any()
    left = np.count_nonzero(exited_in & (pop.exit_cause[:n] == CAUSE["left_origin"]))
    assert left == (events["cause"].astype(str) == "left_origin").sum() > 0
    assert summary["retirements_total"] == (events["cause"].astype(str) == "retired").sum()
    assert summary["deaths_total"] == (events["cause"].astype(str) == "death").sum()
    assert (pop.stage[:n][exited_in] == EXITED).all()
