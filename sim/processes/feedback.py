"""Feedback: returnees in academic posts raise home training quality and mentor students
(HEIST2018, MODEL)."""

from __future__ import annotations

from dataclasses import dataclass

from ..population import HOME_PRACTICE, HOME_TRAINING, PREPARING, RETURNED, RETURNED_ACADEMIC, STUDENT
from ..schema import nonneg, positive
from . import Process


@dataclass
class FeedbackParams:
    """Returnees in academic posts raise home training quality (HEIST2018)."""

    quality_gain_per_returnee_density: float = nonneg()
    density_per_doctors: float = positive()


class Feedback(Process):
    """Training quality rises with the density of academic returnees who transfer knowledge;
    the chance of finding a research mentor with the number of academic returnees."""

    name = "feedback"

    def step(self, model) -> None:
        pop, cfg = model.pop, model.cfg
        o, fb, pol = cfg.origin, cfg.params.feedback, cfg.policy
        stocks = model.stocks
        academic = model.mobile_in(RETURNED_ACADEMIC)
        academic_kt = int(pop.kt[academic].sum())
        home_doctors = int(stocks[[HOME_TRAINING, HOME_PRACTICE, PREPARING, *RETURNED]].sum())
        density = academic_kt / max(home_doctors, 1) * fb.density_per_doctors
        gap = o.training_quality_max - model.quality
        model.quality = min(o.training_quality_max,
                            model.quality + fb.quality_gain_per_returnee_density * density * gap
                            + pol.training_quality_investment)
        students = max(int(stocks[STUDENT]), 1)
        model.mentor_found = min(1.0, o.research_mentor_found
                                 + cfg.params.research.mentor_per_academic_returnee * len(academic) / students)
