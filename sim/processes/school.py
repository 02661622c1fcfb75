"""Medical school and home training: entry, graduation, completing home training."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..population import HOME_PRACTICE, HOME_TRAINING, STUDENT
from . import Process, pathway


class Entry(Process):
    """This year's cohort (drawn at set-up) enters medical school."""

    name = "entry"

    def step(self, model) -> None:
        model.admit(cohort=model.year)


class Graduation(Process):
    """Final-year students graduate into home training; the others move up a study year;
    graduates whose home training ends this year move on to home practice."""

    name = "graduation"

    def step(self, model) -> None:
        pop, o, year = model.pop, model.cfg.origin, model.year
        lo, hi = model.cohort_bounds(year - o.school_years + 1, year)  # cohorts now in school
        path = model.processes["pathway"]
        done = graduation(
            lo, hi, year, o.school_years, o.home_training_years, pop.stage, pop.student_year, pop.research,
            pop.publication, pop.grad_year, pop.home_training_end, pop.pathway_logit, pop.hic_elective,
            pop.role_model, pop.transformed, pop.english, pop.motivation, pop.family_home, pop.resources,
            pop.research_tilt, pop.intl_health, model.cfg.params.research.publication_given_research, o.income_gap,
            model.streams.key("publication", year), path.coef, model.ref)
        model.move(done, HOME_TRAINING, "graduation")
        model.flow["graduates"] += len(done)
        # graduates of the last home_training_years (+1) years; the year's graduates included
        lo, hi = model.cohort_bounds(year - o.school_years - o.home_training_years, year - o.school_years + 1)
        done = training_done(lo, hi, pop.stage, pop.home_training_end, year)
        model.move(done, HOME_PRACTICE, "home_training_completed")


@kernels.compiled
def graduation(lo, hi, year, school_years, home_training_years, stage, student_year, research, publication,
               grad_year, home_training_end, pathway_logit, hic_elective, role_model, transformed, english,
               motivation, family_home, resources, research_tilt, intl_health, publication_given_research,
               income_gap, key_pub, coef, reference):
    """Final-year students graduate (publication, the fixed part of the pathway decision);
    the others move up a study year. Returns the graduates."""
    p, ref = coef[0], reference[0]
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        if stage[i] != STUDENT:
            continue
        if student_year[i] < school_years:
            student_year[i] += 1
            continue
        publication[i] = research[i] and kernels.uniform_at(key_pub, i) < publication_given_research
        grad_year[i] = year
        home_training_end[i] = year + home_training_years
        pathway_logit[i] = pathway.pathway_fixed_logit(p, ref, income_gap, hic_elective[i], role_model[i],
                                                       transformed[i], english[i], motivation[i], family_home[i],
                                                       resources[i], research[i], research_tilt[i],
                                                       intl_health[i])
        out[n] = i
        n += 1
    return out[:n]


@kernels.compiled
def training_done(lo, hi, stage, home_training_end, year):
    """Ids in ``lo..hi-1`` in home training whose training ends by ``year``."""
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        if stage[i] == HOME_TRAINING and home_training_end[i] <= year:
            out[n] = i
            n += 1
    return out[:n]
