"""The processes of a simulated year, one module each.

Every module holds one process (or two that share their rules): its parameter schema (a
group of ``configs/params``), its rules for one person, the compiled loops that apply
them, and its yearly :meth:`Process.step`. The model lists the processes in the order
they run once (``sim.model.PROCESSES``).
"""

from __future__ import annotations

import copy

import numpy as np


class Process:
    """One part of the yearly step.

    ``on_draw(model, lo, hi)`` is called at set-up, after people the run will hold (ids
    ``lo..hi-1``) are reserved, for what can be drawn in advance: once for everyone, or (a
    run from a base population, see :class:`sim.model.BasePopulation`) once for the base
    cohorts and once for the later ones. ``step(model)`` runs the process for the current
    year. A process keeps its own state on itself and reaches the others through the model;
    it holds no reference to the model. ``STREAMS`` names the random streams whose base keys
    it keeps (attribute -> stream name), set by :meth:`use_streams`.
    """

    name = ""
    STREAMS: dict[str, str] = {}

    def __init__(self, model) -> None:
        self.use_streams(model.streams)

    def use_streams(self, streams) -> None:
        """Take the base keys of :data:`STREAMS` from ``streams`` (a :class:`sim.streams.Streams`)."""
        for attribute, stream in self.STREAMS.items():
            setattr(self, attribute, streams.base(stream))

    def take_state(self, base: "Process") -> None:
        """Continue from ``base``, the same process of a spun-up base population: its state,
        arrays copied (``base`` stays as it is, for the next run that starts from it)."""
        for attribute, value in vars(base).items():
            setattr(self, attribute, self._state_copy(attribute, value, base))

    def _state_copy(self, attribute: str, value, base: "Process"):
        """A copy of ``base``'s ``attribute`` (its value ``value``) for :meth:`take_state`."""
        return value.copy() if isinstance(value, np.ndarray) else copy.copy(value)

    def on_draw(self, model, lo: int, hi: int) -> None:
        pass

    def step(self, model) -> None:
        raise NotImplementedError


from . import (abroad, electives, exams, feedback, intention, life, match, research, returnees,  # noqa: E402
               school)

__all__ = ["Process", "abroad", "electives", "exams", "feedback", "intention", "life", "match", "research",
           "returnees", "school"]
