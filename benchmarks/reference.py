"""A per-agent reference implementation of the career-migration model, in classic Mesa style.

This is the baseline the array-based model (``sim/model.py``) is measured and tested against.
It implements the SAME rules with the SAME parameters (a :class:`sim.config.SimConfig`,
built with ``sim.app.load_config``), but the way a textbook Mesa model would:

* every person is a :class:`RefPerson` (a ``mesa.Agent``) holding its state as ordinary
  Python attributes, and its network ties as a list of other ``RefPerson`` objects;
* every individual decision is a method of the agent, made with scalar draws
  (``model.random``, a ``random.Random`` seeded from the config seed) and ``math.exp``;
* the year is a sequence of phases (a staged activation), each one
  ``model.agents.do(<phase>)``; the phases are exactly those of ``CareerModel.step``, in
  the same order;
* the parts that are collective by nature (elective slots by host priority, scholarships to
  the top grades, the match against the world applicant pool, the environment feedback
  on training quality and mentor availability) are done by the model between phases,
  with plain Python lists and ``sort``.

Within a phase agents are visited in registration order (``do``, as Mesa's old
``StagedActivation`` did by default): no outcome depends on that order, because each
agent's draws are independent and every capacity-limited allocation is made by the model
after all agents of the phase have declared themselves.

It does not reproduce the array-based model's random draws (that model uses counter-based
streams per decision, see ``sim/streams.py``), only the same distributions: the two are
compared statistically over many seeds in ``tests/test_reference.py``.

Nothing from ``sim.decisions`` is used: the formulas are re-written here in scalar form on
purpose, so that the comparison checks the model's compiled rules too.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import mesa
import pandas as pd

from sim.model import FLOWS  # the same flow names as the model's records
from sim.population import (EXITED, HOME_PRACTICE, HOME_TRAINING, NONE, PRACTISING_ABROAD, PREPARING,
                            RETURNED, RETURNED_ACADEMIC, RETURNED_PRIVATE, RETURNED_PUBLIC, SECTORS, STAGES,
                            STUDENT, TRAINING_ABROAD)

# the order of the year, as in CareerModel.step
PHASES = ("exits", "entry", "research", "electives", "graduation", "home_training_progress",
          "pathway_start", "exams", "match", "training_abroad", "return_decision", "sector_drift",
          "update_environment", "record")

_inv_cdf = NormalDist().inv_cdf


def expit(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p: float) -> float:
    p = min(max(p, 1e-9), 1 - 1e-9)
    return math.log(p / (1.0 - p))


def clip(x: float, lo: float, hi: float) -> float:
    return lo if x < lo else hi if x > hi else x


class RefPerson(mesa.Agent):
    """One medical student or graduate; all state in plain attributes."""

    def __init__(self, model: "ReferenceModel", cohort: int, student_year: int):
        super().__init__(model)
        o, rnd = model.cfg.origin, model.random
        self.cohort = cohort
        self.student_year = student_year
        self.entry_age = float(o.entry_age)
        # traits drawn at entry
        self.female = rnd.random() < o.female_share
        self.motivation = rnd.betavariate(o.motivation.a, o.motivation.b)
        self.english = rnd.betavariate(o.english.a, o.english.b)
        self.standing = rnd.random()
        self.resources = rnd.betavariate(o.resources.a, o.resources.b)
        self.family_home = rnd.betavariate(o.family_ties_home.a, o.family_ties_home.b)
        self.satisfaction_offset = rnd.gauss(0.0, o.training_satisfaction_sd)
        u = rnd.random()
        self.orientation = (1 if u < o.orientation_research_share
                            else 2 if u < o.orientation_research_share + o.orientation_policy_share else 0)
        self.time_barrier = rnd.random() < o.time_barrier_share
        self.pay_barrier = rnd.random() < o.pay_barrier_share
        self.ties: list[RefPerson] = []
        # life course
        self.stage = STUDENT
        self.stage_since = max(model.year, 0)
        self.exit_year = NONE
        # research while a student
        self.research = False
        self.research_year = NONE
        self.publication = False
        # electives
        self.n_electives = 0
        self.elective_type = NONE
        self.elective_dest = NONE
        self.hic_elective = False
        self.role_model = False
        self.transformed = False
        self.research_tilt = False
        self.intl_health = False
        self._wants_hic = False          # this year's application, if any
        self._research_type = False
        self._priority = 0.0
        # graduation and the pathway abroad
        self.grad_year = NONE
        self.home_training_end = NONE
        self.pathway_year = NONE
        self.exams_passed = 0
        self.exam_score = 0.0
        self.rounds = 0
        self.first_round_year = NONE
        self.matched_round = NONE
        # abroad
        self.abroad_start = NONE
        self.training_end = NONE
        self.training_done_year = NONE
        self.visa = 0
        self.waiver = False
        self.wish_improve = False
        # return
        self.return_year = NONE
        self.sector = NONE
        self.kt = False

    # ---------------------------------------------------------------- helpers
    def move(self, to_stage: int) -> None:
        self.stage = to_stage
        self.stage_since = self.model.year

    def research_prob(self, student_year: int) -> float:
        m = self.model
        p, ref = m.cfg.params.research, m.cfg.params.reference
        hazard = m.research_hazard.get(student_year, 0.0)
        if hazard <= 0:
            return 0.0
        seek = min(hazard / ref.mentor_found, 0.999)
        x = (logit(seek)
             + p.b_motivation * (self.motivation - ref.motivation)
             + p.b_time_barrier * (self.time_barrier - ref.time_barrier)
             + p.b_pay_barrier * (self.pay_barrier - ref.pay_barrier)
             + p.b_orientation_research * (self.orientation == 1))
        return expit(x)

    def research_history(self) -> None:
        """Students already in school at the start: research engagement in their past years."""
        m = self.model
        for past in range(1, self.student_year):
            if self.research:
                break
            prob = self.research_prob(past)
            seeks = m.random.random() < prob
            found = m.random.random() < m.mentor_found
            if seeks and found:
                self.research = True
                self.research_year = self.cohort + past - 1

    def peer_share(self, attribute: str, missing) -> float:
        """Share of my ties whose ``attribute`` is not ``missing`` (ties drawn with replacement)."""
        if not self.ties:
            return 0.0
        return sum(1 for t in self.ties if getattr(t, attribute) != missing) / len(self.ties)

    # ---------------------------------------------------------------- 0. exits
    def exit_phase(self) -> None:
        m = self.model
        if m.year <= self.cohort:  # exposed from the first year after entry
            return
        p = m.cfg.params.exit
        age = self.entry_age + (m.year - self.cohort)
        student = self.stage == STUDENT
        death = min(p.mortality_gompertz_a * math.exp(p.mortality_gompertz_b * age), 1.0)
        other = p.student_dropout_annual if student else p.leave_medicine_annual
        retire = (not student) and age >= p.retirement_age
        u = m.random.random()
        if u < death:
            cause = "death"
        elif retire:
            cause = "retired"
        elif u < death + other * (1 - death):
            cause = "dropout" if student else "left_medicine"
        else:
            return
        self.move(EXITED)
        self.exit_year = m.year
        m.leaving.append(self)
        m.exit_causes[cause] = m.exit_causes.get(cause, 0) + 1

    # ---------------------------------------------------------------- 1. research
    def research_phase(self) -> None:
        if self.stage != STUDENT or self.research:
            return
        m = self.model
        seeks = m.random.random() < self.research_prob(self.student_year)
        found = m.random.random() < m.mentor_found
        if seeks and found:
            self.research = True
            self.research_year = m.year
            m.flow["research_started"] += 1

    # ---------------------------------------------------------------- 2-3. electives
    def elective_phase(self) -> None:
        """Apply for an elective (or not); the model allocates slots afterwards."""
        if self.stage != STUDENT:
            return
        m = self.model
        m.flow["students_enrolled"] += 1
        hosts = m.cfg.origin.electives
        if self.student_year not in m.elective_years or self.n_electives >= hosts.max_per_student:
            return
        p, ref, rnd = m.cfg.params.elective, m.cfg.params.reference, m.random
        peer = self.peer_share("n_electives", 0)
        x = (logit(p.apply_base)
             + p.b_motivation * (self.motivation - ref.motivation)
             + p.b_english * (self.english - ref.english)
             + p.b_standing * (self.standing - 0.5)
             + p.b_resources * (self.resources - ref.resources)
             + p.b_family * (self.family_home - ref.family_ties_home)
             + p.b_peers * peer)
        if not rnd.random() < expit(x):
            return
        self._wants_hic = rnd.random() < expit(logit(p.prefer_hic) + p.b_hic_english * (self.english - ref.english))
        self._research_type = rnd.random() < expit(logit(p.research_type_base)
                                                   + p.b_research_type_engaged * self.research)
        self._priority = self.standing + self.english + p.host_priority_noise_sd * rnd.gauss(0.0, 1.0)
        m.elective_applicants.append(self)

    def take_elective(self, award: bool) -> None:
        """Accepted by a host: go if it can be paid for; then what the elective does."""
        m = self.model
        hosts, pol, p, rnd = m.cfg.origin.electives, m.cfg.policy, m.cfg.params.elective, m.random
        hic, research = self._wants_hic, self._research_type
        cost = hosts.cost_hic_usd if hic else hosts.cost_lmic_usd
        funds = self.resources * m.cfg.origin.family_funds_usd + (pol.scholarship_amount_usd if award else 0.0)
        if not rnd.random() < expit((funds - cost) / p.afford_scale_usd):
            return
        if award:
            m.flow["scholarships"] += 1
        if self.n_electives == 0:
            self.elective_type = int(research)
            self.elective_dest = 0 if hic else 1
        self.n_electives += 1
        self.hic_elective = self.hic_elective or hic
        ef = m.cfg.params.elective_effects
        role = rnd.random() < ef.role_model
        trans = rnd.random() < ef.perspective_transformed
        tilt = research and rnd.random() < ef.research_tilt_given_research
        intl = (not hic) and rnd.random() < ef.intl_health_given_lmic
        self.role_model = self.role_model or role
        self.transformed = self.transformed or trans
        self.research_tilt = self.research_tilt or tilt
        self.intl_health = self.intl_health or intl
        m.flow["electives_started"] += 1
        m.flow["electives_hic"] += int(hic)
        m.flow["electives_research"] += int(research)

    # ---------------------------------------------------------------- graduation
    def graduation_phase(self) -> None:
        if self.stage != STUDENT:
            return
        m = self.model
        o = m.cfg.origin
        if self.student_year < o.school_years:
            self.student_year += 1
            return
        pub = m.random.random() < m.cfg.params.research.publication_given_research
        self.publication = self.research and pub
        self.grad_year = m.year
        self.home_training_end = m.year + o.home_training_years
        self.move(HOME_TRAINING)
        m.flow["graduates"] += 1

    def home_training_phase(self) -> None:
        if self.stage == HOME_TRAINING and self.home_training_end <= self.model.year:
            self.move(HOME_PRACTICE)

    # ---------------------------------------------------------------- 4. the pathway abroad
    def pathway_phase(self) -> None:
        if self.stage != HOME_TRAINING and self.stage != HOME_PRACTICE:
            return
        m = self.model
        p, o, ref = m.cfg.params.abroad, m.cfg.origin, m.cfg.params.reference
        if self.pathway_year != NONE or m.year - self.grad_year >= p.window_years:
            return
        peer_abroad = self.peer_share("abroad_start", NONE)
        dissatisfaction = 1.0 - clip(m.quality + self.satisfaction_offset, 0.0, 1.0)
        x = (logit(p.base_annual)
             + p.b_dissatisfaction * (dissatisfaction - (1 - ref.training_quality))
             + p.b_hic_elective * self.hic_elective
             + p.b_role_model * self.role_model
             + p.b_transformed * self.transformed
             + p.b_english * (self.english - ref.english)
             + p.b_motivation * (self.motivation - ref.motivation)
             + p.b_family_home * (self.family_home - ref.family_ties_home)
             + p.b_resources * (self.resources - ref.resources)
             + p.b_peers_abroad * o.emigration_culture * peer_abroad
             + p.b_income_gap * (o.income_gap - ref.income_gap)
             + p.b_research * self.research
             + p.b_research_tilt * self.research_tilt
             + p.b_intl_health * self.intl_health)
        if m.random.random() < expit(x):
            self.pathway_year = m.year
            self.move(PREPARING)
            m.flow["pathway_starts"] += 1

    def give_up(self) -> None:
        m = self.model
        self.move(HOME_TRAINING if self.home_training_end > m.year else HOME_PRACTICE)
        m.flow["gave_up"] += 1

    def exam_phase(self) -> None:
        m = self.model
        dest = m.cfg.destination
        if self.stage != PREPARING or self.exams_passed >= dest.exams_required:
            return
        p, ref, rnd = m.cfg.params.abroad, m.cfg.params.reference, m.random
        prob = expit(logit(dest.exam_pass_prob) + p.exam_b_standing * (self.standing - 0.5)
                     + p.exam_b_english * (self.english - ref.english))
        if rnd.random() < prob:
            self.exams_passed += 1
            z = _inv_cdf(clip(self.standing, 1e-6, 1 - 1e-6))  # standing as a standard-normal score
            score = z + p.exam_score_noise_sd * rnd.gauss(0.0, 1.0)
            self.exam_score += (score - self.exam_score) / self.exams_passed  # running mean
            m.flow["exams_passed"] += 1
            return
        give_up_p = min(1.0, p.exam_give_up_after_fail * (1 + dest.exam_cost_usd / p.exam_give_up_cost_scale_usd
                                                          * (1 - self.resources)))
        quits = rnd.random() < give_up_p
        too_long = m.year - self.pathway_year >= p.max_prep_years
        if quits or too_long:
            self.give_up()

    # ---------------------------------------------------------------- the match
    def match_phase(self) -> None:
        """Enter this year's match with a score; the model ranks it against the world pool."""
        m = self.model
        if self.stage != PREPARING or self.exams_passed < m.cfg.destination.exams_required:
            return
        p = m.cfg.params.match
        self.rounds += 1
        if self.first_round_year == NONE:
            self.first_round_year = m.year
        score = (p.origin_offset + p.w_exam * self.exam_score + p.w_destination_experience * self.hic_elective
                 + p.w_research * self.research + p.w_letters * self.role_model
                 + p.noise_sd * m.random.gauss(0.0, 1.0))
        m.match_applicants.append((score, self))

    def match_outcome(self, matched: bool) -> None:
        m = self.model
        p, dest, pol, rnd = m.cfg.params.match, m.cfg.destination, m.cfg.policy, m.random
        if matched:
            m.flow["matches"] += 1
            self.matched_round = self.rounds
            if rnd.random() < min(1.0, dest.visa_denial_prob * pol.visa_denial_multiplier):
                m.flow["visa_denied"] += 1
                self.give_up()  # a refused visa loses the position
            else:
                self.depart()
        elif not (rnd.random() < p.retry_prob and self.rounds < p.max_rounds):
            self.give_up()

    def depart(self) -> None:
        m = self.model
        dest, pr, rnd = m.cfg.destination, m.cfg.params.returning, m.random
        u, cum, k = rnd.random(), 0.0, 0
        for k, w in enumerate(m.training_years_probs):
            cum += w
            if u < cum:
                break
        self.abroad_start = m.year
        self.training_end = m.year + int(dest.training_years[k])
        self.visa = 1 if rnd.random() < dest.j1_share else 2
        wish_p = pr.wish_improve_given_role_model if self.role_model else pr.wish_improve_base
        self.wish_improve = rnd.random() < wish_p
        self.move(TRAINING_ABROAD)
        m.flow["departures"] += 1

    # ---------------------------------------------------------------- 5. abroad, stay or return
    def return_choice(self, at_training_end: bool) -> bool:
        m = self.model
        o, pol, pr, ref = m.cfg.origin, m.cfg.policy, m.cfg.params.returning, m.cfg.params.reference
        family_abroad = 1.0 - math.exp(-(m.year - self.abroad_start) / pr.family_abroad_tau_years)
        x = (logit(pr.base_annual)
             + pr.end_of_training_bump * at_training_end
             + pr.b_family_home * (self.family_home - ref.family_ties_home)
             + pr.b_family_abroad * family_abroad
             + pr.b_wish_improve * self.wish_improve
             + pr.b_income_gap * ((o.income_gap - pol.returnee_premium) - ref.income_gap)
             + pr.b_reintegration * (o.reintegration_difficulty * (1 - pol.reintegration_support)
                                     - ref.reintegration_difficulty)
             + pr.b_years_abroad * (m.year - self.training_done_year))
        return m.random.random() < expit(x)

    def training_abroad_phase(self) -> None:
        if self.stage != TRAINING_ABROAD:
            return
        m = self.model
        if self.training_end > m.year:  # still training
            if self.stage_since < m.year and m.random.random() < m.cfg.params.returning.during_training_annual:
                self.return_home()
            return
        self.training_done_year = m.year
        if self.return_choice(at_training_end=True):
            self.return_home()
            return
        if self.visa == 1:  # a J-1 holder who wants to stay needs a waiver
            self.waiver = m.random.random() < m.cfg.destination.waiver_prob
            if not self.waiver and m.cfg.policy.home_return_requirement:
                self.return_home()
                m.flow["forced_returns"] += 1
                return
        self.move(PRACTISING_ABROAD)

    def return_phase(self) -> None:
        m = self.model
        if self.stage == PRACTISING_ABROAD and self.stage_since < m.year and self.return_choice(False):
            self.return_home()

    # ---------------------------------------------------------------- 6. after return
    def return_home(self) -> None:
        m = self.model
        p, o, rnd = m.cfg.params.sector, m.cfg.origin, m.random
        utilities = (p.b_public_policy_orientation * (self.orientation == 2),
                     p.private_base + p.b_private_disillusion * (1 - o.public_system_satisfaction),
                     p.academic_base + p.b_academic_research * self.research
                     + p.b_academic_wish_improve * self.wish_improve + p.b_academic_research_tilt * self.research_tilt)
        top = max(utilities)
        weights = [math.exp(v - top) for v in utilities]
        total = sum(weights)
        u, cum, sector = rnd.random(), 0.0, 0
        for sector, w in enumerate(weights):
            cum += w / total
            if u < cum:
                break
        self.sector = sector
        self.return_year = m.year
        mult = (p.kt_mult_public, p.kt_mult_private, p.kt_mult_academic)[sector]
        kt_p = clip(o.knowledge_absorption * mult + p.kt_reintegration_support_gain * m.cfg.policy.reintegration_support,
                    0.0, 1.0)
        self.kt = rnd.random() < kt_p
        self.move(RETURNED[sector])
        m.flow["returns"] += 1

    def drift_phase(self) -> None:
        m = self.model
        if self.stage != RETURNED_PUBLIC or self.stage_since >= m.year:
            return
        p = m.cfg.params.sector.drift_to_private_base * (1 - m.cfg.origin.public_system_satisfaction)
        if m.random.random() < p:
            self.sector = 1
            self.move(RETURNED_PRIVATE)


