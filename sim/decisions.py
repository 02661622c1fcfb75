"""The decisions: each rule stated once, for one person, as a compiled scalar function.

A rule takes its coefficients (``p``, one group of ``configs/params`` as a record made by
:func:`sim.kernels.coefficients`, where each probability ``x`` also comes as ``logit_x``),
the reference person ``ref`` and one person's attributes, and returns the log-odds of the
event (or, for the few rules that are not logistic, its probability); :func:`happens` turns
log-odds and the person's uniform into the outcome. The model applies a rule to everyone who faces
the decision in one compiled loop (:mod:`sim.kernels`), drawing each person's uniform in
the same pass. Rules can also be called from Python with plain numbers.

Covariates are centred on a fixed reference person (``params.reference``), so a ``base``
probability is the probability for that person, whatever origin is simulated.

The few steps that rank people against each other (slots, scholarships, the match) are
whole-array functions at the end of this module.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def expit(x: float) -> float:
    """The logistic function, without overflow for large ``|x|``."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@njit(cache=True)
def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)
    return math.log(p / (1.0 - p))


_BINS = 64
# log-odds of the lower edge of each of _BINS equal bins of [0, 1)
_LOGIT_FLOOR = np.array([-np.inf] + [math.log(b / (_BINS - b)) for b in range(1, _BINS)])


@njit(cache=True)
def happens(u: float, x: float) -> bool:
    """Whether an event with log-odds ``x`` happens to a person whose uniform is ``u``: ``u < expit(x)``.

    Most events in a year are unlikely, so a table is tried first: if ``x`` is below the
    log-odds of the lower edge of ``u``'s bin, then ``expit(x) < u`` and no exponential is needed.
    """
    if x < _LOGIT_FLOOR[int(u * _BINS)]:
        return False
    return u < expit(x)


# --- 1. research engagement while a student (POP2024) ------------------------------------

@njit(cache=True)
def seek_logit(hazard, ref):
    """Logit of the yearly hazard of seeking a research project for the reference person.

    ``hazard`` is the observed yearly hazard of engagement in a study year (``base_hazard``),
    which already includes failing to find a mentor at the reference rate; dividing by that
    rate gives the hazard of seeking one.
    """
    return logit(min(hazard / ref.mentor_found, 0.999))


@njit(cache=True)
def research_interest_logit(p, ref, seek_logit, motivation, time_barrier, pay_barrier, research_oriented):
    """Yearly log-odds that a student seeks a research project, from the reference person's
    ``seek_logit`` in this study year. Motivation pushes; lack of time and no pay hold back."""
    x = (seek_logit
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_time_barrier * (time_barrier - ref.time_barrier)
         + p.b_pay_barrier * (pay_barrier - ref.pay_barrier)
         + p.b_orientation_research * research_oriented)
    return x


# --- 2. applying for an international elective (SON2021, ELECTIVES) ---------------------

@njit(cache=True)
def elective_apply_logit(p, ref, motivation, english, standing, resources, family_home, peer_share):
    x = (p.logit_apply_base
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_english * (english - ref.english)
         + p.b_standing * (standing - 0.5)
         + p.b_resources * (resources - ref.resources)
         + p.b_family * (family_home - ref.family_ties_home)
         + p.b_peers * peer_share)
    return x


@njit(cache=True)
def elective_prefers_hic_logit(p, ref, english):
    return p.logit_prefer_hic + p.b_hic_english * (english - ref.english)


@njit(cache=True)
def elective_research_logit(p, research_engaged):
    return p.logit_research_type_base + p.b_research_type_engaged * research_engaged


@njit(cache=True)
def afford_logit(p, funds, cost):
    """Whether an accepted student can pay: smooth in funds minus cost."""
    return (funds - cost) / p.afford_scale_usd


# --- 4. starting the pathway abroad (HEIST2018, IMGBLOG) --------------------------------

@njit(cache=True)
def pathway_fixed_logit(p, ref, income_gap, hic_elective, role_model, transformed, english, motivation,
                        family_home, resources, research, research_tilt, intl_health):
    """The part of the pathway decision fixed at graduation (traits, electives, research, income gap)."""
    return (p.logit_base_annual
            + p.b_hic_elective * hic_elective
            + p.b_role_model * role_model
            + p.b_transformed * transformed
            + p.b_english * (english - ref.english)
            + p.b_motivation * (motivation - ref.motivation)
            + p.b_family_home * (family_home - ref.family_ties_home)
            + p.b_resources * (resources - ref.resources)
            + p.b_income_gap * (income_gap - ref.income_gap)
            + p.b_research * research
            + p.b_research_tilt * research_tilt
            + p.b_intl_health * intl_health)


