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
    STREAMS = {"key": "exams", "key_observership": "observership"}

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.exams)
        self.use_streams(model.streams)

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, dest = cfg.params.exams, cfg.destination
        passed, quits = sit_exams(
            model.mobile, year, pop.stage, pop.observership, pop.exams_passed, pop.exam_score, pop.standing,
            pop.english, pop.resources, pop.attempt_since, dest.exams_required, cfg.params.pathway.observership_annual,
            dest.exam_pass_prob, dest.exam_cost_usd, p.max_prep_years, self.key_observership, self.key, self.coef,
            model.ref)
        model.flow["exams_passed"] += passed
        intention.give_up(model, quits)


@kernels.compiled
def pass_logit(p, ref, logit_base, standing, english):
    """One exam step: ``logit_base`` is the logit of the destination's pass rate for the reference person."""
    return logit_base + p.b_standing * (standing - 0.5) + p.b_english * (english - ref.english)


@kernels.compiled
def give_up_prob(p, exam_cost, resources):
    """After a failed exam: give up, more so when the cost weighs on thin resources."""
    return min(1.0, p.give_up_after_fail * (1.0 + exam_cost / p.give_up_cost_scale_usd * (1.0 - resources)))


@kernels.compiled
def sit_exams(mobile, year, stage, observership, exams_passed, exam_score, standing, english, resources,
              attempt_since, required, observership_annual, pass_prob, exam_cost, max_prep_years, base_observership,
              base, coef, reference):
    """Everyone preparing (in ``mobile``) may gain an observership; those with exams
    outstanding sit one: a pass adds its score (the standard-normal score of standing plus
    exam-day noise) to their running mean; after a failure they give up with
    :func:`give_up_prob`, or because the attempt has lasted ``max_prep_years``. Returns
    (exams passed, those who give up, in order)."""
    p, ref = coef[0], reference[0]
    key_observe = kernels.stream_key(base_observership, year, 0)
    key_pass, key_noise, key_quit = (kernels.stream_key(base, year, 0), kernels.stream_key(base, year, 1),
                                     kernels.stream_key(base, year, 2))
    logit_base = kernels.logit(pass_prob)
    quits = np.empty(mobile.shape[0], np.int64)
    n_quit = passed = 0
    for j in range(mobile.shape[0]):
        i = mobile[j]
        if stage[i] != PREPARING:
            continue
        if kernels.uniform_at(key_observe, i) < observership_annual:
            observership[i] = True
        if exams_passed[i] >= required:
            continue
        if kernels.happens(kernels.uniform_at(key_pass, i), pass_logit(p, ref, logit_base, standing[i], english[i])):
            exams_passed[i] += 1
            # the step's score: standing as a standard-normal score plus exam-day noise; steps averaged
            score = (kernels.norm_ppf(np.float64(standing[i]))
                     + p.score_noise_sd * kernels.norm_ppf(kernels.uniform_at(key_noise, i)))
            mean = exam_score[i]
            exam_score[i] = mean + (score - mean) / exams_passed[i]
            passed += 1
        elif (kernels.uniform_at(key_quit, i) < give_up_prob(p, exam_cost, resources[i])
              or year - attempt_since[i] >= max_prep_years):
            quits[n_quit] = i
            n_quit += 1
    return passed, quits[:n_quit]


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



