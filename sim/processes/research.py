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
    STREAMS = {"key": "research"}

    def __init__(self, model) -> None:
        cfg = model.cfg
        p = cfg.params.research
        self.coef = kernels.coefficients(p)
        self.hazard_by_study_year = np.zeros(cfg.origin.school_years + 1)
        self.hazard_by_study_year[np.asarray(p.start_years, dtype=int)] = p.base_hazard
        self.use_streams(model.streams)
        self.traits = np.empty(0, np.float32)

    def on_draw(self, model, lo: int, hi: int) -> None:
        """The part of everyone's seek rule that their traits fix (an approximation used only
        to skip those who surely do not seek; see :func:`research_engagement`)."""
        pop = model.pop
        self.traits = kernels.grown(self.traits, hi)  # those drawn before (a base population) kept
        trait_terms(lo, hi, pop.motivation, pop.time_barrier, pop.pay_barrier, pop.orientation, self.traits,
                    self.coef, model.ref)

    def engage(self, model, year: int) -> int:
        pop, o = model.pop, model.cfg.origin
        sec = o.second_section
        # chance of finding a mentor by section: the section's base plus what returnees add
        extra = model.mentor_found - o.research_mentor_found
        mentor = np.array([model.mentor_found, min(1.0, sec.research_mentor_found + extra) if sec else 0.0])
        return research_engagement(
            year, model.first_cohort, model.intake, pop.n, pop.stage, pop.research, pop.research_year,
            pop.motivation, pop.time_barrier, pop.pay_barrier, pop.orientation, pop.section, self.traits,
            self.hazard_by_study_year, mentor, self.key, self.coef, model.ref)

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
def trait_terms(lo, hi, motivation, time_barrier, pay_barrier, orientation, out, coef, reference):
    """:func:`research_interest_logit` less its ``seek_logit``, for ids ``lo..hi-1``, in single precision."""
    p, ref = coef[0], reference[0]
    for i in range(lo, hi):
        out[i] = research_interest_logit(p, ref, 0.0, motivation[i], time_barrier[i], pay_barrier[i],
                                         orientation[i] == 1)


@kernels.compiled
def research_engagement(year, first_cohort, intake, n, stage, research, research_year, motivation, time_barrier,
                        pay_barrier, orientation, section, traits, hazard_by_study_year, mentor_found_by_section,
                        base, coef, reference):
    """Students not yet engaged, in the cohorts now in a study year with projects, seek a
    project and may find a mentor (the study year of cohort c in ``year`` is ``year - c + 1``).
    Returns how many started.

    Most students do not seek in a given year: :func:`sim.kernels.surely_not` settles them
    from ``traits`` (the trait terms of the rule, stored in single precision, so within
    1e-6 of the exact sum) and their uniform; the rule is evaluated exactly for the others,
    so the outcome is the rule's."""
    p, ref = coef[0], reference[0]
    key_seek = kernels.stream_key(base, year, 0)
    key_found = kernels.stream_key(base, year, 1)
    started = 0
    top = hazard_by_study_year.shape[0]
    for sy in range(1, top):
        if hazard_by_study_year[sy] <= 0.0:
            continue
        c = year - sy + 1
        lo = max((c - first_cohort) * intake, 0)
        hi = min((c - first_cohort + 1) * intake, n)
        seek = seek_logit(hazard_by_study_year[sy], ref)
        for i in range(lo, hi):
            t = traits[i]
            if kernels.surely_not(kernels.uniform_at(key_seek, i), seek + t, 1e-6 * (1.0 + abs(t))):
                continue
            if stage[i] != STUDENT or research[i]:
                continue
            x = research_interest_logit(p, ref, seek, motivation[i], time_barrier[i], pay_barrier[i],
                                        orientation[i] == 1)
            if kernels.happens(kernels.uniform_at(key_seek, i), x) and \
                    kernels.uniform_at(key_found, i) < mentor_found_by_section[section[i]]:
                research[i] = True
                research_year[i] = year
                started += 1
    return started