class ReferenceModel(mesa.Model):
    """The per-agent reference: same config, same phases, scalar per-agent decisions."""

    def __init__(self, config, seed: int | None = None):
        super().__init__(rng=int(config.seed if seed is None else seed))
        self.cfg = config
        o, dest = config.origin, config.destination
        self.year = 0
        self.intake = int(round(config.scale * o.intake_per_year))
        self.initial_size = self.intake * (o.school_years - 1)
        self.quality = float(o.training_quality_initial)
        self.quality_start = self.quality
        self.mentor_found = float(o.research_mentor_found)
        self.research_hazard = dict(zip(config.params.research.start_years, config.params.research.base_hazard))
        self.elective_years = set(o.elective_years)
        total = float(sum(dest.training_years_probs))
        self.training_years_probs = [w / total for w in dest.training_years_probs]
        self.people: list[RefPerson] = []          # everyone who ever entered, exited included
        self.cohorts: dict[int, list[RefPerson]] = {}
        self.n_exited = 0
        self.exit_causes: dict[str, int] = {}
        self.positions = 0
        self.flow = dict.fromkeys(FLOWS, 0)
        self.stock_records: list[list[int]] = []
        self.flow_records: list[dict[str, int]] = []
        self.env_records: list[tuple[float, float]] = []
        # a full medical school at the start: student years N..2 (year 1 enters in step 1)
        for k in range(o.school_years, 1, -1):
            for person in self.enter_cohort(cohort=2 - k, student_year=k):
                person.research_history()

    # ---------------------------------------------------------------- entry and network
    def enter_cohort(self, cohort: int, student_year: int) -> list[RefPerson]:
        members = [RefPerson(self, cohort, student_year) for _ in range(self.intake)]
        net, rnd = self.cfg.params.network, self.random
        n = len(members)
        earlier = [p for c, people in self.cohorts.items() if cohort - net.alumni_span_years <= c < cohort
                   for p in people]
        for i, person in enumerate(members):
            # peers: random other members of the cohort; alumni: random people of earlier cohorts
            if n > 1:
                person.ties = [members[(i + rnd.randrange(1, n)) % n] for _ in range(net.peers)]
            else:
                person.ties = [person] * net.peers
            pool = earlier or members  # the first cohort has no alumni yet: ties to its own
            person.ties += [pool[rnd.randrange(len(pool))] for _ in range(net.alumni)]
        self.cohorts[cohort] = members
        self.people.extend(members)
        return members

    # ---------------------------------------------------------------- the year
    def step(self) -> None:
        self.year += 1
        self.flow = dict.fromkeys(FLOWS, 0)
        agents = self.agents
        # 0. exits
        self.leaving: list[RefPerson] = []
        agents.do("exit_phase")
        for person in self.leaving:
            person.remove()  # out of model.agents; kept in self.people for the metrics
        self.n_exited += len(self.leaving)
        self.flow["exits"] += len(self.leaving)
        # entry of this year's cohort
        self.enter_cohort(cohort=self.year, student_year=1)
        self.flow["entrants"] += self.intake
        # 1. research engagement
        agents.do("research_phase")
        # 2-3. electives: agents apply, hosts pick by priority, top grades get scholarships
        self.elective_applicants: list[RefPerson] = []
        agents.do("elective_phase")
        self.allocate_electives()
        # graduation, home training
        agents.do("graduation_phase")
        agents.do("home_training_phase")
        # 4. the pathway abroad: start, exams, the match
        agents.do("pathway_phase")
        agents.do("exam_phase")
        self.match_applicants: list[tuple[float, RefPerson]] = []
        agents.do("match_phase")
        self.run_match()
        # 5. abroad: end of training and the yearly stay-or-return decision
        agents.do("training_abroad_phase")
        agents.do("return_phase")
        # 6. after return
        agents.do("drift_phase")
        # feedback and records
        self.update_environment()
        self.record()

    def run(self) -> "ReferenceModel":
        for _ in range(self.cfg.years):
            self.step()
        return self

    # ---------------------------------------------------------------- collective parts
    def allocate_electives(self) -> None:
        apps = self.elective_applicants
        self.flow["elective_applications"] += len(apps)
        if not apps:
            return
        cfg = self.cfg
        hosts, pol = cfg.origin.electives, cfg.policy
        accepted: list[RefPerson] = []
        for is_hic, slots, threshold in ((True, hosts.hic_slots, hosts.english_threshold_hic),
                                         (False, hosts.lmic_slots, hosts.english_threshold_lmic)):
            n_slots = int(round(slots * cfg.scale * pol.elective_slots_multiplier))
            pool = [a for a in apps if a._wants_hic == is_hic and a.english >= threshold]
            pool.sort(key=lambda a: a._priority, reverse=True)
            accepted += pool[:max(n_slots, 0)]
        self.flow["electives_accepted"] += len(accepted)
        n_awards = int(pol.scholarship_budget_usd * cfg.scale // pol.scholarship_amount_usd)
        by_grade = sorted(accepted, key=lambda a: a.standing, reverse=True)
        awarded = set(by_grade[:max(n_awards, 0)])
        for person in accepted:
            person.take_elective(person in awarded)

    def run_match(self) -> None:
        cfg = self.cfg
        dest, pol = cfg.destination, cfg.policy
        positions = int(round(dest.img_positions * pol.img_positions_multiplier))
        self.positions = positions
        rnd = self.random
        world = [rnd.gauss(dest.world_pool_score_mean, dest.world_pool_score_sd)
                 for _ in range(dest.world_pool_applicants)]
        apps = self.match_applicants
        if not apps:
            return
        self.flow["applications"] += len(apps)
        if positions <= 0:
            matched = set()
        elif len(apps) + len(world) <= positions:
            matched = set(range(len(apps)))
        else:
            ranked = [(score, i) for i, (score, _) in enumerate(apps)] + [(w, -1) for w in world]
            ranked.sort(key=lambda e: e[0], reverse=True)
            matched = {i for _, i in ranked[:positions] if i >= 0}
        for i, (_, person) in enumerate(apps):
            person.match_outcome(i in matched)

    def count_stages(self) -> list[int]:
        counts = [0] * len(STAGES)
        for person in self.agents:
            counts[person.stage] += 1
        counts[EXITED] = self.n_exited
        return counts

    def update_environment(self) -> None:
        cfg = self.cfg
        o, fb, pol = cfg.origin, cfg.params.feedback, cfg.policy
        counts = [0] * len(STAGES)
        academic_kt = 0
        for person in self.agents:
            counts[person.stage] += 1
            if person.stage == RETURNED_ACADEMIC and person.kt:
                academic_kt += 1
        home_doctors = sum(counts[s] for s in (HOME_TRAINING, HOME_PRACTICE, PREPARING, *RETURNED))
        density = academic_kt / max(home_doctors, 1) * fb.density_per_doctors
        gap = o.training_quality_max - self.quality
        self.quality = min(o.training_quality_max,
                           self.quality + fb.quality_gain_per_returnee_density * density * gap
                           + pol.training_quality_investment)
        students = max(counts[STUDENT], 1)
        self.mentor_found = min(1.0, o.research_mentor_found
                                + cfg.params.research.mentor_per_academic_returnee * counts[RETURNED_ACADEMIC]
                                / students)

    def record(self) -> None:
        self.stock_records.append(self.count_stages())
        self.flow_records.append(dict(self.flow))
        self.env_records.append((self.quality, self.mentor_found))


# -------------------------------------------------------------------- outputs
def reference_timeseries(model: ReferenceModel) -> pd.DataFrame:
    """One row per year: stocks by stage at the end of the year, flows, training quality."""
    df = pd.DataFrame(model.stock_records, columns=list(STAGES))
    df.insert(0, "year", range(1, len(df) + 1))
    flows = pd.DataFrame(model.flow_records, columns=list(FLOWS))
    df = pd.concat([df, flows], axis=1)
    df["home_training_quality"] = [e[0] for e in model.env_records]
    df["mentor_found_prob"] = [e[1] for e in model.env_records]
    df["initial_population"] = model.initial_size
    return df


def _share(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def km_median(durations: list[float], observed: list[bool]) -> tuple[float, int]:
    """Kaplan-Meier median (the time the survival curve first falls to 0.5), censoring flag."""
    if not durations:
        return 0.0, 1
    surv = 1.0
    for t in sorted({d for d, o in zip(durations, observed) if o}):
        at_risk = sum(1 for d in durations if d >= t)
        events = sum(1 for d, o in zip(durations, observed) if o and d == t)
        if at_risk:
            surv *= 1.0 - events / at_risk
        if surv <= 0.5:
            return float(t), 0
    return float(max(durations)), 1


def reference_summary(model: ReferenceModel) -> dict:
    """The outcome metrics of ``sim.metrics.summary`` (without ``by_group``), from the agents."""
    people, horizon = model.people, model.year
    flow = {k: [r[k] for r in model.flow_records] for k in FLOWS}
    grads = [p for p in people if p.grad_year != NONE]
    n_grads = len(grads)
    rates = [s / e if e > 0 else 0.0 for s, e in zip(flow["electives_started"], flow["students_enrolled"])]
    electives = sum(flow["electives_started"])
    accepted = sum(flow["electives_accepted"])
    applied = [p for p in people if p.first_round_year != NONE]
    followed4 = [p for p in applied if p.first_round_year <= horizon - 3]

    def return_share(k: int) -> float:
        elig = [p for p in people if p.training_done_year != NONE and p.training_done_year <= horizon - k]
        back = [p for p in elig if p.return_year != NONE and p.return_year - p.training_done_year <= k]
        return _share(len(back), len(elig))

    started = [p for p in people if p.abroad_start != NONE]
    durations, observed = [], []
    for p in started:
        end = p.return_year if p.return_year != NONE else p.exit_year if p.exit_year != NONE else horizon
        durations.append(float(end - p.abroad_start))
        observed.append(p.return_year != NONE)
    med, censored = km_median(durations, observed)
    returnees_now = [p for p in people if p.stage in RETURNED]
    ever_returned = [p for p in people if p.return_year != NONE]
    in_model_grads = [p for p in grads if p.stage != EXITED]
    abroad_now = sum(1 for p in in_model_grads if p.stage in (TRAINING_ABROAD, PRACTISING_ABROAD))
    out = {
        "graduates_total": n_grads,
        "elective_rate_annual": sum(rates) / len(rates) if rates else 0.0,
        "elective_share_cohort": _share(sum(p.n_electives > 0 for p in grads), n_grads),
        "elective_share_hic": _share(sum(flow["electives_hic"]), electives),
        "elective_share_research": _share(sum(flow["electives_research"]), electives),
        "elective_oversubscription": sum(flow["elective_applications"]) / accepted if accepted > 0 else 1.0,
        "research_engagement_share": _share(sum(p.research for p in grads), n_grads),
        "publication_share": _share(sum(p.publication for p in grads), n_grads),
        "applicant_share": _share(sum(p.pathway_year != NONE for p in grads), n_grads),
        "went_abroad_share": _share(sum(p.abroad_start != NONE for p in grads), n_grads),
        "match_rate": _share(sum(flow["matches"]), sum(flow["applications"])),
        "first_attempt_match_share": _share(sum(p.matched_round == 1 for p in applied), len(applied)),
        "eventual_match_share": _share(sum(p.matched_round != NONE and p.matched_round <= 4 for p in followed4),
                                       len(followed4)),
        "return_share_5y": return_share(5),
        "return_share_10y": return_share(10),
        "median_years_abroad": med,
        "median_years_abroad_censored": censored,
        **{f"returnee_share_{name}": _share(sum(p.stage == code for p in returnees_now), len(returnees_now))
           for name, code in zip(SECTORS, RETURNED)},
        "knowledge_transfer_index": _share(sum(p.kt for p in ever_returned), len(ever_returned)),
        "home_training_quality_start": float(model.quality_start),
        "home_training_quality_end": float(model.quality),
        "abroad_share_end": _share(abroad_now, len(in_model_grads)),
        "entrants_total": sum(flow["entrants"]),
        "initial_population": model.initial_size,
        "departures_total": sum(flow["departures"]),
        "returns_total": sum(flow["returns"]),
        "forced_returns_total": sum(flow["forced_returns"]),
    }
    return out


def agent_steps(stock_records) -> int:
    """Person-years simulated: the sum over years of every stock except ``exited``."""
    return int(sum(sum(row[:EXITED]) + sum(row[EXITED + 1:]) for row in stock_records))


__all__ = ["ReferenceModel", "RefPerson", "reference_summary", "reference_timeseries", "agent_steps", "PHASES"]
