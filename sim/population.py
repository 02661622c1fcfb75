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
ELECTIVE_DESTINATIONS = ("hic", "lmic")
VISAS = ("none", "j1", "h1b")

NONE = -1  # "not yet" for year fields and categorical codes

# name -> (dtype, fill value)
FIELDS: dict[str, tuple[type, object]] = {
    # life course
    "stage": (np.int8, EXITED),
    "stage_since": (np.int16, NONE),
    "cohort": (np.int16, NONE),
    "student_year": (np.int8, 0),
    "entry_age": (np.float32, 0.0),
    "female": (np.bool_, False),
    "section": (np.int8, 0),
    # traits drawn at entry
    "motivation": (np.float32, 0.0),
    "english": (np.float32, 0.0),
    "standing": (np.float32, 0.0),
    "resources": (np.float32, 0.0),
    "family_home": (np.float32, 0.0),
    "satisfaction_offset": (np.float32, 0.0),
    "orientation": (np.int8, 0),
    "time_barrier": (np.bool_, False),
    "pay_barrier": (np.bool_, False),
    # research while a student
    "research": (np.bool_, False),
    "research_year": (np.int16, NONE),
    "publication": (np.bool_, False),
    # electives
    "n_electives": (np.int8, 0),
    "elective_type": (np.int8, NONE),
    "elective_dest": (np.int8, NONE),
    "hic_elective": (np.bool_, False),
    "role_model": (np.bool_, False),
    "transformed": (np.bool_, False),
    "research_tilt": (np.bool_, False),
    "intl_health": (np.bool_, False),
    # graduation and the pathway abroad
    "grad_year": (np.int16, NONE),
    "pathway_logit": (np.float32, 0.0),
    "home_training_end": (np.int16, NONE),
    "pathway_year": (np.int16, NONE),
    "exams_passed": (np.int8, 0),
    "exam_score": (np.float32, 0.0),
    "rounds": (np.int8, 0),
    "first_round_year": (np.int16, NONE),
    "matched_round": (np.int8, NONE),
    # abroad
    "abroad_start": (np.int16, NONE),
    "training_end": (np.int16, NONE),
    "training_done_year": (np.int16, NONE),
    "visa": (np.int8, 0),
    "waiver": (np.bool_, False),
    "wish_improve": (np.bool_, False),
    # return
    "return_year": (np.int16, NONE),
    "sector": (np.int8, NONE),
    "kt": (np.bool_, False),
    "exit_year": (np.int16, NONE),
}


class Population:
    """Per-attribute numpy arrays; ``n`` positions are in use, the rest is spare capacity."""

    def __init__(self, capacity: int):
        self.capacity = max(int(capacity), 1)
        self.n = 0          # people who have entered: ids 0..n-1
        self.drawn = 0      # people whose attributes are drawn (future entrants included)
        for name, (dtype, fill) in FIELDS.items():
            setattr(self, name, np.full(self.capacity, fill, dtype=dtype))

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
            new = np.full(capacity, fill, dtype=dtype)
            new[: self.drawn] = old[: self.drawn]
            setattr(self, name, new)
        self.capacity = capacity

    def nbytes(self) -> int:
        return sum(getattr(self, name).nbytes for name in FIELDS)
