"""Training abroad and the yearly stay-or-return decision (NEWMAN2025, HEIST2018).

At the end of training, and every year after it for those who stayed, a person abroad
goes home with a probability driven mainly by family and the wish to improve training at
home: ties to home (NEWMAN2025's social and cultural connection), ageing parents who need
care, a partner from home (+), a partner met abroad and children growing up there (-),
the wish to improve home training (HEIST2018); less by the income gap ("family trumps
finances") and the difficulty of reintegrating; years abroad root people. Return near the
end of a career abroad comes from ``b_near_retirement`` in the years before the person's
retirement age.

The visa is a backstop: a J-1 holder who wants to stay needs a waiver of the two-year
home-residence requirement (INA 212(e); waivers such as Conrad 30) and without one must go
home (``visa_forced_return``) if the requirement applies (``policy.home_return_requirement``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import NO_YEAR, PRACTISING_ABROAD, TRAINING_ABROAD
from ..schema import _f, prob, real
from . import Process, life


@dataclass
class ReturnParams:
    """Yearly stay-or-return decision after training (NEWMAN2025, HEIST2018), leaving training
    early, and the wish to improve training at home (HEIST2018)."""

    base_annual: float = prob()
    end_of_training_bump: float = real()
    b_home_ties: float = real()
    b_parents_care: float = real()
    b_partner_home: float = real()
    b_partner_abroad: float = real()
    b_children_abroad: float = real()
    b_near_retirement: float = real()
    near_retirement_years: float = _f(0, 30)
    b_wish_improve: float = real()
    b_income_gap: float = real()
    b_reintegration: float = real()
    b_years_abroad: float = real()
    during_training_annual: float = prob()
    wish_improve_base: float = prob()
    b_wish_dissatisfaction: float = real()
    b_wish_role_model: float = real()


class Abroad(Process):
    """People training abroad may leave early; at the end of training they choose to return
    or stay (J-1 holders who stay need a waiver); those practising abroad choose each year."""

    name = "abroad"
    STREAMS = {"key": "return", "key_visa": "visa"}

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.returning)
        self.use_streams(model.streams)

    def _context(self, model) -> np.ndarray:
        """Entry age, the income gap and reintegration difficulty as this year's policy leaves
        them, the family windows."""
        o, pol, lp = model.cfg.origin, model.policy, model.cfg.params.life
        return np.array([o.entry_age, o.income_gap - pol.returnee_premium,
                         o.reintegration_difficulty * (1 - pol.reintegration_support),
                         lp.children_dependent_years, lp.parents_care_years])

    def step(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        home = model.processes["returnees"]
        ctx = self._context(model)
        quits, back, forced, stay, back_practising = decisions(
            model.mobile, model.mobile_fixed, year, pop.stage, pop.stage_since, pop.training_end,
            pop.training_done_year, pop.visa, pop.waiver, cfg.params.returning.during_training_annual,
            cfg.destination.waiver_prob, model.policy.home_return_requirement, pop.wish_improve, pop.abroad_since,
            ctx, self.key, self.key_visa, self.coef, model.ref)
        home.return_home(model, quits, "returned_during_training")
        home.return_home(model, back, "returned")
        # J-1 holders who want to stay need a waiver of the home-residence requirement
        home.return_home(model, forced, "visa_forced_return")
        model.move(stay, PRACTISING_ABROAD, "training_completed")
        # those who just arrived or finished decided already
        home.return_home(model, back_practising, "returned")


@kernels.compiled
def return_logit(p, ref, home_ties, parents_care, partner_home, partner_abroad, children_abroad, near_retirement,
                 wish_improve, income_gap_eff, reintegration_eff, years_since_training, at_training_end):
    """Yearly log-odds of going home for someone abroad."""
    return (p.logit_base_annual
            + p.end_of_training_bump * at_training_end
            + p.b_home_ties * (home_ties - ref.home_ties)
            + p.b_parents_care * parents_care
            + p.b_partner_home * partner_home
            + p.b_partner_abroad * partner_abroad
            + p.b_children_abroad * children_abroad
            + p.b_near_retirement * near_retirement
            + p.b_wish_improve * wish_improve
            + p.b_income_gap * (income_gap_eff - ref.income_gap)
            + p.b_reintegration * (reintegration_eff - ref.reintegration_difficulty)
            + p.b_years_abroad * years_since_training)


@kernels.compiled
def family_abroad(age, spell_age, partner_age, child_age, care_age, dependent_years, care_years):
    """(parents need care, partner from home, partner met abroad, dependent children abroad)
    for someone abroad at ``age`` whose spell began at ``spell_age``."""
    has_partner, children, care = life.family(age, partner_age, child_age, care_age, dependent_years, care_years)
    met_abroad = life.partner_abroad(age, partner_age, spell_age, math.inf)
    return care, has_partner and not met_abroad, met_abroad, children


@kernels.compiled
def returns_home(p, ref, i, f, year, at_training_end, wish_improve, abroad_since, training_done_year, ctx, key):
    """Whether person ``i``, abroad, goes home this year (:func:`return_logit`); ``f`` is their
    record of what never changes (``sim.population.MOBILE_FIXED``)."""
    age = ctx[0] + (year - f.cohort)
    spell_age = ctx[0] + (abroad_since[i] - f.cohort)
    care, partner_home, partner_abroad, children = family_abroad(age, spell_age, f.partner_age, f.child_age,
                                                                 f.care_age, ctx[3], ctx[4])
    near = f.retire_age - age <= p.near_retirement_years
    since = year - training_done_year[i] if training_done_year[i] != NO_YEAR else 0
    x = return_logit(p, ref, f.home_ties, care, partner_home, partner_abroad, children, near, wish_improve[i],
                     ctx[1], ctx[2], since, at_training_end)
    return kernels.happens(kernels.uniform_at(key, i), x)


@kernels.compiled
def decisions(mobile, fixed, year, stage, stage_since, training_end, training_done_year, visa, waiver, during_annual,
              waiver_prob, home_rule, wish_improve, abroad_since, ctx, base, base_visa, coef, reference):
    """The year's decisions of everyone abroad (in ``mobile``), in one pass.

    Those training: before the end of training (from the year after arrival) some go home;
    at its end each chooses to return or stay, and J-1 holders who want to stay get a
    waiver of the home-residence requirement or, if it applies, go home. Those practising
    since an earlier year choose to go home or stay (the moves of those training do not
    touch them, so both are decided in the same pass). Returns (leaving during training,
    returning at its end, forced home by the J-1 rule, staying to practise, practising who
    go home), each in order."""
    p, ref = coef[0], reference[0]
    key_choice, key_quit = kernels.stream_key(base, year, 0), kernels.stream_key(base, year, 1)
    key_waiver = kernels.stream_key(base_visa, year, 2)
    m = mobile.shape[0]
    quits = np.empty(m, np.int64)
    back = np.empty(m, np.int64)
    forced = np.empty(m, np.int64)
    stay = np.empty(m, np.int64)
    back_practising = np.empty(m, np.int64)
    nq = nb = nf = ns = npr = 0
    for j in range(m):
        i = mobile[j]
        s = stage[i]
        if s == PRACTISING_ABROAD:
            if stage_since[i] < year and returns_home(p, ref, i, fixed[j], year, 0.0, wish_improve, abroad_since,
                                                      training_done_year, ctx, key_choice):
                back_practising[npr] = i
                npr += 1
            continue
        if s != TRAINING_ABROAD:
            continue
        if training_end[i] > year:
            if stage_since[i] < year and kernels.uniform_at(key_quit, i) < during_annual:
                quits[nq] = i
                nq += 1
            continue
        training_done_year[i] = year
        if returns_home(p, ref, i, fixed[j], year, 1.0, wish_improve, abroad_since, training_done_year, ctx,
                        key_choice):
            back[nb] = i
            nb += 1
            continue
        if visa[i] == 1:
            waiver[i] = kernels.uniform_at(key_waiver, i) < waiver_prob
            if home_rule and not waiver[i]:
                forced[nf] = i
                nf += 1
                continue
        stay[ns] = i
        ns += 1
    return quits[:nq], back[:nb], forced[:nf], stay[:ns], back_practising[:npr]
