"""Agent state as a structure of arrays owned by the model.

Every person is a position in these arrays: ids are array positions, assigned in order of
entry, never reused. People who leave are flagged (stage ``exited``), not deleted.
Arrays are allocated up front with the run's full capacity (entrants are known in
advance) and grow by doubling only if a caller asks for more.
"""

from __future__ import annotations

import numpy as np

STAGES = (
    "students",
    "home_training",
    "home_practice",
    "preparing_abroad",
    "training_abroad",
    "practising_abroad",
    "returned_public",
    "returned_private",
    "returned_academic",
    "exited",
)
STAGE = {name: code for code, name in enumerate(STAGES)}
STUDENT, HOME_TRAINING, HOME_PRACTICE, PREPARING, TRAINING_ABROAD, PRACTISING_ABROAD, \
    RETURNED_PUBLIC, RETURNED_PRIVATE, RETURNED_ACADEMIC, EXITED = range(len(STAGES))
RETURNED = (RETURNED_PUBLIC, RETURNED_PRIVATE, RETURNED_ACADEMIC)
SECTORS = ("public", "private", "academic")

ORIENTATIONS = ("clinical", "research", "policy")
ELECTIVE_TYPES = ("clinical", "research")
# where an elective was taken: in the destination country itself, in another high-income
# country, or in a low/middle-income country
ELECTIVE_PLACES = ("destination", "other_hic", "lmic")
ELECTIVE_DESTINATIONS = ("hic", "lmic")   # the contract's grouping: destination and other_hic are hic
VISAS = ("none", "j1", "h1b")

NONE = -1  # "none" for categorical codes (elective type and place, sector)
NO_YEAR = -32768  # "not yet" for year fields (spin-up years are 0 and below, so -1 is a year)

DRAWN = None  # fill value of fields that set-up draws for everyone (allocated, not filled)

# What the yearly rules of those on the pathway, abroad or back read of a person that never
# changes after the draw, one record per person in ``model.mobile`` (``model.mobile_fixed``):
# those people are scattered over the population, so one record beside the list replaces
# a cache miss per field.
MOBILE_FIXED = np.dtype([("cohort", np.int16), ("home_ties", np.float32), ("partner_age", np.float32),
                         ("child_age", np.float32), ("care_age", np.float32), ("retire_age", np.float32)], align=True)

# name -> (dtype, fill value). Years are simulation years (t, see sim.model); ages are
# years of age. Everything a person will ever be is drawn when the run is set up.
FIELDS: dict[str, tuple[type, object]] = {
    # life course
    "stage": (np.int8, EXITED),
    "stage_since": (np.int16, NO_YEAR),
    "cohort": (np.int16, DRAWN),
    "female": (np.bool_, DRAWN),
    "section": (np.int8, DRAWN),
    "retire_age": (np.float32, DRAWN),       # age at which the person retires (if alive and in medicine)
    "partner_age": (np.float32, DRAWN),    # age at which a partnership forms
    "child_age": (np.float32, DRAWN),      # age at the first child's birth
    "care_age": (np.float32, DRAWN),       # age from which ageing parents at home need care
    "exit_year": (np.int16, NO_YEAR),
    "exit_cause": (np.int8, NONE),         # event-log cause code of the exit
    # traits drawn at entry
    "motivation": (np.float32, DRAWN),
    "english": (np.float32, DRAWN),
    "standing": (np.float32, DRAWN),
    "resources": (np.float32, DRAWN),
    "home_ties": (np.float32, DRAWN),
    "satisfaction_offset": (np.float32, DRAWN),
    "orientation": (np.int8, DRAWN),
    "time_barrier": (np.bool_, DRAWN),
    "pay_barrier": (np.bool_, DRAWN),
    # research while a student
    "research": (np.bool_, False),
    "research_year": (np.int16, NO_YEAR),
    "publication": (np.bool_, False),
    # electives
    "n_electives": (np.int8, 0),
    "elective_type": (np.int8, NONE),
    "elective_place": (np.int8, NONE),
    "hic_elective": (np.bool_, False),
    "destination_elective": (np.bool_, False),
    "role_model": (np.bool_, False),
    "transformed": (np.bool_, False),
    "research_tilt": (np.bool_, False),
    "intl_health": (np.bool_, False),
    # graduation, intention and the pathway abroad
    "grad_year": (np.int16, NO_YEAR),
    "intention_year": (np.int16, NO_YEAR),    # first year the person intended to train abroad
    "intending": (np.bool_, False),        # intends now (and has not acted on it yet)
    "intention_since": (np.int16, NO_YEAR),
    "pathway_year": (np.int16, NO_YEAR),      # first start of the pathway (exams)
    "attempt_since": (np.int16, NO_YEAR),     # start of the current attempt
    "attempts": (np.int8, 0),
    "observership": (np.bool_, False),     # clinical experience in the destination gained while preparing
    "exams_passed": (np.int8, 0),
    "exam_score": (np.float32, 0.0),
    "rounds": (np.int8, 0),
    "first_round_year": (np.int16, NO_YEAR),
    "matched_round": (np.int8, NONE),
    # abroad
    "abroad_start": (np.int16, NO_YEAR),      # first departure to train abroad
    "abroad_since": (np.int16, NO_YEAR),      # start of the current (or last) spell abroad
    "spells": (np.int8, 0),
    "training_end": (np.int16, NO_YEAR),
    "training_done_year": (np.int16, NO_YEAR),
    "visa": (np.int8, 0),
    "waiver": (np.bool_, False),
    "wish_improve": (np.bool_, False),
    # return, and after
    "first_return_year": (np.int16, NO_YEAR),
    "return_year": (np.int16, NO_YEAR),       # the last return
    "sector": (np.int8, NONE),
    "kt": (np.bool_, False),
    "forced": (np.bool_, False),           # the last return was forced by a visa rule
    "reemigration_year": (np.int16, NO_YEAR),
}


