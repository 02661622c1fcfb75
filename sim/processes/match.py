"""The capacity-limited match against the rest of the world's applicants, visas and
departure (IMGBLOG: "demanding and competitive"; ELECTIVES).

**One score scale.** Every applicant, from the origin or from the rest of the world, is
scored the same way: ``w_exam`` times the exam score, plus ``w_clinical_experience`` if
they have clinical experience in the destination, ``w_research`` if they have research,
``w_letters`` if they have letters from destination physicians, plus interview noise. An
origin applicant's exam score is their own (``sim.processes.exams``) plus the origin's
``exam_score_offset``; their clinical experience is an elective in the destination or an
observership while preparing; research is research engagement as a student; letters come
from a role model met on an elective in the destination. The rest of the world's
applicants passed the same exams under the same rule (their exam score is that of
passers, :func:`sim.processes.exams.passers_exam_score`) and have clinical experience,
research and letters in the destination's shares (``destination.world_pool_*``).

**Scaled with the run.** Positions and the world pool are the destination's numbers times
``scale`` (the share of the origin's intake simulated), so competition, and every share,
does not depend on ``scale`` beyond noise.

**Drawn, not stored.** The world pool's scores follow a known distribution (a mixture of
normals over the three binary features), so the match needs only how many of them score
above each origin applicant: with the origin's scores sorted, the counts between
consecutive scores are one multinomial draw. Positions go to the highest scores: an
origin applicant is matched when fewer than the positions score higher, origin or world.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import NO_YEAR, PREPARING, TRAINING_ABROAD
from ..schema import _f, nonneg, prob, real
from . import Process, exams, intention


@dataclass
class MatchParams:
    """Scoring and retrying in the capacity-limited match (IMGBLOG, ELECTIVES)."""

    w_exam: float = real()
    w_clinical_experience: float = real()
    w_research: float = real()
    w_letters: float = real()
    noise_sd: float = nonneg(100.0)
    max_rounds: int = _f(1, 20)
    retry_prob: float = prob()


class Match(Process):
    """Applicants with their exams passed enter the match; the matched get a visa (or not)
    and leave to train."""

    name = "match"
    STREAMS = {"key": "match", "key_visa": "visa", "key_training": "training"}

    def __init__(self, model) -> None:
        cfg = model.cfg
        dest, p = cfg.destination, cfg.params.match
        self.coef = kernels.coefficients(p)
        self.returning = kernels.coefficients(cfg.params.returning)
        self.training_years = np.asarray(dest.training_years, dtype=np.int64)
        self.training_years_weights = np.asarray(dest.training_years_probs, dtype=float)
        self.positions = 0
        self.world = int(round(dest.world_pool_applicants * cfg.scale))
        ex = cfg.params.exams
        mean, sd = exams.passers_exam_score(dest.exam_pass_prob, ex.b_standing, dest.exams_required,
                                            ex.score_noise_sd)
        # the world pool's score: a mixture of normals, one per combination of the three features
        shares = (dest.world_pool_clinical_experience_share, dest.world_pool_research_share,
                  dest.world_pool_letters_share)
        weights = (p.w_clinical_experience, p.w_research, p.w_letters)
        combos = np.array([[(c >> b) & 1 for b in range(3)] for c in range(8)], dtype=float)
        self.world_weights = np.prod(np.where(combos == 1, shares, 1 - np.array(shares)), axis=1)
        self.world_means = p.w_exam * mean + combos @ np.array(weights)
        self.world_sd = math.sqrt((p.w_exam * sd) ** 2 + p.noise_sd ** 2)
        self.use_streams(model.streams)

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, dest, pol = cfg.params.match, cfg.destination, model.policy
        self.positions = positions = int(round(dest.img_positions * pol.img_positions_multiplier * cfg.scale))
        ids, score = applicants(model.mobile, year, pop.stage, pop.exams_passed, dest.exams_required, pop.rounds,
                                pop.first_round_year, pop.exam_score, cfg.origin.exam_score_offset,
                                pop.destination_elective, pop.observership, pop.research, pop.role_model, self.key,
                                self.coef)
        if len(ids) == 0:
            return
        matched = self.run(score, positions, model.streams.generator("world_pool", year))
        model.flow["applications"] += len(ids)
        # a refused visa loses the position: the person goes back to work at home;
        # the unmatched retry next round, or give up
        leaving, giving_up, n_matched, n_denied = outcomes(
            ids, matched, year, pop.rounds, pop.matched_round,
            min(1.0, dest.visa_denial_prob * pol.visa_denial_multiplier), p.retry_prob, p.max_rounds,
            self.key_visa, self.key)
        model.flow["matches"] += n_matched
        model.flow["visa_denied"] += n_denied
        self.depart(model, leaving)
        intention.give_up(model, giving_up)

    def run(self, origin_scores: np.ndarray, positions: int, rng: np.random.Generator) -> np.ndarray:
        """Which origin applicants win a position against the world pool (see the module's docstring)."""
        m = len(origin_scores)
        if positions <= 0 or m == 0:
            return np.zeros(m, dtype=bool)
        order = np.argsort(-origin_scores, kind="stable")
        pvals = bin_probabilities(origin_scores, order, self.world_weights, self.world_means, self.world_sd)
        counts = rng.multinomial(self.world, pvals / max(pvals.sum(), 1e-300))
        return matched_against(order, counts, positions)

    def depart(self, model, ids: np.ndarray) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        if len(ids) == 0:
            return
        departures(ids, year, self.training_years, self.training_years_weights, cfg.destination.j1_share,
                   pop.role_model, pop.satisfaction_offset, model.quality, pop.abroad_start, pop.abroad_since,
                   pop.spells, pop.training_end, pop.visa, pop.wish_improve, self.key_training, self.key_visa,
                   self.returning, model.ref)
        model.move(ids, TRAINING_ABROAD, "matched")
        model.network.mark("abroad", ids)
        model.flow["departures"] += len(ids)


@kernels.compiled
def match_score(p, exam_score, clinical_experience, research, letters, noise):
    """Applicant score on the one scale of the match."""
    return (p.w_exam * exam_score + p.w_clinical_experience * clinical_experience + p.w_research * research
            + p.w_letters * letters + p.noise_sd * noise)


@kernels.compiled
def applicants(mobile, year, stage, exams_passed, required, rounds, first_round_year, exam_score, exam_offset,
               destination_elective, observership, research, role_model, base, coef):
    """Those preparing (in ``mobile``) with every exam passed enter a round (counted); returns
    them, in order, and their scores."""
    p = coef[0]
    key = kernels.stream_key(base, year, 0)
    ids = np.empty(mobile.shape[0], np.int64)
    out = np.empty(mobile.shape[0], np.float64)
    n = 0
    for j in range(mobile.shape[0]):
        i = mobile[j]
        if stage[i] != PREPARING or exams_passed[i] < required:
            continue
        rounds[i] += 1
        if first_round_year[i] == NO_YEAR:
            first_round_year[i] = year
        experience = destination_elective[i] or observership[i]
        letters = role_model[i] and destination_elective[i]
        noise = kernels.norm_ppf(kernels.uniform_at(key, i))
        ids[n] = i
        out[n] = match_score(p, exam_score[i] + exam_offset, experience, research[i], letters, noise)
        n += 1
    return ids[:n], out[:n]


@kernels.compiled
def outcomes(ids, matched, year, rounds, matched_round, refusal, retry_prob, max_rounds, base_visa, base):
    """After the round: the matched are refused a visa with ``refusal`` (and give up) or
    leave; the unmatched retry with ``retry_prob`` up to ``max_rounds``, else give up.
    Returns (leaving, giving up: the unmatched first, then the refused; matches; refusals)."""
    key_visa, key_retry = kernels.stream_key(base_visa, year, 0), kernels.stream_key(base, year, 1)
    m = ids.shape[0]
    leaving = np.empty(m, np.int64)
    refused = np.empty(m, np.int64)
    giving_up = np.empty(m, np.int64)
    nl = nr = ng = 0
    for j in range(m):
        i = ids[j]
        if matched[j]:
            matched_round[i] = rounds[i]
            if kernels.uniform_at(key_visa, i) < refusal:
                refused[nr] = i
                nr += 1
            else:
                leaving[nl] = i
                nl += 1
        elif not (kernels.uniform_at(key_retry, i) < retry_prob and rounds[i] < max_rounds):
            giving_up[ng] = i
            ng += 1
    giving_up[ng:ng + nr] = refused[:nr]
    return leaving[:nl], giving_up[:ng + nr], nl + nr, nr


@kernels.compiled
def bin_probabilities(scores, order, weights, means, sd):
    """The world pool's probabilities of the bins (inf, s1], (s1, s2], ..., (s_m, -inf) between
    the origin's scores ``s1 >= s2 >= ...`` (``scores[order]``), from the top down, each at
    least 0 (not yet normalised)."""
    m = order.shape[0]
    upper = 1.0 - world_cdf(scores[order], weights, means, sd)
    out = np.empty(m + 1, np.float64)
    previous = 0.0
    for j in range(m):
        out[j] = max(upper[j] - previous, 0.0)
        previous = upper[j]
    out[m] = max(1.0 - previous, 0.0)
    return out


@kernels.compiled
def matched_against(order, counts, positions):
    """Whether each origin applicant (``order``: best first) is matched, given how many of the
    world pool fall in each bin above them (``counts``): fewer than ``positions`` score higher."""
    m = order.shape[0]
    matched = np.empty(m, np.bool_)
    above = 0
    for j in range(m):
        above += counts[j]
        matched[order[j]] = j + above < positions
    return matched


@kernels.compiled
def world_cdf(s, weights, means, sd):
    """The world pool's score distribution function at each of ``s``."""
    out = np.empty(s.shape[0], np.float64)
    for j in range(s.shape[0]):
        total = 0.0
        for c in range(weights.shape[0]):
            total += weights[c] * kernels.norm_cdf((s[j] - means[c]) / sd)
        out[j] = total
    return out


@kernels.compiled
def wish_improve_logit(p, ref, dissatisfaction, role_model):
    """Log-odds that someone leaving to train wishes to improve training at home: it grows out
    of their own dissatisfaction with it (HEIST2018) and a role model met (SON2021)."""
    return (p.logit_wish_improve_base + p.b_wish_dissatisfaction * (dissatisfaction - (1.0 - ref.training_quality))
            + p.b_wish_role_model * role_model)


@kernels.compiled
def departures(ids, year, training_years, training_years_probs, j1_share, role_model, offset, quality,
               abroad_start, abroad_since, spells, training_end, visa, wish_improve, base_training, base_visa,
               coef, reference):
    """People leaving to train abroad: the programme's length (drawn from the destination's
    distribution), the visa (J-1 or H-1B) and whether they wish to improve training at home."""
    p, ref = coef[0], reference[0]
    key_duration, key_wish = kernels.stream_key(base_training, year, 0), kernels.stream_key(base_training, year, 1)
    key_visa = kernels.stream_key(base_visa, year, 1)
    total = training_years_probs.sum()
    for j in range(ids.shape[0]):
        i = ids[j]
        u = kernels.uniform_at(key_duration, i) * total
        c = 0
        cum = training_years_probs[0]
        while c < training_years.shape[0] - 1 and u >= cum:
            c += 1
            cum += training_years_probs[c]
        if abroad_start[i] == NO_YEAR:
            abroad_start[i] = year
        abroad_since[i] = year
        spells[i] += 1
        training_end[i] = year + training_years[c]
        visa[i] = 1 if kernels.uniform_at(key_visa, i) < j1_share else 2
        dissatisfaction = 1.0 - min(max(quality + offset[i], 0.0), 1.0)
        wish_improve[i] = kernels.happens(kernels.uniform_at(key_wish, i),
                                          wish_improve_logit(p, ref, dissatisfaction, role_model[i]))
