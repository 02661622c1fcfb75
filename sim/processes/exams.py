"""Licensing exams abroad (IMGBLOG: USMLE steps for ECFMG certification)."""

from __future__ import annotations

import numpy as np

from .. import kernels
from ..population import PREPARING
from . import Process, pathway


class Exams(Process):
    """People preparing who still need exams sit one a year; a failure may end the attempt."""

    name = "exams"

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, dest = cfg.params.abroad, cfg.destination
        coef = model.processes["pathway"].coef
        ids = model.mobile_in(PREPARING)
        ids = ids[pop.exams_passed[ids] < dest.exams_required]
        if len(ids) == 0:
            return
        passed = results(ids, pop.standing, pop.english, dest.exam_pass_prob, model.streams.key("exams", year),
                         coef, model.ref)
        who = ids[passed]
        pop.exams_passed[who] += 1
        # score of the exam taken: standing plus exam-day noise; the steps' scores are averaged
        z = model.streams.ndtri(np.clip(pop.standing[who], 1e-6, 1 - 1e-6))  # standing as a standard-normal score
        score = z + p.exam_score_noise_sd * model.streams.normal("exams", year, who, 1)
        n_passed = pop.exams_passed[who]
        pop.exam_score[who] = pop.exam_score[who] + (score - pop.exam_score[who]) / n_passed  # running mean
        model.flow["exams_passed"] += len(who)
        failed = ids[~passed]
        quits = give_ups(failed, pop.resources, dest.exam_cost_usd, model.streams.key("exams", year, 2), coef)
        too_long = (year - pop.pathway_year[failed]) >= p.max_prep_years
        pathway.give_up(model, failed[quits | too_long])


@kernels.compiled
def pass_logit(p, ref, logit_base, standing, english):
    """One exam step: ``logit_base`` is the logit of the destination's pass rate for the reference person."""
    return logit_base + p.exam_b_standing * (standing - 0.5) + p.exam_b_english * (english - ref.english)


@kernels.compiled
def give_up_prob(p, exam_cost, resources):
    """After a failed exam: give up, more so when the cost weighs on thin resources."""
    return min(1.0, p.exam_give_up_after_fail * (1.0 + exam_cost / p.exam_give_up_cost_scale_usd
                                                 * (1.0 - resources)))


@kernels.compiled
def results(ids, standing, english, pass_prob, key, coef, reference):
    p, ref = coef[0], reference[0]
    passed = np.empty(ids.shape[0], np.bool_)
    logit_base = kernels.logit(pass_prob)
    for j in range(ids.shape[0]):
        i = ids[j]
        passed[j] = kernels.happens(kernels.uniform_at(key, i), pass_logit(p, ref, logit_base, standing[i],
                                                                           english[i]))
    return passed


@kernels.compiled
def give_ups(ids, resources, exam_cost, key, coef):
    p = coef[0]
    quits = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        quits[j] = kernels.uniform_at(key, i) < give_up_prob(p, exam_cost, resources[i])
    return quits
