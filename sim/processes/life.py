"""The life course: leaving medicine, death and retirement, and the family events that
weigh on going abroad and on coming back (partner, children, ageing parents).

Everything here depends only on a person's age, which is known in advance, so it is drawn
once when the run is set up, from counter-based uniforms (one stream per quantity):

- **Death** at an age drawn from a Gompertz hazard ``a * exp(b * age)`` from the entry age
  on (continuous time; the person leaves in the year they reach it).
- **Retirement** at an age drawn from a normal distribution truncated to
  [``retirement_age_min``, ``retirement_age_max``]; students do not retire.
- **Dropout** from medical school (a yearly hazard over the study years after the first)
  and **leaving medicine** after graduation (a yearly hazard from the year after it), both
  geometric, from one uniform.
- **Partner**: formed by ``partner_share`` of people, at a normally distributed age.
  Where the person is at that age (at home or abroad) decides whether the partner ties
  them to home or to the destination; the decisions read it when they need it.
- **Children**: a first child for ``children_share`` of those with a partner, an
  exponentially distributed time after the partnership; dependent for
  ``children_dependent_years``.
- **Ageing parents** at home need care from a normally distributed age, for
  ``parents_care_years``.

The exits are sorted by year once (a counting sort), so each year's step only takes its
slice. Family states are not events of their own: the rules evaluate them from the drawn
ages (:func:`family`), so nobody idle is visited.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import kernels
from ..events import CAUSE
from ..population import EXITED
from ..schema import _f, nonneg, positive, prob
from . import Process


@dataclass
class LifeParams:
    """The life course: dropout, leaving medicine, death, retirement, partner, children,
    ageing parents."""

    student_dropout_annual: float = prob()
    leave_medicine_annual: float = prob()
    mortality_gompertz_a: float = nonneg(1.0)
    mortality_gompertz_b: float = nonneg(1.0)
    retirement_age_mean: float = _f(40, 100)
    retirement_age_sd: float = nonneg(30.0)
    retirement_age_min: float = _f(40, 100)
    retirement_age_max: float = _f(40, 100)
    partner_share: float = prob()
    partner_age_mean: float = _f(15, 80)
    partner_age_sd: float = nonneg(30.0)
    children_share: float = prob()
    child_delay_years: float = positive(30.0)
    children_dependent_years: float = nonneg(40.0)
    parents_care_age_mean: float = _f(15, 100)
    parents_care_age_sd: float = nonneg(30.0)
    parents_care_years: float = nonneg(50.0)


EXIT_CAUSES = ("death", "retired", "dropout", "left_medicine")
_EXIT_CODES = np.array([CAUSE[name] for name in EXIT_CAUSES], np.int8)


def burn_in_years(cfg) -> int:
    """Years simulated before the first reported one: enough for everyone who can still be
    working when reporting starts (up to the oldest retirement age) to have been simulated
    from medical-school entry on."""
    return int(math.ceil(cfg.params.life.retirement_age_max - cfg.origin.entry_age))


class Life(Process):
    """Exits in their year (drawn at set-up); family events read from the drawn ages."""

    name = "life"

    def __init__(self, model) -> None:
        self.order = np.empty(0, np.int64)   # ids by exit year
        self.causes = np.empty(0, np.int8)   # their cause codes
        self.offsets = np.zeros(1, np.int64)  # order[offsets[y - y0]:offsets[y - y0 + 1]] exit in year y
        self.first_year = 0

    def on_draw(self, model, lo: int, hi: int) -> None:
        """Draw everyone's life course (ids ``lo..hi-1``) and sort the exits by year."""
        cfg, pop = model.cfg, model.pop
        p, o = cfg.params.life, cfg.origin
        key = model.streams.key
        exit_year, cause = draw_life_course(
            lo, hi, model.first_cohort, model.intake, o.entry_age, o.school_years, pop.retire_age, pop.partner_age,
            pop.child_age, pop.care_age, death_age_quantiles(p, o.entry_age), EXPONENTIAL_QUANTILES,
            kernels.coefficients(p), *(key("life", 0, draw) for draw in range(8)))
        self.first_year = model.first_cohort + 1
        schedule = by_year(exit_year, cause, self.first_year, cfg.years, lo)
        if len(self.order):  # people drawn before (a base population): theirs first in each year, as one sort gives
            schedule = merged((self.order, self.causes, self.offsets), schedule)
        self.order, self.causes, self.offsets = schedule

    def _state_copy(self, attribute: str, value, base: "Life"):
        """The exit schedule is only read: runs from one base population share it."""
        return value

    def step(self, model) -> None:
        k = model.year - self.first_year
        if k < 0 or k + 1 >= len(self.offsets):
            return
        a, b = self.offsets[k], self.offsets[k + 1]
        if a == b:
            return
        ids, causes = self.order[a:b], self.causes[a:b]
        here = model.pop.stage[ids] != EXITED  # not those out already (left the origin at graduation)
        if not here.all():
            ids, causes = ids[here], causes[here]
        model.move(ids, EXITED, causes)
        model.pop.exit_year[ids] = model.year
        model.pop.exit_cause[ids] = causes
        model.flow["exits"] += len(ids)


