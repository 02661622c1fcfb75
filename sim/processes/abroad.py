"""Training abroad and the yearly stay-or-return decision (NEWMAN2025, HEIST2018)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import PRACTISING_ABROAD, TRAINING_ABROAD
from ..schema import positive, prob, real
from . import Process


@dataclass
class ReturnParams:
    """Yearly stay-or-return decision after training (NEWMAN2025, HEIST2018)."""

    base_annual: float = prob()
    end_of_training_bump: float = real()
    b_family_home: float = real()
    b_family_abroad: float = real()
    family_abroad_tau_years: float = positive(100.0)
    b_wish_improve: float = real()
    wish_improve_base: float = prob()
    wish_improve_given_role_model: float = prob()
    b_income_gap: float = real()
    b_reintegration: float = real()
    b_years_abroad: float = real()
    during_training_annual: float = prob()


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
        pr = cfg.params.returning
        home = model.processes["returnees"]
        ids = model.mobile_in(TRAINING_ABROAD)
        if len(ids) == 0:
            return
        finishing = pop.training_end[ids] <= year
        during = ids[~finishing & (pop.stage_since[ids] < year)]  # not in the year they arrived
        quits = during[model.uniform("return", during, 1) < pr.during_training_annual]
        home.return_home(model, quits, "returned_during_training")
        done = ids[finishing]
        pop.training_done_year[done] = year
        back = self.choose(model, done, at_training_end=True)
        home.return_home(model, done[back], "returned")
        # J-1 holders who want to stay need a waiver of the home-residence requirement
        wants_stay = done[~back]
        j1 = wants_stay[pop.visa[wants_stay] == 1]
        pop.waiver[j1] = model.uniform("visa", j1, 2) < cfg.destination.waiver_prob
        forced = j1[~pop.waiver[j1]] if cfg.policy.home_return_requirement else j1[:0]
        home.return_home(model, forced, "visa_forced_return")
        model.flow["forced_returns"] += len(forced)
        model.move(wants_stay[pop.stage[wants_stay] == TRAINING_ABROAD], PRACTISING_ABROAD, "training_completed")

    def choose(self, model, ids: np.ndarray, at_training_end: bool) -> np.ndarray:
        pop, cfg = model.pop, model.cfg
        o, pol = cfg.origin, cfg.policy
        return return_choices(ids, model.year, pop.family_home, pop.abroad_start, pop.wish_improve,
                              pop.training_done_year, o.income_gap - pol.returnee_premium,
                              o.reintegration_difficulty * (1 - pol.reintegration_support), float(at_training_end),
                              model.streams.key("return", model.year), self.coef, model.ref)

    def practising(self, model) -> None:
        pop = model.pop
        ids = model.mobile_in(PRACTISING_ABROAD)
        ids = ids[pop.stage_since[ids] < model.year]  # those who just finished decided already
        back = self.choose(model, ids, at_training_end=False)
        model.processes["returnees"].return_home(model, ids[back], "returned")


@kernels.compiled
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


@kernels.compiled
def return_choices(ids, year, family_home, abroad_start, wish_improve, training_done_year, income_gap_eff,
                   reintegration_eff, at_training_end, key, coef, reference):
    p, ref = coef[0], reference[0]
    back = np.empty(ids.shape[0], np.bool_)
    for j in range(ids.shape[0]):
        i = ids[j]
        x = return_logit(p, ref, family_home[i], year - abroad_start[i], wish_improve[i],
                         year - training_done_year[i], income_gap_eff, reintegration_eff, at_training_end)
        back[j] = kernels.happens(kernels.uniform_at(key, i), x)
    return back
