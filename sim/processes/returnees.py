"""After return: sector, knowledge transfer, the drift to private practice, and leaving
again (NEWMAN2025).

**Sector** on return (public, private, academic): a multinomial logit in which
disillusionment with the state system pushes private practice (NEWMAN2025), research
(POP2024, SON2021) and the wish to improve home training (HEIST2018) academic posts, a
policy orientation and an international-health interest (SON2021) public service.

**Knowledge transfer** takes hold with a probability that depends on the returnee
(research as a student or on a research elective, years abroad), their position (academic
above public above private: NEWMAN2025's "wasted opportunity" is sharpest where the
knowledge has no outlet), support on return (``policy.reintegration_support``) and the
origin's absorption. Its consequences: in academia it raises training quality and makes
mentors easier to find (:mod:`sim.processes.feedback`); anywhere, knowledge that did not
take hold is a failed reintegration, which makes the drift to private practice and
leaving again more likely.

**Circulation.** Each year a returnee may emigrate again, to practise in the destination
(``re_emigrated``): more so when reintegration failed (knowledge wasted, private practice,
a difficult system), when the income gap is large, when a partner was met abroad; less with
years since return, age, ties and ageing parents at home. Those whose return was forced by
the J-1 rule can leave again only after the home-residence years, and more readily.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import (NO_YEAR, PRACTISING_ABROAD, RETURNED, RETURNED_ACADEMIC, RETURNED_PRIVATE,
                          RETURNED_PUBLIC)
from ..schema import nonneg, positive, prob, real
from . import Process, life


@dataclass
class ReturneeParams:
    """Sector after return, knowledge transfer, drift to private practice, leaving again
    (NEWMAN2025)."""

    academic_base: float = real()
    private_base: float = real()
    b_public_policy_orientation: float = real()
    b_public_intl_health: float = real()
    b_academic_research: float = real()
    b_academic_wish_improve: float = real()
    b_academic_research_tilt: float = real()
    b_private_disillusion: float = real()
    kt_base: float = prob()
    b_kt_academic: float = real()
    b_kt_private: float = real()
    b_kt_research: float = real()
    b_kt_years_abroad: float = real()
    kt_reference_years_abroad: float = positive(60.0)
    b_kt_absorption: float = real()
    b_kt_support: float = real()
    drift_to_private_base: float = prob()
    drift_kt_failed_factor: float = nonneg(20.0)
    reemigration_base_annual: float = prob()
    b_re_kt_failed: float = real()
    b_re_private: float = real()
    b_re_reintegration: float = real()
    b_re_income_gap: float = real()
    b_re_partner_abroad: float = real()
    b_re_home_ties: float = real()
    b_re_parents_care: float = real()
    b_re_years_since_return: float = real()
    b_re_age: float = real()
    b_re_forced: float = real()


_RETURNED_STAGES = np.array(RETURNED, np.int8)  # stage by sector code


class Returnees(Process):
    """Returnees drift to private practice, or leave again; :meth:`return_home` places those
    who come back."""

    name = "returnees"
    STREAMS = {"key_sector": "sector", "key_knowledge": "knowledge", "key_reemigration": "reemigration"}

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.returnees)
        self.use_streams(model.streams)

    def return_home(self, model, ids: np.ndarray, cause: str) -> None:
        if len(ids) == 0:
            return
        pop, cfg, year = model.pop, model.cfg, model.year
        o, pol = cfg.origin, model.policy
        forced = cause == "visa_forced_return"
        to_stage = sectors_on_return(ids, year, forced, pop.research, pop.research_tilt, pop.wish_improve,
                                     pop.orientation, pop.intl_health, pop.abroad_since, pop.sector, pop.kt,
                                     pop.return_year, pop.first_return_year, pop.forced, o.public_system_satisfaction,
                                     o.knowledge_absorption, pol.reintegration_support, self.key_sector,
                                     self.key_knowledge, self.coef, model.ref)
        model.move(ids, to_stage, cause)
        model.flow["returns"] += len(ids)
        if forced:
            model.flow["forced_returns"] += len(ids)

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        o, pol, dest = cfg.origin, model.policy, cfg.destination
        p = cfg.params.returnees
        # drift: disillusionment with the state system, more so when knowledge was wasted
        rate = p.drift_to_private_base * (1 - o.public_system_satisfaction)
        lp = cfg.params.life
        ctx = np.array([o.entry_age, o.income_gap - pol.returnee_premium,
                        o.reintegration_difficulty * (1 - pol.reintegration_support),
                        dest.home_residence_years if pol.home_return_requirement else 0.0,
                        lp.children_dependent_years, lp.parents_care_years])
        who, leaving = decisions(model.mobile, model.mobile_fixed, year, pop.stage, pop.stage_since, pop.kt,
                                 pop.sector, pop.forced, pop.return_year, pop.abroad_since, pop.spells,
                                 pop.reemigration_year, pop.visa, rate, rate * p.drift_kt_failed_factor, ctx,
                                 self.key_sector, self.key_reemigration, self.coef, model.ref)
        model.move(who, RETURNED_PRIVATE, "sector_switch")
        # leaving again
        if len(leaving):
            model.move(leaving, PRACTISING_ABROAD, "re_emigrated")
            model.flow["reemigrations"] += len(leaving)


@kernels.compiled
def sector_choice(p, public_system_satisfaction, research, wish_improve, research_tilt, policy_oriented,
                  intl_health, u):
    """Sector on return (0 public, 1 private, 2 academic), multinomial logit, from one uniform."""
    v0 = p.b_public_policy_orientation * policy_oriented + p.b_public_intl_health * intl_health
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


@kernels.compiled
def knowledge_transfer_logit(p, ref, sector, research, years_abroad, absorption, support):
    """Log-odds that a returnee's knowledge transfer takes hold: position (public is the
    reference), research, years abroad (log scale), the origin's absorption, support on return."""
    return (p.logit_kt_base
            + p.b_kt_academic * (sector == 2) + p.b_kt_private * (sector == 1)
            + p.b_kt_research * research
            + p.b_kt_years_abroad * (math.log1p(years_abroad) - math.log1p(p.kt_reference_years_abroad))
            + p.b_kt_absorption * (absorption - ref.knowledge_absorption)
            + p.b_kt_support * support)


