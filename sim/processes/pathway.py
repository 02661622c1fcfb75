"""Starting the pathway to train abroad (HEIST2018, IMGBLOG)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import HOME_PRACTICE, HOME_TRAINING, NONE, PREPARING
from ..schema import MAX_USD, _f, nonneg, prob, real
from . import Process


@dataclass
class AbroadParams:
    """Starting the pathway to train abroad (HEIST2018, IMGBLOG)."""

    window_years: int = _f(1, 30)
    base_annual: float = prob()
    b_dissatisfaction: float = real()
    b_hic_elective: float = real()
    b_role_model: float = real()
    b_transformed: float = real()
    b_english: float = real()
    b_motivation: float = real()
    b_family_home: float = real()
    b_resources: float = real()
    b_peers_abroad: float = real()
    b_income_gap: float = real()
    b_research: float = real()
    b_research_tilt: float = real()
    b_intl_health: float = real()
    exam_b_standing: float = real()
    exam_b_english: float = real()
    exam_score_noise_sd: float = nonneg(100.0)
    exam_give_up_after_fail: float = prob()
    exam_give_up_cost_scale_usd: float = _f(1.0, MAX_USD)  # at least one dollar
    max_prep_years: int = _f(1, 20)


class Pathway(Process):
    """Doctors at home within the window after graduation may start the pathway abroad."""

    name = "pathway"

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.abroad)

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        p, o = cfg.params.abroad, cfg.origin
        # graduates of the last window_years years: cohorts graduating in (t - window, t]
        lo, hi = model.cohort_bounds(year - o.school_years - p.window_years + 2, year - o.school_years + 1)
        peers, inv_ties = model.network.counts("abroad")  # peers and alumni who went abroad to train
        who = starters(lo, hi, pop.stage, pop.pathway_year, pop.pathway_logit, pop.satisfaction_offset,
                       model.quality, peers, inv_ties, o.emigration_culture, model.streams.key("pathway", year),
                       self.coef, model.ref)
        pop.pathway_year[who] = year
        model.mobile = np.concatenate([model.mobile, who])
        model.move(who, PREPARING, "pathway_start")
        model.flow["pathway_starts"] += len(who)


def give_up(model, ids: np.ndarray) -> None:
    """Leave the pathway: back to home training if it is not finished, else home practice."""
    back_to_training = model.pop.home_training_end[ids] > model.year
    model.move(ids, np.where(back_to_training, HOME_TRAINING, HOME_PRACTICE).astype(np.int8), "gave_up")
    model.flow["gave_up"] += len(ids)


@kernels.compiled
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


@kernels.compiled
def pathway_start_logit(p, ref, emigration_culture, fixed_logit, dissatisfaction, peer_abroad):
    """Yearly log-odds of starting the pathway: the fixed part plus what changes each year,
    dissatisfaction with home training (HEIST2018) and peers and alumni abroad."""
    x = (fixed_logit
         + p.b_dissatisfaction * (dissatisfaction - (1.0 - ref.training_quality))
         + p.b_peers_abroad * emigration_culture * peer_abroad)
    return x


@kernels.compiled
def starters(lo, hi, stage, pathway_year, pathway_logit, satisfaction_offset, quality, peer_counts, inv_ties,
             emigration_culture, key, coef, reference):
    """Doctors at home (in training or practice) who have not started yet and start this year.
    Dissatisfaction is one minus training quality as the person perceives it, within [0, 1]."""
    p, ref = coef[0], reference[0]
    out = np.empty(max(hi - lo, 0), np.int64)
    n = 0
    for i in range(lo, hi):
        s = stage[i]
        if (s != HOME_TRAINING and s != HOME_PRACTICE) or pathway_year[i] != NONE:
            continue
        satisfaction = min(max(quality + satisfaction_offset[i], 0.0), 1.0)
        x = pathway_start_logit(p, ref, emigration_culture, pathway_logit[i], 1.0 - satisfaction,
                                peer_counts[i] * inv_ties)
        if kernels.happens(kernels.uniform_at(key, i), x):
            out[n] = i
            n += 1
    return out[:n]
