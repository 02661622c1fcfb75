"""The decisions, each one vectorised function over the people who face it.

Every function takes arrays for the eligible people and the uniforms drawn for them, and
returns what they chose. Coefficients come from ``configs/params`` (with their sources);
covariates are centred on a fixed reference person (``params.reference``), so a ``base``
probability is the probability for that person, whatever origin is simulated.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit

from .config import (AbroadParams, ElectiveEffectParams, ElectiveParams, MatchParams, OriginConfig,
                     ReferencePerson, ResearchParams, ReturnParams, SectorParams)


def _logit(p: float | np.ndarray) -> np.ndarray:
    return logit(np.clip(p, 1e-9, 1 - 1e-9))


# --- 1. research engagement while a student (POP2024) ------------------------------------

def research_interest_prob(p: ResearchParams, ref: ReferencePerson, student_year: np.ndarray,
                           motivation: np.ndarray, time_barrier: np.ndarray, pay_barrier: np.ndarray,
                           research_oriented: np.ndarray) -> np.ndarray:
    """Yearly probability that a student seeks a research project.

    ``base_hazard`` is the observed yearly hazard of engagement, which already includes
    failing to find a mentor at the reference rate; dividing by that rate gives
    the hazard of seeking one. Motivation pushes; lack of time and no pay hold back.
    """
    by_year = np.zeros(max(p.start_years) + 2)
    by_year[np.asarray(p.start_years)] = p.base_hazard
    hazard = by_year[np.minimum(student_year, len(by_year) - 1)]
    seek = np.minimum(hazard / ref.mentor_found, 0.999)
    x = (_logit(seek)
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_time_barrier * (time_barrier - ref.time_barrier)
         + p.b_pay_barrier * (pay_barrier - ref.pay_barrier)
         + p.b_orientation_research * research_oriented)
    return np.where(hazard > 0, expit(x), 0.0)


# --- 2. applying for an international elective (SON2021, ELECTIVES) ---------------------

def elective_apply_prob(p: ElectiveParams, ref: ReferencePerson, motivation, english, standing, resources,
                        family_home, peer_share) -> np.ndarray:
    x = (_logit(p.apply_base)
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_english * (english - ref.english)
         + p.b_standing * (standing - 0.5)
         + p.b_resources * (resources - ref.resources)
         + p.b_family * (family_home - ref.family_ties_home)
         + p.b_peers * peer_share)
    return expit(x)


def elective_prefers_hic_prob(p: ElectiveParams, ref: ReferencePerson, english) -> np.ndarray:
    return expit(_logit(p.prefer_hic) + p.b_hic_english * (english - ref.english))


def elective_research_prob(p: ElectiveParams, research_engaged) -> np.ndarray:
    return expit(_logit(p.research_type_base) + p.b_research_type_engaged * research_engaged)


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


def afford_prob(p: ElectiveParams, funds, cost) -> np.ndarray:
    """Probability an accepted student can pay: smooth in funds minus cost."""
    return expit((funds - cost) / p.afford_scale_usd)


def elective_effects(p: ElectiveEffectParams, is_research, is_lmic, u_role, u_trans, u_tilt, u_intl):
    """Role model met, perspective transformed, research and international-health tilts."""
    role = u_role < p.role_model
    trans = u_trans < p.perspective_transformed
    tilt = is_research & (u_tilt < p.research_tilt_given_research)
    intl = is_lmic & (u_intl < p.intl_health_given_lmic)
    return role, trans, tilt, intl


# --- 4. starting the pathway abroad (HEIST2018, IMGBLOG) --------------------------------

def pathway_fixed_logit(p: AbroadParams, o: OriginConfig, ref: ReferencePerson, hic_elective, role_model,
                        transformed, english, motivation, family_home, resources, research, research_tilt,
                        intl_health) -> np.ndarray:
    """The part of the pathway decision fixed at graduation (traits, electives, research, income gap)."""
    x = (_logit(p.base_annual)
         + p.b_hic_elective * hic_elective
         + p.b_role_model * role_model
         + p.b_transformed * transformed
         + p.b_english * (english - ref.english)
         + p.b_motivation * (motivation - ref.motivation)
         + p.b_family_home * (family_home - ref.family_ties_home)
         + p.b_resources * (resources - ref.resources)
         + p.b_income_gap * (o.income_gap - ref.income_gap)
         + p.b_research * research
         + p.b_research_tilt * research_tilt
         + p.b_intl_health * intl_health)
    return x.astype(np.float32)


def pathway_start_prob(p: AbroadParams, o: OriginConfig, ref: ReferencePerson, fixed_logit, dissatisfaction,
                       peer_abroad) -> np.ndarray:
    """Yearly probability of starting the pathway: the fixed part plus what changes each year,
    dissatisfaction with home training (HEIST2018) and peers and alumni abroad."""
    x = (fixed_logit
         + p.b_dissatisfaction * (dissatisfaction - (1 - ref.training_quality))
         + p.b_peers_abroad * o.emigration_culture * peer_abroad)
    return expit(x)


def exam_pass_prob(p: AbroadParams, ref: ReferencePerson, base: float, standing, english) -> np.ndarray:
    return expit(_logit(base) + p.exam_b_standing * (standing - 0.5) + p.exam_b_english * (english - ref.english))


def exam_give_up_prob(p: AbroadParams, exam_cost: float, resources) -> np.ndarray:
    """After a failed exam: give up, more so when the cost weighs on thin resources."""
    return np.minimum(1.0, p.exam_give_up_after_fail * (1 + exam_cost / p.exam_give_up_cost_scale_usd
                                                         * (1 - resources)))


# --- the match: competition for a fixed number of positions ------------------------------

def match_score(p: MatchParams, exam_score, destination_experience, research, letters, noise) -> np.ndarray:
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


# --- 5. stay or return (NEWMAN2025, HEIST2018) ------------------------------------------

def return_prob(p: ReturnParams, ref: ReferencePerson, family_home, years_abroad, wish_improve,
                years_since_training, income_gap_eff: float, reintegration_eff: float,
                at_training_end) -> np.ndarray:
    family_abroad = 1.0 - np.exp(-years_abroad / p.family_abroad_tau_years)
    x = (_logit(p.base_annual)
         + p.end_of_training_bump * at_training_end
         + p.b_family_home * (family_home - ref.family_ties_home)
         + p.b_family_abroad * family_abroad
         + p.b_wish_improve * wish_improve
         + p.b_income_gap * (income_gap_eff - ref.income_gap)
         + p.b_reintegration * (reintegration_eff - ref.reintegration_difficulty)
         + p.b_years_abroad * years_since_training)
    return expit(x)


# --- 6. after return (NEWMAN2025) --------------------------------------------------------

def sector_probs(p: SectorParams, o: OriginConfig, research, wish_improve, research_tilt,
                 policy_oriented) -> np.ndarray:
    """Columns: public, private, academic. Disillusionment with the state system pushes private."""
    n = len(research)
    u = np.zeros((n, 3))
    u[:, 0] = p.b_public_policy_orientation * policy_oriented
    u[:, 1] = p.private_base + p.b_private_disillusion * (1 - o.public_system_satisfaction)
    u[:, 2] = (p.academic_base + p.b_academic_research * research + p.b_academic_wish_improve * wish_improve
               + p.b_academic_research_tilt * research_tilt)
    u -= u.max(axis=1, keepdims=True)
    e = np.exp(u)
    return e / e.sum(axis=1, keepdims=True)


def choose(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Categorical choice per row from one uniform each."""
    cum = np.cumsum(probs, axis=1)
    return np.minimum((u[:, None] >= cum).sum(axis=1), probs.shape[1] - 1)


def knowledge_transfer_prob(p: SectorParams, o: OriginConfig, sector, reintegration_support: float):
    mult = np.array([p.kt_mult_public, p.kt_mult_private, p.kt_mult_academic])[sector]
    return np.clip(o.knowledge_absorption * mult + p.kt_reintegration_support_gain * reintegration_support, 0, 1)
