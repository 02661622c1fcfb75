"""Mesa agents as thin views onto the model's arrays.

A :class:`Person` holds only its array position (``pid``); every state variable reads
from the model's :class:`~sim.population.Population`. Per-agent code therefore reads like
ordinary Mesa code while the yearly step runs as compiled loops over the arrays.

State variables cannot be assigned through an agent, nor new attributes added: an
assignment raises :class:`AttributeError` saying why, instead of setting a Python attribute the model would
never see. Moves between stages go through :meth:`~sim.model.CareerModel.move` (which keeps
the stocks and the event log), and the yearly rules keep precomputed terms of what is drawn
at set-up (the trait part of the elective and research rules, the next candidate year of the
intention rule, the year of exit), so a change to one person in mid-run would be applied
only in part.
"""

from __future__ import annotations

import mesa

from .population import ELECTIVE_PLACES, ELECTIVE_TYPES, FIELDS, NONE, ORIENTATIONS, SECTORS, STAGES, VISAS


def _read_only(name: str) -> str:
    if name in ("stage", "stage_name", "active"):
        how = ("moves between stages go through model.move(ids, stage, cause), which keeps the stock counts "
               "and the event log")
    else:
        how = ("the yearly rules keep precomputed terms of people's drawn traits and planned events, so a "
               "change to one person in mid-run would be applied only in part; change a parameter for everyone "
               "with sim.with_values(cfg, {...}) before building the model")
    return f"Person.{name} is read-only (a view of the model's arrays): {how}"


class Person(mesa.Agent):
    """A medical student or graduate of the origin country."""

    def __init__(self, model: mesa.Model, pid: int):
        super().__init__(model)
        self.pid = int(pid)

    def __getattr__(self, name: str):
        # only reached for names not set on the object: read the model's array
        if name in FIELDS:
            return getattr(self.model.pop, name)[self.pid].item()
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value) -> None:
        if name in FIELDS or name in _DERIVED:
            raise AttributeError(_read_only(name))
        if "pid" in self.__dict__ and name not in self.__dict__ and not hasattr(type(self), name):
            # set up (pid is set last): a new name would be a typo of a state variable, or data
            # the model never sees
            raise AttributeError(f"Person has no attribute {name!r} to set: an agent is a read-only view of the "
                                 "model's arrays, and takes no new attributes; keep data of your own in a "
                                 "dict keyed by person.pid")
        super().__setattr__(name, value)

    # readable names for coded state
    @property
    def stage_name(self) -> str:
        return STAGES[self.stage]

    @property
    def active(self) -> bool:
        return self.stage_name != "exited"

    @property
    def age(self) -> float:
        """Age now (years)."""
        return self.model.cfg.origin.entry_age + (self.model.year - self.cohort)

    @property
    def student_year(self) -> int | None:
        """Study year now, for a student (1 in the year of entry)."""
        return self.model.year - self.cohort + 1 if self.stage_name == "students" else None

    @property
    def family(self) -> dict:
        """Family now: a partner, dependent children, parents who need care (from the drawn ages)."""
        lp, age = self.model.cfg.params.life, self.age
        return {"partner": age >= self.partner_age,
                "dependent_children": self.child_age <= age < self.child_age + lp.children_dependent_years,
                "parents_need_care": self.care_age <= age < self.care_age + lp.parents_care_years}

    @property
    def intends_to_train_abroad(self) -> bool:
        return self.intending

    @property
    def orientation_name(self) -> str:
        return ORIENTATIONS[self.orientation]

    @property
    def elective(self) -> dict | None:
        """The first international elective, if any: type, destination, what it did."""
        if self.n_electives == 0:
            return None
        return {
            "count": self.n_electives,
            "type": ELECTIVE_TYPES[self.elective_type],
            "place": ELECTIVE_PLACES[self.elective_place],
            "role_model": self.role_model,
            "perspective_transformed": self.transformed,
        }

    @property
    def sector_name(self) -> str | None:
        return None if self.sector == NONE else SECTORS[self.sector]

    @property
    def visa_name(self) -> str:
        return VISAS[self.visa]

    def __repr__(self) -> str:
        return f"Person(pid={self.pid}, stage={self.stage_name})"


# computed from the state variables (properties): read-only too
_DERIVED = frozenset(name for name, value in vars(Person).items() if isinstance(value, property))