def _allocate(n: int, dtype, fill) -> np.ndarray:
    """An array of ``n`` ``fill`` values (unset for ``DRAWN``). Zeros come from memory the
    system hands out already zeroed, so the pages of fields that stay mostly unset (most of
    them: few people ever do research or go abroad) are never written."""
    if fill is DRAWN:
        return np.empty(n, dtype=dtype)
    if fill == 0:
        return np.zeros(n, dtype=dtype)
    return np.full(n, fill, dtype=dtype)


class Population:
    """Per-attribute numpy arrays; ``n`` positions are in use, the rest is spare capacity."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.n = 0          # people who have entered: ids 0..n-1
        self.drawn = 0      # people whose attributes are drawn (future entrants included)
        for name, (dtype, fill) in FIELDS.items():
            setattr(self, name, _allocate(self.capacity, dtype, fill))

    @classmethod
    def continued(cls, base: "Population", spare: "Population | None" = None) -> "Population":
        """A population that begins as ``base`` is now: its drawn people copied (ids
        ``0..base.drawn-1``, ``base.n`` of them entered), the same capacity, the rest unset
        (``base`` is left as it is). ``spare``: a population no longer used, of the same
        capacity, whose arrays are written over (memory in use is quicker to write than new
        memory); it must not be used again."""
        pop = cls.__new__(cls)
        pop.capacity, pop.n, pop.drawn = base.capacity, base.n, base.drawn
        if spare is not None and spare.capacity != base.capacity:
            spare = None
        m = base.drawn
        for name, (dtype, fill) in FIELDS.items():
            array = getattr(spare, name) if spare is not None else np.empty(pop.capacity, dtype=dtype)
            array[:m] = getattr(base, name)[:m]
            if fill is not DRAWN:
                array[m:] = fill
            setattr(pop, name, array)
        return pop

    def reserve(self, k: int) -> np.ndarray:
        """The next ``k`` ids, for people drawn now who enter later (see :meth:`admit`)."""
        if self.drawn + k > self.capacity:
            self._grow(max(self.drawn + k, 2 * self.capacity))
        ids = np.arange(self.drawn, self.drawn + k, dtype=np.int64)
        self.drawn += k
        return ids

    def admit(self, k: int) -> np.ndarray:
        """Let the next ``k`` drawn people enter; returns their ids."""
        if self.n + k > self.drawn:
            raise ValueError("admitting people who were never drawn")
        ids = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        return ids

    def add(self, k: int) -> np.ndarray:
        """Draw and admit ``k`` new people at once."""
        self.reserve(k)
        return self.admit(k)

    def _grow(self, capacity: int) -> None:
        for name, (dtype, fill) in FIELDS.items():
            old = getattr(self, name)
            new = np.full(capacity, 0 if fill is DRAWN else fill, dtype=dtype)
            new[: self.drawn] = old[: self.drawn]
            setattr(self, name, new)
        self.capacity = capacity

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in FIELDS)
