"""The processes of a simulated year, one module each.

Every module holds one process (or two that share their rules): its parameter schema
(``Params``, a group of ``configs/params``), its rules for one person, the compiled loops
that apply them, and its yearly :meth:`Process.step`. The model lists the processes in
the order they run once (``sim.model.PROCESSES``).
"""

from __future__ import annotations


class Process:
    """One part of the yearly step.

    ``step(model)`` runs it for the current year. ``on_cohort(model, ids, cohort)`` is
    called at set-up for every cohort drawn (before the first step), for what can be
    decided in advance. A process keeps its own state on itself and reaches the others
    through the model; it holds no reference to the model.
    """

    name = ""

    def __init__(self, model) -> None:
        pass

    def on_cohort(self, model, ids, cohort: int) -> None:
        pass

    def step(self, model) -> None:
        raise NotImplementedError


from . import (abroad, electives, exams, exits, feedback, match, pathway, research,  # noqa: E402
               returnees, school)

__all__ = ["Process", "abroad", "electives", "exams", "exits", "feedback", "match", "pathway", "research",
           "returnees", "school"]