@kernels.compiled
def sectors_on_return(ids, year, forced, research, research_tilt, wish_improve, orientation, intl_health,
                      abroad_since, sector, kt, return_year, first_return_year, forced_return,
                      public_system_satisfaction, absorption, support, base_sector, base_kt, coef, reference):
    """Each returnee's sector (0 public, 1 private, 2 academic), whether their knowledge
    transfer takes hold, and their return (``forced``: by the J-1 rule). Returns the stage
    each goes to."""
    p, ref = coef[0], reference[0]
    key_sector, key_kt = kernels.stream_key(base_sector, year, 0), kernels.stream_key(base_kt, year, 0)
    to_stage = np.empty(ids.shape[0], np.int8)
    for j in range(ids.shape[0]):
        i = ids[j]
        s = sector_choice(p, public_system_satisfaction, research[i], wish_improve[i], research_tilt[i],
                          orientation[i] == 2, intl_health[i], kernels.uniform_at(key_sector, i))
        sector[i] = s
        x = knowledge_transfer_logit(p, ref, s, research[i] or research_tilt[i], year - abroad_since[i], absorption,
                                     support)
        kt[i] = kernels.happens(kernels.uniform_at(key_kt, i), x)
        return_year[i] = year
        if first_return_year[i] == NO_YEAR:
            first_return_year[i] = year
        forced_return[i] = forced
        to_stage[j] = _RETURNED_STAGES[s]
    return to_stage


