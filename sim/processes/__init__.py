"""The processes of a simulated year, one module each.

Every module holds one process (or two that share their rules): its parameter schema (a
group of ``configs/params``), its rules for one person, the compiled loops that apply
them, and its yearly :meth:`Process.step`. The model lists the processes in the order
they run once (``sim.model.PROCESSES``).
"""

from __future__ import annotations


class Process:
    """One part of the yearly step.

    ``on_draw(model, lo, hi)`` is called once at set-up, after everyone the run will hold
    (ids ``lo..hi-1``) is reserved, for what can be drawn in advance. ``step(model)`` runs
    the process for the current year. A process keeps its own state on itself and reaches
    the others through the model; it holds no reference to the model.
    """

    name = ""

    def __init__(self, model) -> None:
        pass

    def on_draw(self, model, lo: int, hi: int) -> None:
        pass

    def step(self, model) -> None:
        raise NotImplementedError


from . import (abroad, electives, exams, feedback, intention, life, match, research, returnees,  # noqa: E402
               school)

__all__ = ["Process", "abroad", "electives", "exams", "feedback", "intention", "life", "match", "research",
           "returnees", "school"]
