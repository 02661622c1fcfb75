"""Research engagement while a student (POP2024)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import STUDENT
from ..schema import _f, nonneg, prob, real
from . import Process


@dataclass
class ResearchParams:
    """Research engagement while a student (POP2024)."""

    start_years: list = _f(default=[])
    base_hazard: list = _f(default=[])
    b_motivation: float = real()
    b_time_barrier: float = real()
    b_pay_barrier: float = real()
    b_orientation_research: float = real()
    publication_given_research: float = prob()
    mentor_per_academic_returnee: float = nonneg()


class Research(Process):
    """Students not yet engaged seek a project each study year with projects and may find a mentor."""

    name = "research"

    def __init__(self, model) -> None:
        cfg = model.cfg
        p = cfg.params.research
        self.coef = kernels.coefficients(p)
        self.hazard_by_study_year = np.zeros(cfg.origin.school_years + 1)
        self.hazard_by_study_year[np.asarray(p.start_years, dtype=int)] = p.base_hazard

    def engage(self, model, year: int) -> int:
        pop, o = model.pop, model.cfg.origin
        sec = o.second_section
        # chance of finding a mentor by section: the section's base plus what returnees add
        extra = model.mentor_found - o.research_mentor_found
        mentor = np.array([model.mentor_found, min(1.0, sec.research_mentor_found + extra) if sec else 0.0])
        years = model.cfg.params.research.start_years  # only the study years with projects
        lo, hi = model.cohort_bounds(year - max(years) + 1, year - min(years) + 1)
        return research_engagement(
            lo, hi, year, pop.stage, pop.cohort, pop.research, pop.research_year, pop.motivation, pop.time_barrier,
            pop.pay_barrier, pop.orientation, pop.section, self.hazard_by_study_year, mentor,
            model.streams.key("research", year), model.streams.key("research", year, 1), self.coef, model.ref)

    def step(self, model) -> None:
        model.flow["research_started"] += self.engage(model, model.year)


@kernels.compiled
def seek_logit(hazard, ref):
    """Logit of the yearly hazard of seeking a research project for the reference person.

    ``hazard`` is the observed yearly hazard of engagement in a study year (``base_hazard``),
    which already includes failing to find a mentor at the reference rate; dividing by that
    rate gives the hazard of seeking one.
    """
    return kernels.logit(min(hazard / ref.mentor_found, 0.999))


@kernels.compiled
def research_interest_logit(p, ref, seek_logit, motivation, time_barrier, pay_barrier, research_oriented):
    """Yearly log-odds that a student seeks a research project, from the reference person's
    ``seek_logit`` in this study year. Motivation pushes; lack of time and no pay hold back."""
    x = (seek_logit
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_time_barrier * (time_barrier - ref.time_barrier)
         + p.b_pay_barrier * (pay_barrier - ref.pay_barrier)
         + p.b_orientation_research * research_oriented)
    return x


@kernels.compiled
def research_engagement(lo, hi, year, stage, cohort, research, research_year, motivation, time_barrier,
                        pay_barrier, orientation, section, hazard_by_study_year, mentor_found_by_section,
                        key_seek, key_found, coef, reference):
    """Students in ids ``lo..hi-1`` not yet engaged seek a project and may find a mentor.
    The study year of a student in ``year`` is ``year - cohort + 1``. Returns how many started."""
    p, ref = coef[0], reference[0]
    started = 0
    top = hazard_by_study_year.shape[0]
    seek = np.empty(top)
    for sy in range(top):
        seek[sy] = seek_logit(hazard_by_study_year[sy], ref)
    for i in range(lo, hi):
        if stage[i] != STUDENT or research[i]:
            continue
        sy = year - cohort[i] + 1
        if sy < 0 or sy >= top or hazard_by_study_year[sy] <= 0.0:
            continue
        x = research_interest_logit(p, ref, seek[sy], motivation[i], time_barrier[i], pay_barrier[i],
                                    orientation[i] == 1)
        if kernels.happens(kernels.uniform_at(key_seek, i), x) and \
                kernels.uniform_at(key_found, i) < mentor_found_by_section[section[i]]:
            research[i] = True
            research_year[i] = year
            started += 1
    return started
