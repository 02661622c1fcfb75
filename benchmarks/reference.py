"""A per-agent reference implementation of the career-migration model, in classic Mesa style.

This is the baseline the array-based model (``sim/model.py``) is measured and tested
against. It takes the same :class:`sim.config.SimConfig` and states no formula of its own:
every decision calls the model's scalar rule for one person (the plain-Python function
behind each compiled rule, ``rule.py_func``). What it does on its own, the classic way, is
everything around the rules, which is where an array model's bugs hide:

* every person is a :class:`RefPerson` (a ``mesa.Agent``) holding its state as ordinary
  attributes, and its network ties as a list of other people, drawn at entry;
* every draw is a scalar draw from ``model.random`` (a ``random.Random`` seeded from the
  config seed), so none of the model's counter-based streams, pre-drawn schedules or
  quantile tables is reused;
* the year is a sequence of phases, each ``model.agents.do(<phase>)``, in the order of
  ``sim.model.PROCESSES``; capacity-limited parts (elective slots, scholarships, the
  match) are done by the model between phases with plain lists and ``sort``;
* nothing is scheduled in advance and no one is skipped: each year every agent checks its
  own death, retirement and leaving (the yearly probabilities of the same life-course
  distributions), every eligible graduate evaluates the intention rule (the model draws
  candidate years by thinning instead), and the match ranks an explicitly drawn world pool
  (the model draws only the counts above each origin applicant);
* the spin-up is simulated the same way and left out of the records.

The two use different random numbers, so they are compared as distributions over seeds
(``tests/test_reference.py``). The outputs are read by the model's own ``sim.metrics``
through :func:`as_model`, which lays the agents' state out as the model's arrays.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from types import SimpleNamespace

import mesa
import numpy as np

from sim import kernels
from sim.config import neutral_policy
from sim.events import CAUSE
from sim.model import FLOWS
from sim.population import (EXITED, FIELDS, HOME_PRACTICE, HOME_TRAINING, NO_YEAR, NONE, PRACTISING_ABROAD,
                            PREPARING, RETURNED, RETURNED_ACADEMIC, RETURNED_PRIVATE, RETURNED_PUBLIC, STAGES,
                            STUDENT, TRAINING_ABROAD)
from sim.processes import (abroad, electives, exams, intention, life, match, research, returnees)

PHASES = ("life", "entry", "research", "electives", "graduation", "intention", "exams", "match", "abroad",
          "returnees", "feedback", "record")

_inv_cdf = NormalDist().inv_cdf


def rules():
    """The model's scalar rules as plain Python functions (``py_func`` of each compiled rule)."""
    kernels.compile_all()

    def py(module, name):
        return getattr(module, name).py_func

    return {
        "expit": py(kernels, "expit"), "logit": py(kernels, "logit"),
        "seek_logit": py(research, "seek_logit"), "research_logit": py(research, "research_interest_logit"),
        "apply_logit": py(electives, "apply_logit"), "prefers_hic_logit": py(electives, "prefers_hic_logit"),
        "elective_research_logit": py(electives, "research_logit"), "afford_logit": py(electives, "afford_logit"),
        "fixed_logit": py(intention, "fixed_logit"), "intention_logit": py(intention, "intention_logit"),
        "act_fixed": py(intention, "act_fixed"), "act_logit": py(intention, "act_logit"), "pass_logit": py(exams, "pass_logit"),
        "give_up_prob": py(exams, "give_up_prob"), "passers_exam_score": py(exams, "passers_exam_score"),
        "match_score": py(match, "match_score"), "wish_improve_logit": py(match, "wish_improve_logit"),
        "return_logit": py(abroad, "return_logit"), "family": py(life, "family"),
        "partner_abroad": py(life, "partner_abroad"), "sector_choice": py(returnees, "sector_choice"),
        "kt_logit": py(returnees, "knowledge_transfer_logit"), "reemigration_logit": py(returnees, "reemigration_logit"),
    }


def record(params) -> SimpleNamespace:
    """A parameter group as the rules read it (``p.name``, and ``p.logit_name`` for each
    probability), the same values the model hands its compiled code."""
    coef = kernels.coefficients(params)
    return SimpleNamespace(**{name: float(coef[0][name]) for name in coef.dtype.names})


