"""Leaving the model: student dropout, leaving medicine, death and retirement."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..events import CAUSE
from ..population import EXITED
from ..schema import _f, nonneg, prob
from . import Process


@dataclass
class ExitParams:
    """Leaving the model: dropout, leaving medicine, death, retirement."""

    student_dropout_annual: float = prob()
    leave_medicine_annual: float = prob()
    mortality_gompertz_a: float = nonneg(1.0)
    mortality_gompertz_b: float = nonneg(1.0)
    retirement_age: float = _f(40, 100)


class Exits(Process):
    """Exits are drawn at set-up (they depend only on age and on being a student) and
    happen in their year."""

    name = "exits"
    CAUSES = ("death", "retired", "dropout", "left_medicine")
    CODES = np.array([CAUSE[name] for name in CAUSES], np.int8)

    def __init__(self, model) -> None:
        self.schedule: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}

    def on_cohort(self, model, ids, cohort: int) -> None:
        """Draw the year and cause each person will leave the model (if within the horizon).

        A person is exposed from the first year after entry (the initial school from year 1);
        one uniform per person and year (stream ``exit``).
        """
        p, o = model.cfg.params.exit, model.cfg.origin
        years = np.arange(max(cohort + 1, 1), model.cfg.years + 1)
        if len(ids) == 0 or len(years) == 0:
            return
        age = (model.pop.entry_age[ids][None, :] + (years - cohort)[:, None]).astype(np.float64)
        student = (years <= cohort + o.school_years - 1)[:, None]
        death = np.minimum(p.mortality_gompertz_a * np.exp(p.mortality_gompertz_b * age), 1.0)
        other = np.where(student, p.student_dropout_annual, p.leave_medicine_annual)
        retire = ~student & (age >= p.retirement_age)
        u = model.streams.uniform_grid("exit", years, ids)
        dies = u < death
        leaves = dies | retire | (u < death + other * (1 - death))
        has_exit = leaves.any(axis=0)
        first = leaves.argmax(axis=0)[has_exit]
        cols = np.flatnonzero(has_exit)
        cause = self.CODES[np.where(dies[first, cols], 0, np.where(retire[first, cols], 1,
                                                                    np.where(student[first, 0], 2, 3)))]
        exit_years = years[first]
        order = np.argsort(exit_years, kind="stable")
        ys, starts = np.unique(exit_years[order], return_index=True)
        for y, chunk in zip(ys, np.split(order, starts[1:])):
            self.schedule.setdefault(int(y), []).append((ids[cols[chunk]], cause[chunk]))

    def step(self, model) -> None:
        scheduled = self.schedule.pop(model.year, [])
        if not scheduled:
            return
        ids = np.concatenate([c[0] for c in scheduled])
        cause = np.concatenate([c[1] for c in scheduled])
        model.move(ids, EXITED, cause)
        model.pop.exit_year[ids] = model.year
        model.flow["exits"] += len(ids)