@kernels.compiled
def reemigration_logit(p, ref, kt_failed, private, reintegration_eff, income_gap_eff, partner_abroad, home_ties,
                       parents_care, years_since_return, age, forced):
    """Yearly log-odds that a returnee emigrates again."""
    return (p.logit_reemigration_base_annual
            + p.b_re_kt_failed * kt_failed + p.b_re_private * private
            + p.b_re_reintegration * (reintegration_eff - ref.reintegration_difficulty)
            + p.b_re_income_gap * (income_gap_eff - ref.income_gap)
            + p.b_re_partner_abroad * partner_abroad
            + p.b_re_home_ties * (home_ties - ref.home_ties)
            + p.b_re_parents_care * parents_care
            + p.b_re_years_since_return * years_since_return
            + p.b_re_age * (age - ref.age)
            + p.b_re_forced * forced)


@kernels.compiled
def decisions(mobile, fixed, year, stage, stage_since, kt, sector, forced, return_year, abroad_since, spells,
              reemigration_year, visa, rate, rate_kt_failed, ctx, base_sector, base, coef, reference):
    """The year's decisions of the returnees since an earlier year (in ``mobile``), in one pass.

    Drift: those in the public sector move to private practice with yearly ``rate``
    (``rate_kt_failed`` if their knowledge transfer did not take hold); they do not also
    decide to leave this year. Leaving again: the others emigrate again (the forced ones only
    after the home-residence years), their new spell abroad recorded. Returns (drifting, in
    order; leaving, the public sector first, then private, then academic, each in order)."""
    p, ref = coef[0], reference[0]
    key_drift = kernels.stream_key(base_sector, year, 1)
    key = kernels.stream_key(base, year, 0)
    m = mobile.shape[0]
    drifting = np.empty(m, np.int64)
    by_sector = np.empty((3, m), np.int64)  # those leaving, by the sector they leave from
    counts = np.zeros(3, np.int64)
    nd = 0
    for j in range(m):
        i = mobile[j]
        s = stage[i]
        if s < RETURNED_PUBLIC or s > RETURNED_ACADEMIC or stage_since[i] >= year:
            continue
        if s == RETURNED_PUBLIC and kernels.uniform_at(key_drift, i) < min(rate if kt[i] else rate_kt_failed, 1.0):
            sector[i] = 1
            drifting[nd] = i
            nd += 1
            continue
        if _leaves_again(p, ref, i, fixed[j], year, kt, sector, forced, return_year, abroad_since, ctx, key):
            k = s - RETURNED_PUBLIC
            by_sector[k, counts[k]] = i
            counts[k] += 1
    out = np.empty(counts.sum(), np.int64)
    n = 0
    for k in range(3):
        for j in range(counts[k]):
            i = by_sector[k, j]
            out[n] = i
            n += 1
            abroad_since[i] = year
            spells[i] += 1
            reemigration_year[i] = year
            visa[i] = 2  # a work visa: the J-1 rule, if it applied, has been met
    return drifting[:nd], out


@kernels.compiled
def _leaves_again(p, ref, i, f, year, kt, sector, forced, return_year, abroad_since, ctx, key):
    """Whether returnee ``i`` emigrates again this year (:func:`reemigration_logit`); ``f`` is
    their record of what never changes (``sim.population.MOBILE_FIXED``)."""
    since = year - return_year[i]
    if forced[i] and since < ctx[3]:
        return False
    age = ctx[0] + (year - f.cohort)
    spell_age = ctx[0] + (abroad_since[i] - f.cohort)
    back_age = ctx[0] + (return_year[i] - f.cohort)
    _, _, care = life.family(age, f.partner_age, f.child_age, f.care_age, ctx[4], ctx[5])
    met_abroad = life.partner_abroad(age, f.partner_age, spell_age, back_age)
    x = reemigration_logit(p, ref, not kt[i], sector[i] == 1, ctx[2], ctx[1], met_abroad, f.home_ties, care,
                           since, age, forced[i])
    return kernels.happens(kernels.uniform_at(key, i), x)
