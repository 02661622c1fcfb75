"""Feedback on the home country: training quality and research mentoring (HEIST2018, MODEL).

Training quality follows the current stock of academic returnees whose knowledge transfer
took hold, weighted by how current their knowledge still is (it halves every
``knowledge_half_life_years`` after return), per 1,000 doctors at home; it rises toward
its ceiling with that density and with investment (``policy.training_quality_investment``),
and depreciates toward its baseline at ``depreciation_annual`` a year without renewal:

    q <- q + gain * density * (q_max - q) - depreciation * (q - q_base) + investment

kept within [q_base, q_max]. When returnees stop coming, quality falls back toward the
baseline. The chance that a student who seeks a research project finds a mentor rises
with the number of academic returnees per student (``params.research.mentor_per_academic_returnee``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


from .. import kernels
from ..population import HOME_PRACTICE, HOME_TRAINING, PREPARING, RETURNED, RETURNED_ACADEMIC, STUDENT
from ..schema import nonneg, positive, prob
from . import Process


@dataclass
class FeedbackParams:
    """Returnees in academic posts raise home training quality, which depreciates without
    renewal (HEIST2018)."""

    quality_gain_per_returnee_density: float = nonneg()
    density_per_doctors: float = positive()
    depreciation_annual: float = prob()
    knowledge_half_life_years: float = positive(200.0)


class Feedback(Process):
    """Training quality and the chance of finding a research mentor, after the year's moves."""

    name = "feedback"

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        o, fb = cfg.origin, cfg.params.feedback
        stocks = model.stocks
        n_academic, current = current_knowledge(model.mobile, year, pop.stage, pop.kt, pop.return_year,
                                                math.log(2.0) / fb.knowledge_half_life_years)
        home_doctors = int(sum(stocks[s] for s in (HOME_TRAINING, HOME_PRACTICE, PREPARING, *RETURNED)))
        density = current / max(home_doctors, 1) * fb.density_per_doctors
        q = model.quality
        q = (q + fb.quality_gain_per_returnee_density * density * (o.training_quality_max - q)
             - fb.depreciation_annual * (q - o.training_quality_baseline)
             + model.policy.training_quality_investment)
        model.quality = min(max(q, o.training_quality_baseline), o.training_quality_max)
        model.academic_knowledge = current
        students = max(int(stocks[STUDENT]), 1)
        model.mentor_found = min(1.0, o.research_mentor_found
                                 + cfg.params.research.mentor_per_academic_returnee * n_academic / students)


@kernels.compiled
def current_knowledge(mobile, year, stage, kt, return_year, decay):
    """The academic returnees (in ``mobile``), and the sum over those whose knowledge
    transfer took hold of ``exp(-decay * years since return)``."""
    total = 0.0
    n = 0
    for j in range(mobile.shape[0]):
        i = mobile[j]
        if stage[i] != RETURNED_ACADEMIC:
            continue
        n += 1
        if kt[i]:
            total += math.exp(-decay * (year - return_year[i]))
    return n, total



