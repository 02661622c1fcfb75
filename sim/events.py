"""The event log: one row per change of stage, collected in bulk per decision."""

from __future__ import annotations

import numpy as np

from .population import NONE

CAUSES = (
    "entry",
    "dropout",
    "graduation",
    "pathway_start",
    "gave_up",
    "matched",
    "training_completed",
    "visa_forced_return",
    "returned",
    "returned_during_training",
    "sector_switch",
    "home_training_completed",
    "death",
    "left_medicine",
    "retired",
    "left_origin",
    "re_emigrated",
)
CAUSE = {name: code for code, name in enumerate(CAUSES)}


class EventLog:
    """Chunks of (year, agent_id, from_stage, to_stage, cause) appended as whole arrays."""

    def __init__(self) -> None:
        # (year, ids, from_stage: array or scalar, to_stage, cause code); expanded on demand
        self._chunks: list[tuple] = []
        self.count = 0
        self.enabled = True  # off: nothing is logged (the model's spin-up)

    def log(self, year: int, ids: np.ndarray, from_stage, to_stage, cause) -> None:
        """Log ``ids`` moving in ``year``; ``from_stage`` and ``to_stage`` are stage codes and
        ``cause`` a cause name or an array of cause codes, each one for all or one per id."""
        n = len(ids)
        if n == 0 or not self.enabled:
            return
        self._chunks.append((year, ids, from_stage, to_stage, CAUSE[cause] if type(cause) is str else cause))
        self.count += n

    def arrays(self) -> dict[str, np.ndarray]:
        """All events as columns, in the order they happened."""
        names = ("year", "agent_id", "from_stage", "to_stage", "cause")
        if not self._chunks:
            dtypes = (np.int16, np.int64, np.int8, np.int8, np.int8)
            return {n: np.empty(0, d) for n, d in zip(names, dtypes)}
        sizes = np.array([len(c[1]) for c in self._chunks])

        def column(field: int) -> np.ndarray:  # one value per chunk or one per id
            return np.concatenate([np.broadcast_to(np.asarray(c[field], np.int8), (len(c[1]),))
                                   for c in self._chunks])

        return {
            "year": np.repeat(np.array([c[0] for c in self._chunks], np.int16), sizes),
            "agent_id": np.concatenate([c[1] for c in self._chunks]).astype(np.int64, copy=False),
            "from_stage": column(2),
            "to_stage": column(3),
            "cause": column(4),
        }


ENTRY_FROM = NONE  # from_stage code for entry events (no previous stage)
