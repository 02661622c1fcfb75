"""The capacity-limited match against the rest of the world's applicants, visas and departure
(IMGBLOG: "demanding and competitive"; ELECTIVES)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import NONE, PREPARING, TRAINING_ABROAD
from ..schema import _f, nonneg, prob, real
from . import Process, pathway


@dataclass
class MatchParams:
    """Scoring and retrying in the capacity-limited match (IMGBLOG, ELECTIVES)."""

    w_exam: float = real()
    w_destination_experience: float = real()
    w_research: float = real()
    w_letters: float = real()
    origin_offset: float = real()
    noise_sd: float = nonneg(100.0)
    max_rounds: int = _f(1, 20)
    retry_prob: float = prob()


class Match(Process):
    """Applicants with their exams passed enter the match; positions go to the highest scores
    among them and the world pool; the matched get a visa (or not) and leave to train."""

    name = "match"

    def __init__(self, model) -> None:
        cfg = model.cfg
        dest = cfg.destination
        self.coef = kernels.coefficients(cfg.params.match)
        self.returning = kernels.coefficients(cfg.params.returning)
        self.training_years = np.asarray(dest.training_years, dtype=np.int64)
        self.training_years_weights = np.asarray(dest.training_years_probs, dtype=float)
        self.positions = 0
        # the rest of the world's applicants, one pool a year (scores sorted for the match)
        self.world_pool = [np.sort(model.streams.generator("world_pool", y).normal(
            dest.world_pool_score_mean, dest.world_pool_score_sd, dest.world_pool_applicants))
            for y in range(1, cfg.years + 1)]

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, dest, pol = cfg.params.match, cfg.destination, cfg.policy
        ids = model.mobile_in(PREPARING)
        ids = ids[pop.exams_passed[ids] >= dest.exams_required]
        self.positions = positions = int(round(dest.img_positions * pol.img_positions_multiplier))
        if len(ids) == 0:
            return
        pop.rounds[ids] += 1
        first = pop.first_round_year[ids] == NONE
        pop.first_round_year[ids[first]] = year
        score = scores(ids, pop.exam_score, pop.hic_elective, pop.research, pop.role_model,
                       model.streams.normal("match", year, ids), self.coef)
        matched = run_match(score, self.world_pool[year - 1], positions)
        model.flow["applications"] += len(ids)
        model.flow["matches"] += int(matched.sum())
        m_ids = ids[matched]
        pop.matched_round[m_ids] = pop.rounds[m_ids]
        denied = model.uniform("visa", m_ids) < min(1.0, dest.visa_denial_prob * pol.visa_denial_multiplier)
        model.flow["visa_denied"] += int(denied.sum())
        self.depart(model, m_ids[~denied])
        # a refused visa loses the position: the person goes back to work at home
        # unmatched: retry next round, or give up
        stay = ids[~matched]
        retry = (model.uniform("match", stay, 1) < p.retry_prob) & (pop.rounds[stay] < p.max_rounds)
        pathway.give_up(model, np.concatenate([stay[~retry], m_ids[denied]]))

    def depart(self, model, ids: np.ndarray) -> None:
        pop, dest, year = model.pop, model.cfg.destination, model.year
        if len(ids) == 0:
            return
        key = model.streams.key
        departures(ids, year, self.training_years, self.training_years_weights, dest.j1_share, pop.role_model,
                   pop.abroad_start, pop.training_end, pop.visa, pop.wish_improve, key("training", year),
                   key("visa", year, 1), key("training", year, 1), self.returning)
        model.network.mark("abroad", ids)
        model.move(ids, TRAINING_ABROAD, "matched")
        model.flow["departures"] += len(ids)


@kernels.compiled
def match_score(p, exam_score, destination_experience, research, letters, noise):
    """Applicant score: exam results, clinical experience in the destination, research, letters."""
    return (p.origin_offset + p.w_exam * exam_score + p.w_destination_experience * destination_experience
            + p.w_research * research + p.w_letters * letters + p.noise_sd * noise)


def run_match(origin_scores: np.ndarray, world_sorted: np.ndarray, positions: int) -> np.ndarray:
    """Positions go to the highest scores among origin applicants and the world pool.

    ``world_sorted`` holds the world pool's scores in ascending order. An origin applicant
    is matched when fewer than ``positions`` applicants (origin or world) score higher:
    the same as taking the top ``positions`` of the pooled scores, without sorting the pool.
    """
    m = len(origin_scores)
    if positions <= 0 or m == 0:
        return np.zeros(m, dtype=bool)
    order = np.argsort(-origin_scores, kind="stable")
    higher_world = len(world_sorted) - np.searchsorted(world_sorted, origin_scores[order], side="right")
    matched = np.empty(m, dtype=bool)
    matched[order] = np.arange(m) + higher_world < positions
    return matched


@kernels.compiled
def scores(ids, exam_score, hic_elective, research, role_model, noise, coef):
    p = coef[0]
    out = np.empty(ids.shape[0], np.float64)
    for j in range(ids.shape[0]):
        i = ids[j]
        out[j] = match_score(p, exam_score[i], hic_elective[i], research[i], role_model[i], noise[j])
    return out


@kernels.compiled
def departures(ids, year, training_years, training_years_probs, j1_share, role_model, abroad_start, training_end,
               visa, wish_improve, key_duration, key_visa, key_wish, coef):
    """People leaving to train abroad: the programme's length (drawn from the destination's
    distribution), the visa (J-1 or H-1B) and whether they wish to improve training at home."""
    p = coef[0]
    total = training_years_probs.sum()
    for j in range(ids.shape[0]):
        i = ids[j]
        u = kernels.uniform_at(key_duration, i) * total
        c = 0
        cum = training_years_probs[0]
        while c < training_years.shape[0] - 1 and u >= cum:
            c += 1
            cum += training_years_probs[c]
        abroad_start[i] = year
        training_end[i] = year + training_years[c]
        visa[i] = 1 if kernels.uniform_at(key_visa, i) < j1_share else 2
        wish_p = p.wish_improve_given_role_model if role_model[i] else p.wish_improve_base
        wish_improve[i] = kernels.uniform_at(key_wish, i) < wish_p