class RefPerson(mesa.Agent):
    """One medical student or graduate; all state in plain attributes."""

    def __init__(self, model: "ReferenceModel", uid: int, cohort: int):
        super().__init__(model)
        o, rnd = model.cfg.origin, model.random
        self.uid = uid
        self.cohort = cohort
        sec = o.second_section
        self.section = 1 if sec is not None and rnd.random() < sec.share else 0
        src = sec if self.section == 1 else o
        self.female = rnd.random() < o.female_share
        self.motivation = rnd.betavariate(src.motivation.a, src.motivation.b)
        self.english = rnd.betavariate(src.english.a, src.english.b)
        self.resources = rnd.betavariate(o.resources.a, o.resources.b)
        self.home_ties = rnd.betavariate(src.home_ties.a, src.home_ties.b)
        self.standing = rnd.random()
        self.satisfaction_offset = rnd.gauss(0.0, o.training_satisfaction_sd)
        u = rnd.random()
        self.orientation = (1 if u < o.orientation_research_share
                            else 2 if u < o.orientation_research_share + o.orientation_policy_share else 0)
        self.time_barrier = rnd.random() < src.time_barrier_share
        self.pay_barrier = rnd.random() < src.pay_barrier_share
        # life course: ages drawn from the same distributions as the model's
        lp = model.cfg.params.life
        while True:
            ra = rnd.gauss(lp.retirement_age_mean, lp.retirement_age_sd) if lp.retirement_age_sd > 0 \
                else lp.retirement_age_mean
            if lp.retirement_age_min <= ra <= lp.retirement_age_max or lp.retirement_age_sd == 0:
                break
        self.retire_age = min(max(ra, lp.retirement_age_min), lp.retirement_age_max)
        if rnd.random() < lp.partner_share:
            self.partner_age = max(rnd.gauss(lp.partner_age_mean, lp.partner_age_sd), o.entry_age)
            self.child_age = (self.partner_age + rnd.expovariate(1.0 / lp.child_delay_years)
                              if rnd.random() < lp.children_share else math.inf)
        else:
            self.partner_age = self.child_age = math.inf
        self.care_age = rnd.gauss(lp.parents_care_age_mean, lp.parents_care_age_sd)
        self.ties: list[RefPerson] = []
        # everything else starts as the model's arrays do
        for name, (_dtype, fill) in FIELDS.items():
            if not hasattr(self, name):
                setattr(self, name, fill)
        self.stage = STUDENT
        self.stage_since = model.year
        self.eligible_from = NO_YEAR  # first year the intention rule may be evaluated
        self._app = None              # this year's elective application

    # ---------------------------------------------------------------- helpers
    @property
    def age(self) -> float:
        return self.model.cfg.origin.entry_age + (self.model.year - self.cohort)

    def fam(self):
        lp = self.model.cfg.params.life
        return self.model.r["family"](self.age, self.partner_age, self.child_age, self.care_age,
                                      lp.children_dependent_years, lp.parents_care_years)

    def move(self, to_stage: int, cause: str) -> None:
        """Change stage (``cause`` names the event; the reference keeps no event log)."""
        m = self.model
        m.stocks[self.stage] -= 1
        m.stocks[to_stage] += 1
        self.stage = to_stage
        self.stage_since = m.year

    def peer_share(self, attribute: str) -> float:
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if getattr(t, attribute) > 0) / len(self.ties)

    def dissatisfaction(self) -> float:
        return 1.0 - min(max(self.model.quality + self.satisfaction_offset, 0.0), 1.0)

    @property
    def at_home(self) -> bool:
        return self.stage in (HOME_TRAINING, HOME_PRACTICE)

    # ---------------------------------------------------------------- life
    def life_phase(self) -> None:
        """Death, retirement, dropout, leaving medicine: this year's chance of each."""
        m = self.model
        if self.stage == EXITED or m.year <= self.cohort:
            return
        lp, o, rnd = m.cfg.params.life, m.cfg.origin, m.random
        age, prev = self.age, self.age - 1.0
        a, b = lp.mortality_gompertz_a, lp.mortality_gompertz_b
        if a > 0 and b > 0:
            cum = lambda x: (a / b) * (math.exp(b * x) - math.exp(b * o.entry_age))  # noqa: E731
            p_death = 1.0 - math.exp(-(cum(age) - cum(max(prev, o.entry_age))))
        elif a > 0:
            p_death = 1.0 - math.exp(-a)
        else:
            p_death = 0.0
        study_years = m.year - self.cohort  # years since entry; school until school_years - 1
        cause = None
        if rnd.random() < p_death:
            cause = "death"
        elif study_years >= o.school_years and age >= self.retire_age:
            cause = "retired"
        elif study_years <= o.school_years - 1:
            if rnd.random() < lp.student_dropout_annual:
                cause = "dropout"
        elif study_years <= o.school_years - 1 + 120 and rnd.random() < lp.leave_medicine_annual:
            cause = "left_medicine"
        if cause is not None:
            self.exit(cause)

    def exit(self, cause: str) -> None:
        m = self.model
        self.move(EXITED, cause)
        self.exit_year = m.year
        self.exit_cause = CAUSE[cause]
        m.flow["exits"] += 1

    # ---------------------------------------------------------------- research (POP2024)
    def research_phase(self) -> None:
        m = self.model
        if self.stage != STUDENT or self.research:
            return
        sy = m.year - self.cohort + 1
        hazard = m.research_hazard.get(sy, 0.0)
        if hazard <= 0:
            return
        p, ref, r = m.coef["research"], m.ref, m.r
        x = r["research_logit"](p, ref, r["seek_logit"](hazard, ref), self.motivation, self.time_barrier,
                                self.pay_barrier, self.orientation == 1)
        seeks = m.random.random() < r["expit"](x)
        found = m.random.random() < m.mentor_by_section[self.section]
        if seeks and found:
            self.research = True
            self.research_year = m.year
            m.flow["research_started"] += 1

    # ---------------------------------------------------------------- electives (SON2021, ELECTIVES)
    def elective_phase(self) -> None:
        self._app = None
        if self.stage != STUDENT:
            return
        m = self.model
        m.flow["students_enrolled"] += 1
        hosts = m.cfg.origin.electives
        if (m.year - self.cohort + 1) not in m.elective_years or self.n_electives >= hosts.max_per_student:
            return
        p, ref, r, rnd = m.coef["elective"], m.ref, m.r, m.random
        x = r["apply_logit"](p, ref, self.motivation, self.english, self.standing, self.resources, self.home_ties,
                             self.peer_share("n_electives"))
        if not rnd.random() < r["expit"](x):
            return
        hic = rnd.random() < r["expit"](r["prefers_hic_logit"](p, ref, self.english))
        research_type = rnd.random() < r["expit"](r["elective_research_logit"](p, self.research))
        priority = self.standing + self.english + p.host_priority_noise_sd * rnd.gauss(0.0, 1.0)
        place = (0 if rnd.random() < hosts.destination_share else 1) if hic else 2
        self._app = (hic, research_type, priority, place)
        m.elective_applicants.append(self)

    def take_elective(self, award: bool) -> None:
        m = self.model
        hosts, pol, rnd = m.cfg.origin.electives, m.policy, m.random
        hic, research_type, _, place = self._app
        cost = hosts.cost_hic_usd if hic else hosts.cost_lmic_usd
        funds = self.resources * m.cfg.origin.family_funds_usd + (pol.scholarship_amount_usd if award else 0.0)
        if not rnd.random() < m.r["expit"](m.r["afford_logit"](m.coef["elective"], funds, cost)):
            return
        if award:
            m.flow["scholarships"] += 1
        if self.n_electives == 0:
            self.elective_type = int(research_type)
            self.elective_place = place
        self.n_electives += 1
        self.hic_elective = self.hic_elective or hic
        self.destination_elective = self.destination_elective or place == 0
        ef = m.cfg.params.elective_effects
        role, trans = rnd.random() < ef.role_model, rnd.random() < ef.perspective_transformed
        tilt = research_type and rnd.random() < ef.research_tilt_given_research
        intl = place == 2 and rnd.random() < ef.intl_health_given_lmic
        self.role_model, self.transformed = self.role_model or role, self.transformed or trans
        self.research_tilt, self.intl_health = self.research_tilt or tilt, self.intl_health or intl
        m.flow["electives_started"] += 1
        m.flow["electives_hic"] += int(hic)
        m.flow["electives_destination"] += int(place == 0)
        m.flow["electives_research"] += int(research_type)

    # ---------------------------------------------------------------- graduation, home training
    def graduation_phase(self) -> None:
        m = self.model
        o = m.cfg.origin
        if self.stage == HOME_TRAINING and self.grad_year == m.year - o.home_training_years:
            self.move(HOME_PRACTICE, "home_training_completed")
            return
        if self.stage != STUDENT or m.year - self.cohort + 1 != o.school_years:
            return
        self.publication = self.research and m.random.random() < m.cfg.params.research.publication_given_research
        self.grad_year = m.year
        self.move(HOME_TRAINING, "graduation")
        m.flow["graduates"] += 1
        sec = o.second_section
        if self.section == 1 and sec is not None and m.random.random() < sec.leave_after_graduation_share:
            self.exit("left_origin")
            return
        self.eligible_from = m.year

    # ---------------------------------------------------------------- intention and action
    def act_phase(self) -> None:
        """Those who intended before this year start the exams, or their intention fades."""
        m = self.model
        if not self.intending:
            return
        if not self.at_home:
            self.intending = False
            return
        if self.intention_since >= m.year:
            return
        partner, children, care = self.fam()
        refusal = min(1.0, m.cfg.destination.visa_denial_prob * m.policy.visa_denial_multiplier)
        fixed = m.r["act_fixed"](m.coef["pathway"], m.ref, self.resources, self.english, self.standing)
        x = m.r["act_logit"](m.coef["pathway"], m.ref, fixed, self.age, partner, children, care, refusal)
        if m.random.random() < m.r["expit"](x):
            self.intending = False
            if self.pathway_year == NO_YEAR:
                self.pathway_year = m.year
            self.attempt_since = m.year
            self.attempts += 1
            self.move(PREPARING, "pathway_start")
            m.flow["pathway_starts"] += 1
        elif m.random.random() < m.cfg.params.intention.lapse_annual:
            self.intending = False
            self.eligible_from = m.year + 1
            m.flow["intentions_lapsed"] += 1

    def intention_phase(self) -> None:
        m = self.model
        p, o = m.cfg.params.intention, m.cfg.origin
        if (not self.at_home or self.intending or self.spells > 0 or self.eligible_from == NO_YEAR
                or m.year < self.eligible_from
                or m.year > math.floor(self.cohort + p.max_age - o.entry_age) or m.year > m.cfg.years):
            return
        r, ctx = m.r, m.intention_context
        fixed = r["fixed_logit"](m.coef["intention"], m.ref, ctx, self.motivation, self.english,
                                 self.destination_elective, self.hic_elective, self.role_model, self.transformed,
                                 self.research_tilt)
        partner, children, care = self.fam()
        x = r["intention_logit"](m.coef["intention"], m.ref, ctx, fixed, self.dissatisfaction(),
                                 self.peer_share("spells"), self.age, partner, children, care)
        if m.random.random() < r["expit"](x):
            self.intending = True
            self.intention_since = m.year
            if self.intention_year == NO_YEAR:
                self.intention_year = m.year
            m.flow["intentions_formed"] += 1

    def give_up(self) -> None:
        m = self.model
        o = m.cfg.origin
        self.move(HOME_TRAINING if self.grad_year + o.home_training_years > m.year else HOME_PRACTICE, "gave_up")
        self.eligible_from = m.year + 1
        m.flow["gave_up"] += 1

    # ---------------------------------------------------------------- exams (IMGBLOG)
    def exam_phase(self) -> None:
        m = self.model
        if self.stage != PREPARING:
            return
        rnd, dest = m.random, m.cfg.destination
        if rnd.random() < m.cfg.params.pathway.observership_annual:
            self.observership = True
        if self.exams_passed >= dest.exams_required:
            return
        p = m.coef["exams"]
        if rnd.random() < m.r["expit"](m.r["pass_logit"](p, m.ref, m.r["logit"](dest.exam_pass_prob), self.standing,
                                                         self.english)):
            self.exams_passed += 1
            z = _inv_cdf(min(max(self.standing, 1e-6), 1 - 1e-6))
            score = z + m.cfg.params.exams.score_noise_sd * rnd.gauss(0.0, 1.0)
            self.exam_score += (score - self.exam_score) / self.exams_passed
            m.flow["exams_passed"] += 1
            return
        quits = rnd.random() < m.r["give_up_prob"](p, dest.exam_cost_usd, self.resources)
        if quits or m.year - self.attempt_since >= m.cfg.params.exams.max_prep_years:
            self.give_up()

    # ---------------------------------------------------------------- the match
    def match_phase(self) -> None:
        m = self.model
        if self.stage != PREPARING or self.exams_passed < m.cfg.destination.exams_required:
            return
        self.rounds += 1
        if self.first_round_year == NO_YEAR:
            self.first_round_year = m.year
        score = m.r["match_score"](m.coef["match"], self.exam_score + m.cfg.origin.exam_score_offset,
                                   self.destination_elective or self.observership, self.research,
                                   self.role_model and self.destination_elective, m.random.gauss(0.0, 1.0))
        m.match_applicants.append((score, self))

    def match_outcome(self, matched: bool) -> None:
        m = self.model
        p, dest, pol, rnd = m.cfg.params.match, m.cfg.destination, m.policy, m.random
        if matched:
            m.flow["matches"] += 1
            self.matched_round = self.rounds
            if rnd.random() < min(1.0, dest.visa_denial_prob * pol.visa_denial_multiplier):
                m.flow["visa_denied"] += 1
                self.give_up()
            else:
                self.depart()
        elif not (rnd.random() < p.retry_prob and self.rounds < p.max_rounds):
            self.give_up()

    def depart(self) -> None:
        m = self.model
        dest, rnd = m.cfg.destination, m.random
        total = sum(dest.training_years_probs)
        u, cum, k = rnd.random() * total, 0.0, 0
        for k, w in enumerate(dest.training_years_probs):
            cum += w
            if u < cum:
                break
        if self.abroad_start == NO_YEAR:
            self.abroad_start = m.year
        self.abroad_since = m.year
        self.spells += 1
        self.training_end = m.year + int(dest.training_years[k])
        self.visa = 1 if rnd.random() < dest.j1_share else 2
        x = m.r["wish_improve_logit"](m.coef["returning"], m.ref, self.dissatisfaction(), self.role_model)
        self.wish_improve = rnd.random() < m.r["expit"](x)
        self.move(TRAINING_ABROAD, "matched")
        m.flow["departures"] += 1

    # ---------------------------------------------------------------- abroad: stay or return
    def return_choice(self, at_training_end: bool) -> bool:
        m = self.model
        o, pol = m.cfg.origin, m.policy
        age = self.age
        spell_age = o.entry_age + (self.abroad_since - self.cohort)
        has_partner, children, care = self.fam()
        met_abroad = m.r["partner_abroad"](age, self.partner_age, spell_age, math.inf)
        near = self.retire_age - age <= m.cfg.params.returning.near_retirement_years
        since = m.year - self.training_done_year if self.training_done_year != NO_YEAR else 0
        x = m.r["return_logit"](m.coef["returning"], m.ref, self.home_ties, care, has_partner and not met_abroad,
                                met_abroad, children, near, self.wish_improve, o.income_gap - pol.returnee_premium,
                                o.reintegration_difficulty * (1 - pol.reintegration_support), since,
                                float(at_training_end))
        return m.random.random() < m.r["expit"](x)

    def abroad_phase(self) -> None:
        m = self.model
        if self.stage == TRAINING_ABROAD:
            if self.training_end > m.year:
                if self.stage_since < m.year and m.random.random() < m.cfg.params.returning.during_training_annual:
                    self.return_home("returned_during_training")
                return
            self.training_done_year = m.year
            if self.return_choice(at_training_end=True):
                self.return_home("returned")
                return
            if self.visa == 1:  # a J-1 holder who wants to stay needs a waiver
                self.waiver = m.random.random() < m.cfg.destination.waiver_prob
                if not self.waiver and m.policy.home_return_requirement:
                    self.return_home("visa_forced_return")
                    return
            self.move(PRACTISING_ABROAD, "training_completed")
        elif self.stage == PRACTISING_ABROAD and self.stage_since < m.year:
            if self.return_choice(at_training_end=False):
                self.return_home("returned")

    # ---------------------------------------------------------------- after return
    def return_home(self, cause: str) -> None:
        m = self.model
        p, o, pol, rnd = m.coef["returnees"], m.cfg.origin, m.policy, m.random
        sector = m.r["sector_choice"](p, o.public_system_satisfaction, self.research, self.wish_improve,
                                     self.research_tilt, self.orientation == 2, self.intl_health, rnd.random())
        x = m.r["kt_logit"](p, m.ref, sector, self.research or self.research_tilt, m.year - self.abroad_since,
                            o.knowledge_absorption, pol.reintegration_support)
        self.kt = rnd.random() < m.r["expit"](x)
        self.sector = sector
        self.return_year = m.year
        if self.first_return_year == NO_YEAR:
            self.first_return_year = m.year
        self.forced = cause == "visa_forced_return"
        self.move(RETURNED[sector], cause)
        m.flow["returns"] += 1
        m.flow["forced_returns"] += int(self.forced)

    def returnee_phase(self) -> None:
        m = self.model
        if self.stage not in RETURNED or self.stage_since >= m.year:
            return
        o, pol, rnd = m.cfg.origin, m.policy, m.random
        rp = m.cfg.params.returnees
        if self.stage == RETURNED_PUBLIC:
            rate = rp.drift_to_private_base * (1 - o.public_system_satisfaction)
            if rnd.random() < min(rate if self.kt else rate * rp.drift_kt_failed_factor, 1.0):
                self.sector = 1
                self.move(RETURNED_PRIVATE, "sector_switch")
                return  # a move this year: leaving again is for next year
        since = m.year - self.return_year
        residence = m.cfg.destination.home_residence_years if pol.home_return_requirement else 0
        if self.forced and since < residence:
            return
        age = self.age
        spell_age = o.entry_age + (self.abroad_since - self.cohort)
        back_age = o.entry_age + (self.return_year - self.cohort)
        _, _, care = self.fam()
        met_abroad = m.r["partner_abroad"](age, self.partner_age, spell_age, back_age)
        x = m.r["reemigration_logit"](m.coef["returnees"], m.ref, not self.kt, self.sector == 1,
                                      o.reintegration_difficulty * (1 - pol.reintegration_support),
                                      o.income_gap - pol.returnee_premium, met_abroad, self.home_ties, care, since,
                                      age, self.forced)
        if rnd.random() < m.r["expit"](x):
            self.abroad_since = m.year
            self.spells += 1
            self.reemigration_year = m.year
            self.visa = 2
            self.move(PRACTISING_ABROAD, "re_emigrated")
            m.flow["reemigrations"] += 1


