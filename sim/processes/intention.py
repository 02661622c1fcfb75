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
quality falls below the floor, the floor is lowered. Whenever the floor moves, every graduate
now eligible draws the next candidate year afresh from that year, with the new bound: the
yearly process has no memory, so starting it again for everyone is exact. (Redrawing only
those listed would not be: who is listed depends on their earlier draws, since a person
whose next candidate fell after their last eligible year is not listed, so a fresh draw for
the listed alone loses most of their candidates.)
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


# A person with a candidate year ahead, with what the rule reads of them that no longer
# changes after graduation (the fixed part of the rule, the drawn family ages), so that a
# candidate year visits one record instead of a dozen arrays at a scattered id.
PENDING = np.dtype([("id", np.int64), ("fixed", np.float64), ("offset", np.float32), ("partner_age", np.float32),
                    ("child_age", np.float32), ("care_age", np.float32), ("bound", np.float32),
                    ("cohort", np.int16)], align=True)
# A person who intends now, likewise (``fixed``: the part of the action rule that does not change).
INTENDER = np.dtype([("id", np.int64), ("fixed", np.float64), ("partner_age", np.float32),
                     ("child_age", np.float32), ("care_age", np.float32), ("since", np.int16),
                     ("cohort", np.int16)], align=True)


class Intention(Process):
    """Intention (evaluated for the year's candidates), then action or fading for those
    who intended before this year.

    ``pending`` lists everyone with a candidate year ahead, in the order they were listed
    (``pending_year[j]`` beside it, so a year's candidates are found without visiting the
    others); ``intenders`` everyone who intends now. Both are records with what the rules
    read (see :data:`PENDING`, :data:`INTENDER`); the first ``n_pending`` and ``n_intenders``
    entries are in use (a pending entry whose year has passed is spent).
    """

    name = "intention"
    STREAMS = {"key": "intention", "key_pathway": "pathway"}

    def __init__(self, model) -> None:
        cfg = model.cfg
        self.coef = kernels.coefficients(cfg.params.intention)
        self.act = kernels.coefficients(cfg.params.pathway)
        # room for everyone the run holds from the start: growing by copies cost more than the
        # rules; pages never written are never committed, so unused room costs no memory
        room = max(1024, model.n_people)
        self.pending = np.empty(room, kernels.record_type(PENDING))
        self.pending_year = np.empty(room, np.int16)
        self.n_pending = 0
        self.intenders = np.empty(room, kernels.record_type(INTENDER))
        self.n_intenders = 0
        self.ctx = None
        self.quality_floor = model.cfg.origin.training_quality_baseline
        self.use_streams(model.streams)

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
        tight; when it moves, every eligible graduate's next candidate year is drawn afresh
        from this year (:meth:`restart`)."""
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
        self.restart(model, model.year)

    @staticmethod
    def _grown(array: np.ndarray, size: int) -> np.ndarray:
        """``array`` with room for at least ``size`` entries (its contents kept; doubled when it grows)."""
        return array if size <= len(array) else kernels.grown(array, max(size, 2 * len(array)))

    _IN_USE = {"pending": "n_pending", "pending_year": "n_pending", "intenders": "n_intenders"}

    def _state_copy(self, attribute: str, value, base: "Intention"):
        """The lists (room for everyone) are copied only as far as they are in use."""
        used = self._IN_USE.get(attribute)
        if used is None:
            return super()._state_copy(attribute, value, base)
        out = getattr(self, attribute)  # this run's own room (from __init__)
        if out.shape != value.shape or out.dtype != value.dtype:
            out = np.empty_like(value)
        n = getattr(base, used)
        out[:n] = value[:n]
        return out

    def restart(self, model, first_year: int) -> None:
        """Everyone now eligible to form the intention (a graduate at home who does not intend
        and has never trained abroad) draws the next candidate year afresh from
        ``first_year`` on, with the bound of the current quality floor; the list of pending
        candidates is rebuilt from them. Exact at any time, because the yearly process has no
        memory (see the module's notes); used when the floor moves, and when a run from a base
        population starts (what lies ahead is then drawn from the run's own stream)."""
        pop = model.pop
        self.n_pending = 0
        self.schedule(model, eligible(pop.n, pop.stage, pop.intending, pop.spells), first_year)

    def schedule(self, model, ids: np.ndarray, first_year: int) -> None:
        """Draw the next candidate year (from ``first_year`` on) of ``ids``, now eligible."""
        if len(ids) == 0:
            return
        pop = model.pop
        self.pending = self._grown(self.pending, self.n_pending + len(ids))
        self.pending_year = self._grown(self.pending_year, self.n_pending + len(ids))
        # newly eligible: never listed twice
        self.n_pending = next_candidates(
            ids, first_year, pop.cohort, pop.motivation, pop.english, pop.satisfaction_offset,
            pop.destination_elective, pop.hic_elective, pop.role_model, pop.transformed, pop.research_tilt,
            pop.partner_age, pop.child_age, pop.care_age, self.pending, self.pending_year, self.n_pending,
            self._context(model), self.key, self.coef, model.ref)

    def on_graduation(self, model, ids: np.ndarray) -> None:
        self.schedule(model, ids, model.year)

    def step(self, model) -> None:
        pop, year, flow = model.pop, model.year, model.flow
        self._rebound(model)
        # those who intended before this year act on it, or it fades
        refusal = min(1.0, model.cfg.destination.visa_denial_prob * model.policy.visa_denial_multiplier)
        self.n_intenders, acting, lapsing = act_or_lapse(
            self.intenders, self.n_intenders, year, pop.stage, pop.intending, pop.pathway_year, pop.attempt_since,
            pop.attempts, refusal, model.cfg.params.intention.lapse_annual, self._context(model), self.key_pathway,
            self.act, model.ref)
        model.join_mobile(acting)
        model.move(acting, PREPARING, "pathway_start")
        flow["pathway_starts"] += len(acting)
        flow["intentions_lapsed"] += len(lapsing)
        self.schedule(model, lapsing, year + 1)
        # this year's candidates
        self.intenders = self._grown(self.intenders, self.n_intenders + self.n_pending)
        self.n_pending, self.n_intenders, formed = candidates(
            self.pending, self.pending_year, self.n_pending, year, pop.stage, pop.intending, pop.spells,
            pop.intention_since, pop.intention_year, pop.resources, pop.english, pop.standing, model.quality,
            model.network.bits("abroad"), model.network.key, model.network.spec, self.intenders, self.n_intenders,
            self._context(model), self.key, self.coef, self.act, model.ref)
        flow["intentions_formed"] += formed


def give_up(model, ids: np.ndarray) -> None:
    """Leave the pathway: back to home training if it is not finished, else home practice;
    the intention may form again later."""
    if len(ids) == 0:
        return
    model.move(ids, school.back_home(ids, model.pop.grad_year, model.cfg.origin.home_training_years, model.year),
               "gave_up")
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
def act_fixed(p, ref, resources, english, standing):
    """The part of the action rule that does not change: money against the cost, English, grades."""
    return (p.logit_act_annual
            + p.b_resources * (resources - ref.resources)
            + p.b_english * (english - ref.english)
            + p.b_standing * (standing - 0.5))


@kernels.compiled
def act_logit(p, ref, fixed, age, partner, children, parents_care, refusal):
    """Yearly log-odds that an intending person starts the exams: the fixed part
    (:func:`act_fixed`), age, family, and the visa refusal rate."""
    return (fixed
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
def _candidate_year(u, bound, first_year, last_year):
    """``first_year`` plus a geometric draw with success probability ``expit(bound)``
    (:func:`_geometric`), or ``last_year + 1`` if that falls after ``last_year``. Most draws
    fall after it; for those the logarithms are skipped: the year is after ``last_year``
    when ``u >= L * prob * (1 + 1e-6)`` with L the years up to it and prob at least the
    success probability, because (1 - prob)^L >= 1 - L * prob (Bernoulli's inequality) and
    the margin is far above the rounding of the logarithms (single precision for a
    single-precision ``bound``), so the outcome is the same."""
    span = last_year - first_year + 1
    if span <= 0 or u >= span * kernels.expit_upper(bound) * (1.0 + 1e-6):
        return last_year + 1
    return first_year + _geometric(u, kernels.expit(bound))


@kernels.compiled
def next_candidates(ids, first_year, cohort, motivation, english, offset, destination_elective, hic_elective,
                    role_model, transformed, research_tilt, partner_age, child_age, care_age, pending, pending_year,
                    n, ctx, base, coef, reference):
    """Bound and first candidate year (from ``first_year``) of each of ``ids``; those with a
    candidate inside their eligible years and the horizon are listed in ``pending`` from
    entry ``n`` on. Returns the entries now in use."""
    p, ref = coef[0], reference[0]
    key = kernels.stream_key(base, first_year, 2)
    for j in range(ids.shape[0]):
        i = ids[j]
        fixed = fixed_logit(p, ref, ctx, motivation[i], english[i], destination_elective[i], hic_elective[i],
                            role_model[i], transformed[i], research_tilt[i])
        b = bound_logit(p, ref, ctx, fixed, offset[i], _age(ctx, cohort[i], first_year), partner_age[i],
                        child_age[i], care_age[i])
        last = _last_year(p, ctx, cohort[i])
        y = _candidate_year(kernels.uniform_at(key, i), b, first_year, last)
        if y <= last:
            e = pending[n]
            e.id = i
            e.fixed = fixed
            e.offset = offset[i]
            e.partner_age = partner_age[i]
            e.child_age = child_age[i]
            e.care_age = care_age[i]
            e.bound = b
            e.cohort = cohort[i]
            pending_year[n] = y
            n += 1
    return n


@kernels.compiled
def eligible(n, stage, intending, spells):
    """Ids ``0..n-1`` who can form the intention: at home in training or practice, not
    intending now, never trained abroad (age is left to the candidate years)."""
    out = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        s = stage[i]
        if (s == HOME_TRAINING or s == HOME_PRACTICE) and not intending[i] and spells[i] == 0:
            out[k] = i
            k += 1
    return out[:k]


@kernels.compiled
def candidates(pending, pending_year, n, year, stage, intending, spells, intention_since, intention_year, resources,
               english, standing, quality, went_abroad, net_key, net_spec, intenders, n_intenders, ctx, base, coef,
               act_coef, reference):
    """Evaluate this year's candidates (``pending`` entries whose year is ``year``); those who
    form the intention are appended to ``intenders``, the others drawn their next candidate
    year. Returns (pending entries in use, intenders in use, how many formed the intention);
    spent pending entries are dropped (in order) once they outnumber the others."""
    p, ref, a = coef[0], reference[0], act_coef[0]
    key_accept = kernels.stream_key(base, year, 0)
    key_next = kernels.stream_key(base, year + 1, 3)
    peer_term = p.b_peers_abroad * ctx[6]
    formed = 0
    live = 0
    for j in range(n):
        if pending_year[j] != year:
            live += pending_year[j] > year
            continue
        pending_year[j] = NO_YEAR
        e = pending[j]
        i = e.id
        s = stage[i]
        if (s != HOME_TRAINING and s != HOME_PRACTICE) or intending[i] or spells[i] > 0:
            continue  # abroad, on the pathway, or gone: scheduled again if they become eligible
        age = _age(ctx, e.cohort, year)
        fam = life.family(age, e.partner_age, e.child_age, e.care_age, ctx[7], ctx[8])
        satisfaction = min(max(quality + e.offset, 0.0), 1.0)
        x = intention_logit(p, ref, ctx, e.fixed, 1.0 - satisfaction, 0.0, age, fam[0], fam[1], fam[2])
        # accept with probability rule / bound; the peer share is read only when it decides
        v = kernels.uniform_at(key_accept, i) * kernels.expit(e.bound)
        if v < kernels.expit(x + min(peer_term, 0.0)):
            accept = True
        elif v >= kernels.expit(x + max(peer_term, 0.0)):
            accept = False
        else:
            accept = v < kernels.expit(x + peer_term * network.share(net_key, net_spec, i, went_abroad))
        if accept:
            intending[i] = True
            intention_since[i] = year
            if intention_year[i] == NO_YEAR:
                intention_year[i] = year
            d = intenders[n_intenders]
            d.id = i
            d.fixed = act_fixed(a, ref, resources[i], english[i], standing[i])
            d.partner_age = e.partner_age
            d.child_age = e.child_age
            d.care_age = e.care_age
            d.since = year
            d.cohort = e.cohort
            n_intenders += 1
            formed += 1
            continue
        # the next candidate, with the bound from next year's age on (tighter as people age)
        e.bound = bound_logit(p, ref, ctx, e.fixed, e.offset, age + 1.0, e.partner_age, e.child_age, e.care_age)
        last = _last_year(p, ctx, e.cohort)
        y = _candidate_year(kernels.uniform_at(key_next, i), e.bound, year + 1, last)
        if y <= last:
            pending_year[j] = y
            live += 1
    if n - live > live:
        k = 0
        for j in range(n):
            if pending_year[j] > year:
                pending[k] = pending[j]
                pending_year[k] = pending_year[j]
                k += 1
        n = k
    return n, n_intenders, formed


@kernels.compiled
def act_or_lapse(intenders, n, year, stage, intending, pathway_year, attempt_since, attempts, refusal, lapse, ctx,
                 base, coef, reference):
    """Those who intend and formed the intention before this year start the exams (their
    attempt recorded), or their intention fades. Returns (intenders still in use, kept in
    order; acting; lapsing)."""
    p, ref = coef[0], reference[0]
    key_act = kernels.stream_key(base, year, 0)
    key_lapse = kernels.stream_key(base, year, 1)
    acting = np.empty(n, np.int64)
    lapsing = np.empty(n, np.int64)
    nk = na = nl = 0
    for j in range(n):
        e = intenders[j]
        i = e.id
        s = stage[i]
        if not intending[i] or (s != HOME_TRAINING and s != HOME_PRACTICE):
            intending[i] = False
            continue
        if e.since < year:
            age = _age(ctx, e.cohort, year)
            fam = life.family(age, e.partner_age, e.child_age, e.care_age, ctx[7], ctx[8])
            x = act_logit(p, ref, e.fixed, age, fam[0], fam[1], fam[2], refusal)
            if kernels.happens(kernels.uniform_at(key_act, i), x):
                intending[i] = False
                if pathway_year[i] == NO_YEAR:
                    pathway_year[i] = year
                attempt_since[i] = year
                attempts[i] += 1
                acting[na] = i
                na += 1
                continue
            if kernels.uniform_at(key_lapse, i) < lapse:
                intending[i] = False
                lapsing[nl] = i
                nl += 1
                continue
        intenders[nk] = intenders[j]
        nk += 1
    return nk, acting[:na], lapsing[:nl]
