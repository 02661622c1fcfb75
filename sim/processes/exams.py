"""Licensing exams abroad (IMGBLOG: the USMLE steps for ECFMG certification), and the
clinical experience in the destination some gain while preparing (observerships)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import PREPARING
from ..schema import MAX_USD, _f, nonneg, prob, real
from . import Process, intention


@dataclass
class ExamParams:
    """Passing the licensing exams (IMGBLOG)."""

    b_standing: float = real()
    b_english: float = real()
    score_noise_sd: float = nonneg(100.0)
    give_up_after_fail: float = prob()
    give_up_cost_scale_usd: float = _f(1.0, MAX_USD)  # at least one dollar
    max_prep_years: int = _f(1, 20)


class Exams(Process):
    """People preparing who still need exams sit one a year; a failure may end the attempt,
    and so does a long one. Everyone preparing may gain clinical experience in the
    destination (an observership)."""

    name = "exams"

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.exams)

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, dest = cfg.params.exams, cfg.destination
        preparing = model.mobile_in(PREPARING)
        observe = preparing[model.uniform("observership", preparing) < cfg.params.pathway.observership_annual]
        pop.observership[observe] = True
        ids = preparing[pop.exams_passed[preparing] < dest.exams_required]
        if len(ids) == 0:
            return
        passed = results(ids, pop.standing, pop.english, dest.exam_pass_prob, model.streams.key("exams", year),
                         self.coef, model.ref)
        who = ids[passed]
        pop.exams_passed[who] += 1
        # score of the exam taken: standing as a standard-normal score plus exam-day noise;
        # the steps' scores are averaged
        z = kernels.norm_ppfs(pop.standing[who].astype(np.float64))
        score = z + p.score_noise_sd * model.streams.normal("exams", year, who, 1)
        n_passed = pop.exams_passed[who]
        pop.exam_score[who] = pop.exam_score[who] + (score - pop.exam_score[who]) / n_passed  # running mean
        model.flow["exams_passed"] += len(who)
        failed = ids[~passed]
        quits = give_ups(failed, pop.resources, dest.exam_cost_usd, model.streams.key("exams", year, 2), self.coef)
        too_long = (year - pop.attempt_since[failed]) >= p.max_prep_years
        intention.give_up(model, failed[quits | too_long])


@kernels.compiled
def pass_logit(p, ref, logit_base, standing, english):
    """One exam step: ``logit_base`` is the logit of the destination's pass rate for the reference person."""
    return logit_base + p.b_standing * (standing - 0.5) + p.b_english * (english - ref.english)


@kernels.compiled
def give_up_prob(p, exam_cost, resources):
    """After a failed exam: give up, more so when the cost weighs on thin resources."""
    return min(1.0, p.give_up_after_fail * (1.0 + exam_cost / p.give_up_cost_scale_usd * (1.0 - resources)))


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


@kernels.compiled
def passers_exam_score(pass_prob, b_standing, steps, noise_sd):
    """Mean and standard deviation of the exam score of those who pass ``steps`` steps,
    among takers whose standing is uniform (the score is the standard-normal score of
    standing plus exam-day noise averaged over the steps; English at the reference).

    This puts the rest of the world's applicants on the origin's scale: they are takers who
    passed the same exams under the same rule (see :mod:`sim.processes.match`)."""
    grid = 2001
    total = mean = second = 0.0
    base = kernels.logit(pass_prob)
    for k in range(grid):
        z = -6.0 + 12.0 * k / (grid - 1)
        density = math.exp(-0.5 * z * z)
        weight = density * kernels.expit(base + b_standing * (kernels.norm_cdf(z) - 0.5)) ** steps
        total += weight
        mean += weight * z
        second += weight * z * z
    mean /= total
    var = second / total - mean * mean + noise_sd * noise_sd / steps
    return mean, math.sqrt(max(var, 0.0))