class ReferenceModel(mesa.Model):
    """The per-agent reference: same config, same phases, the model's rules per agent."""

    def __init__(self, config, seed: int | None = None):
        super().__init__(rng=int(config.seed if seed is None else seed))
        self.cfg = config
        o, dest = config.origin, config.destination
        self.r = rules()
        self.coef = {name: record(getattr(config.params, name)) for name in
                     ("research", "elective", "intention", "pathway", "exams", "match", "returning", "returnees")}
        self.ref = record(config.params.reference)
        self.burn_in = life.burn_in_years(config)
        self.year = -self.burn_in
        self.intake = int(round(config.scale * o.intake_per_year))
        self.quality = float(o.training_quality_baseline)
        self.mentor_found = float(o.research_mentor_found)
        self.research_hazard = dict(zip(config.params.research.start_years, config.params.research.base_hazard))
        self.elective_years = set(o.elective_years)
        lp = config.params.life
        self.intention_context = np.array([o.entry_age, 1 - self.burn_in, self.intake, config.years,
                                           o.training_quality_baseline, o.income_gap, o.emigration_culture,
                                           lp.children_dependent_years, lp.parents_care_years])
        self._policy, self._status_quo = config.policy, neutral_policy(config.policy)
        self.policy = self._status_quo
        # the world pool, as the destination's rule puts it on the origin's scale
        p, ex = config.params.match, config.params.exams
        mean, sd = self.r["passers_exam_score"](dest.exam_pass_prob, ex.b_standing, dest.exams_required,
                                                ex.score_noise_sd)
        self.world_exam = (p.w_exam * mean, math.sqrt((p.w_exam * sd) ** 2 + p.noise_sd ** 2))
        self.people: list[RefPerson] = []
        self.cohorts: dict[int, list[RefPerson]] = {}
        self.stocks = [0] * len(STAGES)
        self.flow = dict.fromkeys(FLOWS, 0)
        self.stock_records: list[list[int]] = []
        self.flow_records: list[list[int]] = []
        self.env_records: list[tuple] = []
        for _ in range(self.burn_in):
            self.step()
        self.stocks[EXITED] = 0
        self.initial_size = sum(self.stocks)
        self.initial_stocks = list(self.stocks)
        self.quality_start = self.quality

    @property
    def mentor_by_section(self):
        sec = self.cfg.origin.second_section
        extra = self.mentor_found - self.cfg.origin.research_mentor_found
        return (self.mentor_found, min(1.0, sec.research_mentor_found + extra) if sec else 0.0)

    # ---------------------------------------------------------------- entry and network
    def enter_cohort(self, cohort: int) -> None:
        members = [RefPerson(self, len(self.people) + k, cohort) for k in range(self.intake)]
        net, rnd = self.cfg.params.network, self.random
        n = len(members)
        earlier = [p for c, people in self.cohorts.items() if cohort - net.alumni_span_years <= c < cohort
                   for p in people]
        for i, person in enumerate(members):
            person.ties = ([members[(i + rnd.randrange(1, n)) % n] for _ in range(net.peers)] if n > 1
                           else [person] * net.peers)
            pool = earlier or members  # the first cohort has no alumni: ties to its own
            person.ties += [pool[rnd.randrange(len(pool))] for _ in range(net.alumni)]
        self.cohorts[cohort] = members
        self.people.extend(members)
        self.stocks[STUDENT] += n
        self.flow["entrants"] += n

    # ---------------------------------------------------------------- the year
    def step(self) -> None:
        self.year += 1
        self.policy = self._policy if self.year >= self._policy.start_year else self._status_quo
        self.flow = dict.fromkeys(FLOWS, 0)
        agents = self.agents
        agents.do("life_phase")
        self.enter_cohort(self.year)
        agents.do("research_phase")
        self.elective_applicants: list[RefPerson] = []
        agents.do("elective_phase")
        self.allocate_electives()
        agents.do("graduation_phase")
        agents.do("act_phase")
        agents.do("intention_phase")
        agents.do("exam_phase")
        self.match_applicants: list[tuple[float, RefPerson]] = []
        agents.do("match_phase")
        self.run_match()
        agents.do("abroad_phase")
        agents.do("returnee_phase")
        self.update_environment()
        if self.year >= 1:
            self.record()
        for person in [a for a in agents if a.stage == EXITED]:
            person.remove()  # out of model.agents; kept in self.people for the outputs

    def run(self) -> "ReferenceModel":
        while self.year < self.cfg.years:
            self.step()
        return self

    # ---------------------------------------------------------------- collective parts
    def allocate_electives(self) -> None:
        apps = self.elective_applicants
        self.flow["elective_applications"] += len(apps)
        if not apps:
            return
        cfg, pol = self.cfg, self.policy
        hosts = cfg.origin.electives
        accepted: list[RefPerson] = []
        for is_hic, slots, threshold in ((True, hosts.hic_slots, hosts.english_threshold_hic),
                                         (False, hosts.lmic_slots, hosts.english_threshold_lmic)):
            n_slots = int(round(slots * cfg.scale * pol.elective_slots_multiplier))
            pool = [a for a in apps if a._app[0] == is_hic and a.english >= threshold]
            pool.sort(key=lambda a: a._app[2], reverse=True)
            accepted += pool[:max(n_slots, 0)]
        self.flow["electives_accepted"] += len(accepted)
        n_awards = int(pol.scholarship_budget_usd * pol.scholarship_budget_multiplier * cfg.scale
                       // pol.scholarship_amount_usd)
        awarded = set(sorted(accepted, key=lambda a: a.standing, reverse=True)[:max(n_awards, 0)])
        for person in accepted:
            person.take_elective(person in awarded)

    def run_match(self) -> None:
        cfg, pol, rnd = self.cfg, self.policy, self.random
        dest = cfg.destination
        positions = int(round(dest.img_positions * pol.img_positions_multiplier * cfg.scale))
        self.positions = positions
        apps = self.match_applicants
        if not apps:
            return
        self.flow["applications"] += len(apps)
        p = cfg.params.match
        mean, sd = self.world_exam
        world = []
        for _ in range(int(round(dest.world_pool_applicants * cfg.scale))):
            x = mean + sd * rnd.gauss(0.0, 1.0)
            x += p.w_clinical_experience * (rnd.random() < dest.world_pool_clinical_experience_share)
            x += p.w_research * (rnd.random() < dest.world_pool_research_share)
            x += p.w_letters * (rnd.random() < dest.world_pool_letters_share)
            world.append(x)
        ranked = [(score, i) for i, (score, _) in enumerate(apps)] + [(w, -1) for w in world]
        ranked.sort(key=lambda e: e[0], reverse=True)
        matched = {i for _, i in ranked[:max(positions, 0)] if i >= 0}
        for i, (_, person) in enumerate(apps):
            person.match_outcome(i in matched)

    def update_environment(self) -> None:
        cfg = self.cfg
        o, fb = cfg.origin, cfg.params.feedback
        decay = math.log(2.0) / fb.knowledge_half_life_years
        academic = [a for a in self.agents if a.stage == RETURNED_ACADEMIC]
        current = sum(math.exp(-decay * (self.year - a.return_year)) for a in academic if a.kt)
        home = sum(self.stocks[s] for s in (HOME_TRAINING, HOME_PRACTICE, PREPARING, *RETURNED))
        density = current / max(home, 1) * fb.density_per_doctors
        q = self.quality
        q = (q + fb.quality_gain_per_returnee_density * density * (o.training_quality_max - q)
             - fb.depreciation_annual * (q - o.training_quality_baseline) + self.policy.training_quality_investment)
        self.quality = min(max(q, o.training_quality_baseline), o.training_quality_max)
        students = max(self.stocks[STUDENT], 1)
        self.mentor_found = min(1.0, o.research_mentor_found
                                + cfg.params.research.mentor_per_academic_returnee * len(academic) / students)

    def record(self) -> None:
        self.stock_records.append(list(self.stocks))
        self.flow_records.append([self.flow[k] for k in FLOWS])
        self.env_records.append((self.quality, self.mentor_found))


# -------------------------------------------------------------------- outputs
class _View:
    """The reference's state laid out as the model's arrays, for ``sim.metrics``."""

    def __init__(self, model: ReferenceModel):
        people = model.people
        self.n = len(people)
        for name, (dtype, fill) in FIELDS.items():
            values = [getattr(p, name) for p in people]
            setattr(self, name, np.array(values, dtype=dtype) if values else np.empty(0, dtype))
        self.cohort = np.array([p.cohort for p in people], np.int16)


def as_model(model: ReferenceModel):
    """An object with the attributes ``sim.metrics.summary`` and ``timeseries`` read."""
    view = type("ReferenceRun", (), {})()
    view.cfg, view.year, view.pop = model.cfg, model.year, _View(model)
    view.stock_records = np.array(model.stock_records, np.int64)
    view.flow_records = np.array(model.flow_records, np.int64)
    view.env_records = np.array([(q, m, 0, 0, 0, 0) for q, m in model.env_records], float)
    view.initial_size, view.quality_start, view.quality = model.initial_size, model.quality_start, model.quality
    view.calendar_year = lambda t=None: model.cfg.start_year - 1 + (model.year if t is None else t)
    view.age = lambda ids, t=None: model.cfg.origin.entry_age + ((model.year if t is None else t) - view.pop.cohort[ids])
    return view


def reference_summary(model: ReferenceModel) -> dict:
    from sim import metrics

    return metrics.summary(as_model(model))


def agent_steps(stock_records) -> int:
    """Person-years simulated in the reported years: the sum over years of every stock except ``exited``."""
    return int(sum(sum(row[:EXITED]) + sum(row[EXITED + 1:]) for row in stock_records))


__all__ = ["ReferenceModel", "RefPerson", "reference_summary", "as_model", "agent_steps", "PHASES", "NONE"]