_GRID = np.linspace(0.0, 1.0, kernels.QUANTILE_POINTS)
EXPONENTIAL_QUANTILES = -np.log1p(-np.minimum(_GRID, 1.0 - 1e-12))  # standard exponential, for from_table


def death_age_quantiles(p: LifeParams, entry_age: float) -> np.ndarray:
    """Quantile table of the age at death under the Gompertz hazard ``a * exp(b * age)`` from
    ``entry_age`` on (capped at 150: nobody reaches it), for :func:`sim.kernels.from_table`."""
    a, b = p.mortality_gompertz_a, p.mortality_gompertz_b
    tail = -np.log1p(-np.minimum(_GRID, 1.0 - 1e-12))  # cumulative hazard reached
    with np.errstate(divide="ignore", over="ignore"):
        if a <= 0.0:
            age = np.full_like(_GRID, 150.0)
        elif b <= 0.0:
            age = entry_age + tail / a
        else:
            age = np.log(np.exp(b * entry_age) + (b / a) * tail) / b
    return np.minimum(age, 150.0)


@kernels.compiled
def draw_life_course(lo, hi, first_cohort, intake, entry_age, school_years, retire_age, partner_age, child_age,
                     care_age, death_quantiles, exponential_quantiles, coef, k_death, k_retire, k_other, k_partner,
                     k_partner_age, k_child, k_child_age, k_care):
    """Each person's retirement, partner, child and parents' care ages, and the year and
    cause of their exit (-1 and 0 if never). Returns (exit_year, cause index into
    EXIT_CAUSES) for ids ``lo..hi-1``."""
    p = coef[0]
    n = hi - lo
    exit_year = np.empty(n, np.int64)
    cause = np.empty(n, np.int8)
    lo_z = (p.retirement_age_min - p.retirement_age_mean) / max(p.retirement_age_sd, 1e-9)
    hi_z = (p.retirement_age_max - p.retirement_age_mean) / max(p.retirement_age_sd, 1e-9)
    c_lo, c_hi = kernels.norm_cdf(lo_z), kernels.norm_cdf(hi_z)
    study_exposure = school_years - 1
    stay_school = (1.0 - p.student_dropout_annual) ** study_exposure   # no dropout over the study years
    log_stay_school = math.log(1.0 - p.student_dropout_annual) if p.student_dropout_annual < 1.0 else -math.inf
    log_stay_career = math.log(1.0 - p.leave_medicine_annual) if p.leave_medicine_annual < 1.0 else -math.inf
    career_cap = 120  # no career lasts longer: beyond this, leaving medicine is never reached
    stay_career = (1.0 - p.leave_medicine_annual) ** career_cap
    for j in range(n):
        i = lo + j
        cohort = first_cohort + i // intake
        # retirement: truncated normal
        if p.retirement_age_sd > 0.0:
            z = kernels.norm_ppf(c_lo + kernels.uniform_at(k_retire, i) * (c_hi - c_lo))  # exact: truncated
            ra = min(max(p.retirement_age_mean + p.retirement_age_sd * z, p.retirement_age_min), p.retirement_age_max)
        else:
            ra = min(max(p.retirement_age_mean, p.retirement_age_min), p.retirement_age_max)
        retire_age[i] = ra
        # death: the Gompertz age-at-death quantile
        da = kernels.from_table(death_quantiles, kernels.uniform_at(k_death, i))
        # dropout or leaving medicine: geometric, from one uniform w (memoryless); the
        # logarithm is taken only for the few who do leave
        w = 1.0 - kernels.uniform_at(k_other, i)
        other_year = 32767
        other = 3
        if w > stay_school:  # drops out in study year t
            t = 1.0 if log_stay_school == -math.inf else 1.0 + math.floor(math.log(w) / log_stay_school)
            other_year = cohort + int(min(t, study_exposure))
            other = 2
        else:
            w = w / stay_school if stay_school > 0.0 else 1.0
            if w > stay_career:  # leaves medicine t years after graduating
                t = 1.0 if log_stay_career == -math.inf else 1.0 + math.floor(math.log(w) / log_stay_career)
                other_year = cohort + study_exposure + int(min(t, career_cap))
        # the exit: the first of death, retirement, dropout or leaving medicine
        death_year = cohort + max(1, int(math.ceil(da - entry_age))) if da < 1e4 else 32767
        retire_year = max(cohort + school_years, cohort + int(math.ceil(ra - entry_age)))
        y, c = death_year, 0
        if retire_year < y:
            y, c = retire_year, 1
        if other_year < y:
            y, c = other_year, other
        exit_year[j] = y
        cause[j] = c
        # family
        if kernels.uniform_at(k_partner, i) < p.partner_share:
            pa = p.partner_age_mean + p.partner_age_sd * kernels.from_table(kernels.NORMAL_QUANTILES,
                                                                            kernels.uniform_at(k_partner_age, i))
            pa = max(pa, entry_age)
            partner_age[i] = pa
            if kernels.uniform_at(k_child, i) < p.children_share:
                child_age[i] = pa + p.child_delay_years * kernels.from_table(exponential_quantiles,
                                                                            kernels.uniform_at(k_child_age, i))
            else:
                child_age[i] = np.inf
        else:
            partner_age[i] = np.inf
            child_age[i] = np.inf
        care_age[i] = p.parents_care_age_mean + p.parents_care_age_sd * kernels.from_table(
            kernels.NORMAL_QUANTILES, kernels.uniform_at(k_care, i))
    return exit_year, cause


