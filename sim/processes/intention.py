"""Intention before action: forming the intention to train abroad, and acting on it by
starting the exams (HEIST2018, SON2021, NEWMAN2025, IMGBLOG).

**Intention.** A graduate at home (in home training or practice, never trained abroad,
not older than ``max_age``) forms the intention to train abroad with a yearly
probability driven by dissatisfaction with home training (HEIST2018: the wish grows out of
one's own dissatisfaction), exposure to the destination's clinical education on an
elective there (HEIST2018's pivotal experience), a role model or a transformed perspective
(SON2021), research electives (SON2021: academic work abroad), the income gap, peers and
alumni who went abroad (scaled by the origin's culture of emigration), motivation,
English, age, and family at home (partner, dependent children, ageing parents). An
intention fades with ``lapse_annual`` a year; anyone whose intention faded, or who gave up
an attempt, can form it again later.

**Action.** Each year after the one in which it formed, an intention turns into action
(starting the exams: the pathway abroad) with a probability driven by the barriers: money
against the exams' cost, English, grades, family, age and the visa refusal rate. The gap
between the two is the intention-action gap; ``intention_share`` reports how many ever
intended.

**Cost.** Most graduates are idle most years. The intention rule is therefore evaluated
by thinning: when a graduate becomes eligible (at graduation, or again after a fading or a
give-up), an upper bound of their yearly probability over every value the changing terms
can take (training quality at or above a floor, the peer share at most 1, age and the
drawn family events at their most favourable over the eligible years) gives the year of
their next candidate,
a geometric draw; in that year the rule is evaluated with the actual terms and the
candidate accepted with probability (rule / bound), else the next candidate is drawn with a
bound from the person's new age. This gives exactly the yearly Bernoulli process of the
rule, while only the candidates of the year are visited. The quality floor is the
baseline, raised to just below the current quality while quality stays above it; if
quality falls below the floor, the floor is lowered and every pending candidate redrawn
from that year (the process has no memory, so this too is exact).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels, network
from ..population import HOME_PRACTICE, HOME_TRAINING, NO_YEAR, PREPARING
from ..schema import _f, prob, real
from . import Process, life, school


@dataclass
class IntentionParams:
    """Forming the intention to train abroad (HEIST2018, SON2021, NEWMAN2025)."""

    base_annual: float = prob()
    b_dissatisfaction: float = real()
    b_destination_elective: float = real()
    b_other_hic_elective: float = real()
    b_role_model: float = real()
    b_transformed: float = real()
    b_research_tilt: float = real()
    b_income_gap: float = real()
    b_peers_abroad: float = real()
    b_motivation: float = real()
    b_english: float = real()
    b_age: float = real()
    b_partner: float = real()
    b_children: float = real()
    b_parents_care: float = real()
    max_age: float = _f(20, 80)
    lapse_annual: float = prob()


@dataclass
class PathwayParams:
    """Acting on the intention: starting the exams, through the barriers of cost, exams,
    family, visa and language (IMGBLOG); clinical experience in the destination gained while
    preparing (IMGBLOG: observerships)."""

    act_annual: float = prob()
    b_resources: float = real()
    b_english: float = real()
    b_standing: float = real()
    b_partner: float = real()
    b_children: float = real()
    b_parents_care: float = real()
    b_age: float = real()
    b_visa_refusal: float = real()
    observership_annual: float = prob()


class Intention(Process):
    """Intention (evaluated for the year's candidates), then action or fading for those
    who intended before this year."""

    name = "intention"

    def __init__(self, model) -> None:
        cfg = model.cfg
        self.coef = kernels.coefficients(cfg.params.intention)
        self.act = kernels.coefficients(cfg.params.pathway)
        self.pending = np.empty(0, np.int64)     # ids with a candidate year ahead
        self.intenders = np.empty(0, np.int64)   # ids who intend now
        self.ctx = None
        self.quality_floor = model.cfg.origin.training_quality_baseline

    def _context(self, model) -> np.ndarray:
        """The numbers the rules read besides the person's: entry age, first cohort, intake,
        horizon, the quality floor of the bounds, the origin's income gap and culture of
        emigration, the family windows."""
        if self.ctx is None:
            o, lp = model.cfg.origin, model.cfg.params.life
            self.ctx = np.array([o.entry_age, model.first_cohort, model.intake, model.cfg.years,
                                 self.quality_floor, o.income_gap, o.emigration_culture,
                                 lp.children_dependent_years, lp.parents_care_years])
        return self.ctx

    MARGIN = 0.02      # the floor sits this far below the current quality
    HYSTERESIS = 0.05  # and is raised only when quality has risen this much above it

    def _rebound(self, model) -> None:
        """Keep the quality floor of the bounds valid (at or below quality) and reasonably
        tight; when it moves, redraw every pending candidate from this year."""
        q, base = model.quality, model.cfg.origin.training_quality_baseline
        floor = self.quality_floor
        if q < floor:
            floor = max(base, q - self.MARGIN)
        elif q - self.MARGIN > floor + self.HYSTERESIS:
            floor = q - self.MARGIN
        else:
            return
        self.quality_floor = floor
        self._context(model)[4] = floor
        pending, self.pending = self.pending, np.empty(0, np.int64)
        pending = pending[model.pop.next_candidate[pending] >= model.year]
        self.schedule(model, pending, model.year)

    def schedule(self, model, ids: np.ndarray, first_year: int) -> None:
        """Draw the next candidate year (from ``first_year`` on) of ``ids``, now eligible."""
        if len(ids) == 0:
            return
        pop = model.pop
        ahead = next_candidates(ids, first_year, pop.cohort, pop.motivation, pop.english, pop.satisfaction_offset,
                                pop.destination_elective, pop.hic_elective, pop.role_model, pop.transformed,
                                pop.research_tilt, pop.partner_age, pop.child_age, pop.care_age,
                                pop.intention_bound, pop.next_candidate, self._context(model),
                                model.streams.key("intention", first_year, 2), self.coef, model.ref)
        self.pending = np.concatenate([self.pending, ahead])  # newly eligible: never listed twice

    def on_graduation(self, model, ids: np.ndarray) -> None:
        self.schedule(model, ids, model.year)

    def step(self, model) -> None:
        pop, year, flow = model.pop, model.year, model.flow
        self._rebound(model)
        # those who intended before this year act on it, or it fades
        refusal = min(1.0, model.cfg.destination.visa_denial_prob * model.policy.visa_denial_multiplier)
        keep, acting, lapsing = act_or_lapse(
            self.intenders, year, pop.stage, pop.intending, pop.intention_since, pop.cohort, pop.resources,
            pop.english, pop.standing, pop.partner_age, pop.child_age, pop.care_age, refusal,
            model.cfg.params.intention.lapse_annual, self._context(model), model.streams.key("pathway", year), model.streams.key("pathway", year, 1),
            self.act, model.ref)
        pop.intending[acting] = False
        pop.intending[lapsing] = False
        first = acting[pop.pathway_year[acting] == NO_YEAR]
        pop.pathway_year[first] = year
        pop.attempt_since[acting] = year
        pop.attempts[acting] += 1
        model.mobile = np.concatenate([model.mobile, acting])  # at home until now, so not in it yet
        model.move(acting, PREPARING, "pathway_start")
        flow["pathway_starts"] += len(acting)
        flow["intentions_lapsed"] += len(lapsing)
        self.schedule(model, lapsing, year + 1)
        # this year's candidates
        self.pending, formed = candidates(
            self.pending, year, pop.stage, pop.intending, pop.spells, pop.cohort, pop.motivation, pop.english,
            pop.satisfaction_offset, pop.destination_elective, pop.hic_elective, pop.role_model, pop.transformed,
            pop.research_tilt, pop.partner_age, pop.child_age, pop.care_age, pop.intention_bound,
            pop.next_candidate, model.quality, model.network.bits("abroad"), model.network.key,
            model.network.spec, self._context(model),
            model.streams.key("intention", year), model.streams.key("intention", year + 1, 3), self.coef,
            model.ref)
        pop.intending[formed] = True
        pop.intention_since[formed] = year
        new = formed[pop.intention_year[formed] == NO_YEAR]
        pop.intention_year[new] = year
        self.intenders = np.concatenate([keep, formed])
        flow["intentions_formed"] += len(formed)


def give_up(model, ids: np.ndarray) -> None:
    """Leave the pathway: back to home training if it is not finished, else home practice;
    the intention may form again later."""
    if len(ids) == 0:
        return
    back = school.home_training_left(model, ids)
    model.move(ids, np.where(back, HOME_TRAINING, HOME_PRACTICE).astype(np.int8), "gave_up")
    model.flow["gave_up"] += len(ids)
    model.processes["intention"].schedule(model, ids, model.year + 1)


# --- rules -----------------------------------------------------------------------------------

@kernels.compiled
def fixed_logit(p, ref, ctx, motivation, english, destination_elective, hic_elective, role_model, transformed,
                research_tilt):
    """The part of the intention rule that does not change after graduation."""
    return (p.logit_base_annual
            + p.b_destination_elective * destination_elective
            + p.b_other_hic_elective * (hic_elective and not destination_elective)
            + p.b_role_model * role_model
            + p.b_transformed * transformed
            + p.b_research_tilt * research_tilt
            + p.b_income_gap * (ctx[5] - ref.income_gap)
            + p.b_motivation * (motivation - ref.motivation)
            + p.b_english * (english - ref.english))


@kernels.compiled
def intention_logit(p, ref, ctx, fixed, dissatisfaction, peer_abroad, age, partner, children, parents_care):
    """Yearly log-odds of forming the intention: the fixed part, dissatisfaction with home
    training, peers and alumni abroad (times the culture of emigration), age and family."""
    return (fixed
            + p.b_dissatisfaction * (dissatisfaction - (1.0 - ref.training_quality))
            + p.b_peers_abroad * ctx[6] * peer_abroad
            + p.b_age * (age - ref.age)
            + p.b_partner * partner + p.b_children * children + p.b_parents_care * parents_care)


@kernels.compiled
def _window_max(b, start, end, a0, a1):
    """The largest value of ``b`` times "age within [start, end)" over ages a0..a1."""
    if b >= 0.0:
        return b if start <= a1 and end > a0 else 0.0
    return b if start <= a0 and end > a1 else 0.0


@kernels.compiled
def bound_logit(p, ref, ctx, fixed, offset, age_from, partner_age, child_age, care_age):
    """The largest value :func:`intention_logit` can take for this person from ``age_from``
    to ``max_age``: training quality at its floor (``ctx[4]``) or at 1, the peer share at 0
    or 1, the age term at its most favourable, and each family term at its most favourable
    over those ages (the family events are drawn in advance, so a partner already there
    counts, a child to come does not)."""
    worst_quality = ctx[4] if p.b_dissatisfaction >= 0.0 else 1.0  # the quality floor
    dissatisfaction = 1.0 - min(max(worst_quality + offset, 0.0), 1.0)
    a1 = p.max_age
    return (fixed
            + p.b_dissatisfaction * (dissatisfaction - (1.0 - ref.training_quality))
            + max(p.b_peers_abroad * ctx[6], 0.0)
            + max(p.b_age * (age_from - ref.age), p.b_age * (a1 - ref.age))
            + _window_max(p.b_partner, partner_age, math.inf, age_from, a1)
            + _window_max(p.b_children, child_age, child_age + ctx[7], age_from, a1)
            + _window_max(p.b_parents_care, care_age, care_age + ctx[8], age_from, a1))


@kernels.compiled
def act_logit(p, ref, resources, english, standing, age, partner, children, parents_care, refusal):
    """Yearly log-odds that an intending person starts the exams: money against the cost,
    English, grades, age, family, and the visa refusal rate."""
    return (p.logit_act_annual
            + p.b_resources * (resources - ref.resources)
            + p.b_english * (english - ref.english)
            + p.b_standing * (standing - 0.5)
            + p.b_age * (age - ref.age)
            + p.b_partner * partner + p.b_children * children + p.b_parents_care * parents_care
            + p.b_visa_refusal * refusal)


@kernels.compiled
def _age(ctx, cohort, year):
    return ctx[0] + (year - cohort)


@kernels.compiled
def _geometric(u, prob_):
    """Failures before the first success of a Bernoulli(``prob_``) sequence, from one uniform."""
    if prob_ >= 1.0:
        return 0
    if prob_ <= 0.0:
        return 1 << 30
    k = math.floor(math.log(1.0 - u) / math.log1p(-prob_))
    return int(min(k, 1 << 30))


@kernels.compiled
def _last_year(p, ctx, cohort):
    """The last year in which the person can form the intention: age ``max_age``, or the horizon."""
    return min(int(math.floor(cohort + p.max_age - ctx[0])), int(ctx[3]))


@kernels.compiled
def next_candidates(ids, first_year, cohort, motivation, english, offset, destination_elective, hic_elective,
                    role_model, transformed, research_tilt, partner_age, child_age, care_age, bound, next_candidate,
                    ctx, key, coef, reference):
    """Bound and first candidate year (from ``first_year``) of each of ``ids``; returns those
    with a candidate inside their eligible years and the horizon."""
    p, ref = coef[0], reference[0]
    out = np.empty(ids.shape[0], np.int64)
    n = 0
    for j in range(ids.shape[0]):
        i = ids[j]
        fixed = fixed_logit(p, ref, ctx, motivation[i], english[i], destination_elective[i], hic_elective[i],
                            role_model[i], transformed[i], research_tilt[i])
        b = bound_logit(p, ref, ctx, fixed, offset[i], _age(ctx, cohort[i], first_year), partner_age[i],
                        child_age[i], care_age[i])
        bound[i] = b
        y = first_year + _geometric(kernels.uniform_at(key, i), kernels.expit(b))
        if y <= _last_year(p, ctx, cohort[i]):
            next_candidate[i] = y
            out[n] = i
            n += 1
        else:
            next_candidate[i] = NO_YEAR
    return out[:n]


@kernels.compiled
def candidates(pending, year, stage, intending, spells, cohort, motivation, english, offset, destination_elective,
               hic_elective, role_model, transformed, research_tilt, partner_age, child_age, care_age, bound,
               next_candidate, quality, went_abroad, net_key, net_spec, ctx, key_accept, key_next, coef, reference):
    """Evaluate this year's candidates. Returns (pending ids with a candidate ahead, ids who
    formed the intention this year)."""
    p, ref = coef[0], reference[0]
    keep = np.empty(pending.shape[0], np.int64)
    formed = np.empty(pending.shape[0], np.int64)
    n_keep = n_formed = 0
    for j in range(pending.shape[0]):
        i = pending[j]
        if next_candidate[i] != year:
            if next_candidate[i] > year:
                keep[n_keep] = i
                n_keep += 1
            continue
        next_candidate[i] = NO_YEAR
        s = stage[i]
        if (s != HOME_TRAINING and s != HOME_PRACTICE) or intending[i] or spells[i] > 0:
            continue  # abroad, on the pathway, or gone: scheduled again if they become eligible
        age = _age(ctx, cohort[i], year)
        fam = life.family(age, partner_age[i], child_age[i], care_age[i], ctx[7], ctx[8])
        fixed = fixed_logit(p, ref, ctx, motivation[i], english[i], destination_elective[i], hic_elective[i],
                            role_model[i], transformed[i], research_tilt[i])
        satisfaction = min(max(quality + offset[i], 0.0), 1.0)
        x = intention_logit(p, ref, ctx, fixed, 1.0 - satisfaction, 0.0, age, fam[0], fam[1], fam[2])
        # accept with probability rule / bound; the peer share is read only when it decides
        v = kernels.uniform_at(key_accept, i) * kernels.expit(bound[i])
        peer_term = p.b_peers_abroad * ctx[6]
        if v < kernels.expit(x + min(peer_term, 0.0)):
            accept = True
        elif v >= kernels.expit(x + max(peer_term, 0.0)):
            accept = False
        else:
            accept = v < kernels.expit(x + peer_term * network.share(net_key, net_spec, i, went_abroad))
        if accept:
            formed[n_formed] = i
            n_formed += 1
            continue
        # the next candidate, with the bound from next year's age on (tighter as people age)
        bound[i] = bound_logit(p, ref, ctx, fixed, offset[i], age + 1.0, partner_age[i], child_age[i],
                               care_age[i])
        y = year + 1 + _geometric(kernels.uniform_at(key_next, i), kernels.expit(bound[i]))
        if y <= _last_year(p, ctx, cohort[i]):
            next_candidate[i] = y
            keep[n_keep] = i
            n_keep += 1
    return keep[:n_keep], formed[:n_formed]


@kernels.compiled
def act_or_lapse(intenders, year, stage, intending, intention_since, cohort, resources, english, standing,
                 partner_age, child_age, care_age, refusal, lapse, ctx, key_act, key_lapse, coef, reference):
    """Those who intend and formed the intention before this year start the exams, or their
    intention fades. Returns (still intending, acting, lapsing)."""
    p, ref = coef[0], reference[0]
    m = intenders.shape[0]
    keep = np.empty(m, np.int64)
    acting = np.empty(m, np.int64)
    lapsing = np.empty(m, np.int64)
    nk = na = nl = 0
    for j in range(m):
        i = intenders[j]
        s = stage[i]
        if not intending[i] or (s != HOME_TRAINING and s != HOME_PRACTICE):
            intending[i] = False
            continue
        if intention_since[i] >= year:
            keep[nk] = i
            nk += 1
            continue
        age = _age(ctx, cohort[i], year)
        fam = life.family(age, partner_age[i], child_age[i], care_age[i], ctx[7], ctx[8])
        x = act_logit(p, ref, resources[i], english[i], standing[i], age, fam[0], fam[1], fam[2], refusal)
        if kernels.happens(kernels.uniform_at(key_act, i), x):
            acting[na] = i
            na += 1
        elif kernels.uniform_at(key_lapse, i) < lapse:
            lapsing[nl] = i
            nl += 1
        else:
            keep[nk] = i
            nk += 1
    return keep[:nk], acting[:na], lapsing[:nl]