@njit(cache=True)
def pathway_start_logit(p, ref, emigration_culture, fixed_logit, dissatisfaction, peer_abroad):
    """Yearly log-odds of starting the pathway: the fixed part plus what changes each year,
    dissatisfaction with home training (HEIST2018) and peers and alumni abroad."""
    x = (fixed_logit
         + p.b_dissatisfaction * (dissatisfaction - (1.0 - ref.training_quality))
         + p.b_peers_abroad * emigration_culture * peer_abroad)
    return x


@njit(cache=True)
def exam_pass_logit(p, ref, logit_base, standing, english):
    """One exam step: ``logit_base`` is the logit of the destination's pass rate for the reference person."""
    return logit_base + p.exam_b_standing * (standing - 0.5) + p.exam_b_english * (english - ref.english)


@njit(cache=True)
def exam_give_up_prob(p, exam_cost, resources):
    """After a failed exam: give up, more so when the cost weighs on thin resources."""
    return min(1.0, p.exam_give_up_after_fail * (1.0 + exam_cost / p.exam_give_up_cost_scale_usd
                                                 * (1.0 - resources)))


# --- the match: competition for a fixed number of positions ------------------------------

@njit(cache=True)
def match_score(p, exam_score, destination_experience, research, letters, noise):
    """Applicant score: exam results, clinical experience in the destination, research, letters."""
    return (p.origin_offset + p.w_exam * exam_score + p.w_destination_experience * destination_experience
            + p.w_research * research + p.w_letters * letters + p.noise_sd * noise)


# --- 5. stay or return (NEWMAN2025, HEIST2018) ------------------------------------------

@njit(cache=True)
def return_logit(p, ref, family_home, years_abroad, wish_improve, years_since_training, income_gap_eff,
                reintegration_eff, at_training_end):
    family_abroad = 1.0 - math.exp(-years_abroad / p.family_abroad_tau_years)
    x = (p.logit_base_annual
         + p.end_of_training_bump * at_training_end
         + p.b_family_home * (family_home - ref.family_ties_home)
         + p.b_family_abroad * family_abroad
         + p.b_wish_improve * wish_improve
         + p.b_income_gap * (income_gap_eff - ref.income_gap)
         + p.b_reintegration * (reintegration_eff - ref.reintegration_difficulty)
         + p.b_years_abroad * years_since_training)
    return x


# --- 6. after return (NEWMAN2025) --------------------------------------------------------

@njit(cache=True)
def sector_choice(p, public_system_satisfaction, research, wish_improve, research_tilt, policy_oriented, u):
    """Sector on return (0 public, 1 private, 2 academic), multinomial logit, from one uniform.
    Disillusionment with the state system pushes private."""
    v0 = p.b_public_policy_orientation * policy_oriented
    v1 = p.private_base + p.b_private_disillusion * (1.0 - public_system_satisfaction)
    v2 = (p.academic_base + p.b_academic_research * research + p.b_academic_wish_improve * wish_improve
          + p.b_academic_research_tilt * research_tilt)
    top = max(v0, v1, v2)
    e0, e1, e2 = math.exp(v0 - top), math.exp(v1 - top), math.exp(v2 - top)
    total = e0 + e1 + e2
    if u < e0 / total:
        return 0
    if u < (e0 + e1) / total:
        return 1
    return 2


@njit(cache=True)
def knowledge_transfer_prob(p, knowledge_absorption, sector, reintegration_support):
    if sector == 0:
        mult = p.kt_mult_public
    elif sector == 1:
        mult = p.kt_mult_private
    else:
        mult = p.kt_mult_academic
    return min(max(knowledge_absorption * mult + p.kt_reintegration_support_gain * reintegration_support, 0.0), 1.0)


# --- ranking steps over whole arrays -----------------------------------------------------

def allocate_slots(priority: np.ndarray, slots: int) -> np.ndarray:
    """Accept the ``slots`` applicants with the highest host priority (all if fewer)."""
    accepted = np.zeros(len(priority), dtype=bool)
    if slots <= 0 or len(priority) == 0:
        return accepted
    if len(priority) <= slots:
        accepted[:] = True
        return accepted
    accepted[np.argpartition(-priority, slots - 1)[:slots]] = True
    return accepted


def award_scholarships(standing: np.ndarray, n_awards: int) -> np.ndarray:
    """Scholarships go to the top grades among accepted students (SON2021)."""
    return allocate_slots(standing, n_awards)


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