def by_year(exit_year: np.ndarray, cause: np.ndarray, first_year: int, last_year: int, lo: int):
    """Counting sort of the exits that fall in ``first_year..last_year``: (ids, cause codes,
    offsets) with the ids leaving in year y at ``offsets[y - first_year]`` up to the next offset."""
    order, codes, offsets = _counting_sort(exit_year, cause, first_year, last_year, lo, _EXIT_CODES)
    return order, codes, offsets


def merged(first: tuple, second: tuple) -> tuple:
    """Two exit schedules of :func:`by_year` over the same years merged into one, in each year
    the ids of ``first`` before those of ``second`` (what one sort gives when all of
    ``first``'s ids are below ``second``'s)."""
    (order1, codes1, off1), (order2, codes2, off2) = first, second
    return _merge(order1, codes1, off1, order2, codes2, off2)


@kernels.compiled
def _merge(order1, codes1, off1, order2, codes2, off2):
    """:func:`merged` in one pass: each year's block of the first schedule, then the second's."""
    offsets = off1 + off2
    order = np.empty(offsets[-1], np.int64)
    codes = np.empty(offsets[-1], np.int8)
    k = 0
    for y in range(offsets.shape[0] - 1):
        for j in range(off1[y], off1[y + 1]):
            order[k] = order1[j]
            codes[k] = codes1[j]
            k += 1
        for j in range(off2[y], off2[y + 1]):
            order[k] = order2[j]
            codes[k] = codes2[j]
            k += 1
    return order, codes, offsets


@kernels.compiled
def _counting_sort(exit_year, cause, first_year, last_year, lo, codes):
    span = last_year - first_year + 1
    offsets = np.zeros(span + 1, np.int64)
    for j in range(exit_year.shape[0]):
        y = exit_year[j]
        if first_year <= y <= last_year:
            offsets[y - first_year + 1] += 1
    for k in range(span):
        offsets[k + 1] += offsets[k]
    fill = offsets[:-1].copy()
    order = np.empty(offsets[span], np.int64)
    out_codes = np.empty(offsets[span], np.int8)
    for j in range(exit_year.shape[0]):
        y = exit_year[j]
        if first_year <= y <= last_year:
            k = fill[y - first_year]
            order[k] = lo + j
            out_codes[k] = codes[cause[j]]
            fill[y - first_year] += 1
    return order, out_codes, offsets


@kernels.compiled
def family(age, partner_age, child_age, care_age, dependent_years, care_years):
    """(has a partner, has dependent children, has parents needing care) at ``age``."""
    return (age >= partner_age, child_age <= age < child_age + dependent_years,
            care_age <= age < care_age + care_years)


@kernels.compiled
def partner_abroad(age, partner_age, abroad_age, back_age):
    """Whether the partnership formed while the person was abroad: between the age at which
    the current (or last) spell abroad began and the age at which it ended (``back_age``;
    infinite while still abroad). Such a partner ties the person to the destination."""
    return age >= partner_age and abroad_age <= partner_age < back_age

