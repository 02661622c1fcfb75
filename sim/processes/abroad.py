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

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.returning)

    def step(self, model) -> None:
        self.training(model)
        self.practising(model)

    def training(self, model) -> None:
        pop, cfg, year = model.pop, model.cfg, model.year
        home = model.processes["returnees"]
        ids = model.mobile_in(TRAINING_ABROAD)
        if len(ids) == 0:
            return
        finishing = pop.training_end[ids] <= year
        during = ids[~finishing & (pop.stage_since[ids] < year)]  # not in the year they arrived
        quits = during[model.uniform("return", during, 1) < cfg.params.returning.during_training_annual]
        home.return_home(model, quits, "returned_during_training")
        done = ids[finishing]
        pop.training_done_year[done] = year
        back = self.choose(model, done, at_training_end=True)
        home.return_home(model, done[back], "returned")
        # J-1 holders who want to stay need a waiver of the home-residence requirement
        wants_stay = done[~back]
        j1 = wants_stay[pop.visa[wants_stay] == 1]
        pop.waiver[j1] = model.uniform("visa", j1, 2) < cfg.destination.waiver_prob
        forced = j1[~pop.waiver[j1]] if model.policy.home_return_requirement else j1[:0]
        home.return_home(model, forced, "visa_forced_return")
        model.move(wants_stay[pop.stage[wants_stay] == TRAINING_ABROAD], PRACTISING_ABROAD, "training_completed")

    def choose(self, model, ids: np.ndarray, at_training_end: bool) -> np.ndarray:
        pop, cfg = model.pop, model.cfg
        o, pol, lp = cfg.origin, model.policy, cfg.params.life
        ctx = np.array([o.entry_age, o.income_gap - pol.returnee_premium,
                        o.reintegration_difficulty * (1 - pol.reintegration_support), float(at_training_end),
                        lp.children_dependent_years, lp.parents_care_years])
        return return_choices(ids, model.year, pop.cohort, pop.home_ties, pop.wish_improve, pop.abroad_since,
                              pop.training_done_year, pop.partner_age, pop.child_age, pop.care_age, pop.retire_age,
                              ctx, model.streams.key("return", model.year), self.coef, model.ref)

    def practising(self, model) -> None:
        pop = model.pop
        ids = model.mobile_in(PRACTISING_ABROAD)
        ids = ids[pop.stage_since[ids] < model.year]  # those who just arrived or finished decided already
        back = self.choose(model, ids, at_training_end=False)
        model.processes["returnees"].return_home(model, ids[back], "returned")


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
def return_choices(ids, year, cohort, home_ties, wish_improve, abroad_since, training_done_year, partner_age,
                   child_age, care_age, retire_age, ctx, key, coef, reference):
    p, ref = coef[0], reference[0]
    back = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        age = ctx[0] + (year - cohort[i])
        spell_age = ctx[0] + (abroad_since[i] - cohort[i])
        care, partner_home, partner_abroad, children = family_abroad(age, spell_age, partner_age[i], child_age[i],
                                                                     care_age[i], ctx[4], ctx[5])
        near = retire_age[i] - age <= p.near_retirement_years
        since = year - training_done_year[i] if training_done_year[i] != NO_YEAR else 0
        x = return_logit(p, ref, home_ties[i], care, partner_home, partner_abroad, children, near, wish_improve[i],
                         ctx[1], ctx[2], since, ctx[3])
        back[j] = kernels.happens(kernels.uniform_at(key, i), x)
    return back
