"""After return: sector, knowledge transfer and the drift to private practice (NEWMAN2025)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..population import RETURNED, RETURNED_PRIVATE, RETURNED_PUBLIC
from ..schema import nonneg, prob, real
from . import Process


@dataclass
class SectorParams:
    """Sector after return, drift to private practice, knowledge transfer (NEWMAN2025)."""

    academic_base: float = real()
    private_base: float = real()
    b_public_policy_orientation: float = real()
    b_academic_research: float = real()
    b_academic_wish_improve: float = real()
    b_academic_research_tilt: float = real()
    b_private_disillusion: float = real()
    drift_to_private_base: float = prob()
    kt_mult_public: float = nonneg(5.0)
    kt_mult_private: float = nonneg(5.0)
    kt_mult_academic: float = nonneg(5.0)
    kt_reintegration_support_gain: float = nonneg(5.0)


_RETURNED_STAGES = np.array(RETURNED, np.int8)  # stage by sector code


class Returnees(Process):
    """Returnees choose a sector on return and may transfer knowledge; disillusionment with
    the state system moves public-sector returnees to private practice."""

    name = "returnees"

    def __init__(self, model) -> None:
        self.coef = kernels.coefficients(model.cfg.params.sector)

    def return_home(self, model, ids: np.ndarray, cause: str) -> None:
        if len(ids) == 0:
            return
        pop, cfg, year = model.pop, model.cfg, model.year
        o = cfg.origin
        sector, kt = sectors_on_return(ids, pop.research, pop.wish_improve, pop.research_tilt, pop.orientation,
                                       o.public_system_satisfaction, o.knowledge_absorption,
                                       cfg.policy.reintegration_support, model.streams.key("sector", year),
                                       model.streams.key("knowledge", year), self.coef)
        pop.sector[ids] = sector
        pop.return_year[ids] = year
        pop.kt[ids] = kt
        model.move(ids, _RETURNED_STAGES[sector], cause)
        model.flow["returns"] += len(ids)

    def step(self, model) -> None:
        pop, cfg = model.pop, model.cfg
        ids = model.mobile_in(RETURNED_PUBLIC)
        ids = ids[pop.stage_since[ids] < model.year]
        p = cfg.params.sector.drift_to_private_base * (1 - cfg.origin.public_system_satisfaction)
        who = ids[model.uniform("sector", ids, 1) < p]
        pop.sector[who] = 1
        model.move(who, RETURNED_PRIVATE, "sector_switch")


@kernels.compiled
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


@kernels.compiled
def knowledge_transfer_prob(p, knowledge_absorption, sector, reintegration_support):
    if sector == 0:
        mult = p.kt_mult_public
    elif sector == 1:
        mult = p.kt_mult_private
    else:
        mult = p.kt_mult_academic
    return min(max(knowledge_absorption * mult + p.kt_reintegration_support_gain * reintegration_support, 0.0), 1.0)


@kernels.compiled
def sectors_on_return(ids, research, wish_improve, research_tilt, orientation, public_system_satisfaction,
                      knowledge_absorption, reintegration_support, key_sector, key_kt, coef):
    """Each returnee's sector (0 public, 1 private, 2 academic) and whether they transfer knowledge."""
    p = coef[0]
    m = ids.shape[0]
    sector = np.empty(m, np.int8)
    kt = np.empty(m, np.bool_)
    for j in range(m):
        i = ids[j]
        s = sector_choice(p, public_system_satisfaction, research[i], wish_improve[i], research_tilt[i],
                          orientation[i] == 2, kernels.uniform_at(key_sector, i))
        sector[j] = s
        kt[j] = kernels.uniform_at(key_kt, i) < knowledge_transfer_prob(p, knowledge_absorption, s,
                                                                        reintegration_support)
    return sector, kt
