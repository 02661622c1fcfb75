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
)
CAUSE = {name: code for code, name in enumerate(CAUSES)}


class EventLog:
    """Chunks of (year, agent_id, from_stage, to_stage, cause) appended as whole arrays."""

    def __init__(self) -> None:
        self._chunks: list[tuple[np.ndarray, ...]] = []
        self.count = 0

    def log(self, year: int, ids: np.ndarray, from_stage, to_stage, cause: str) -> None:
        k = len(ids)
        if k == 0:
            return
        frm = np.broadcast_to(np.asarray(from_stage, dtype=np.int8), (k,))
        to = np.broadcast_to(np.asarray(to_stage, dtype=np.int8), (k,))
        self._chunks.append((np.full(k, year, np.int16), np.asarray(ids, np.int64), frm.copy(), to.copy(),
                             np.full(k, CAUSE[cause], np.int8)))
        self.count += k

    def arrays(self) -> dict[str, np.ndarray]:
        """All events as columns, in the order they happened."""
        names = ("year", "agent_id", "from_stage", "to_stage", "cause")
        if not self._chunks:
            dtypes = (np.int16, np.int64, np.int8, np.int8, np.int8)
            return {n: np.empty(0, d) for n, d in zip(names, dtypes)}
        cols = [np.concatenate(c) for c in zip(*self._chunks)]
        self._chunks = [tuple(cols)]
        return dict(zip(names, cols))


ENTRY_FROM = NONE  # from_stage code for entry events (no previous stage)
