"""The career-migration model: a Mesa model whose agent state lives in numpy arrays.

One simulated year is one :meth:`CareerModel.step`; the order of its parts is written
down once, in :meth:`CareerModel.step`. Each part is one pass over the people who face
it: a rule of :mod:`sim.decisions` applied by a compiled loop of :mod:`sim.kernels`.
The model takes a plain :class:`~sim.config.SimConfig` and returns results as arrays and
tables; it knows nothing of Hydra, files or plots.
"""

from __future__ import annotations

import mesa
import numpy as np
from scipy.special import ndtri

from . import decisions as d
from . import kernels as k
from .agents import Person
from .config import SimConfig, validate
from .events import CAUSE, ENTRY_FROM, EventLog
from .network import Network
from .population import (EXITED, HOME_PRACTICE, HOME_TRAINING, NONE, PRACTISING_ABROAD, PREPARING,
                         RETURNED, RETURNED_ACADEMIC, RETURNED_PRIVATE, RETURNED_PUBLIC, STAGES, STUDENT,
                         TRAINING_ABROAD, Population)
from .streams import Streams

FLOWS = (
    "entrants", "graduates", "students_enrolled", "elective_applications", "electives_accepted",
    "electives_started", "electives_hic", "electives_research", "scholarships", "research_started",
    "pathway_starts", "exams_passed", "applications", "matches", "visa_denied", "departures", "returns",
    "forced_returns", "gave_up", "exits",
)
ENV = ("home_training_quality", "mentor_found_prob", "positions", "world_pool", "elective_slots")


class ConfigError(ValueError):
    """A configuration the model cannot run; ``errors`` holds one line per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


class CareerModel(mesa.Model):
    """Medical students and graduates of one origin, and the destination they may train in.

    Args:
        config: the run's parameters (see ``configs/``); validated before anything runs.
        materialize_agents: register one :class:`~sim.agents.Person` per person in
            ``model.agents`` as they enter. Off (the default, and what ``python -m sim`` uses),
            Mesa agent objects are created lazily, one per person, when code asks for one with
            :meth:`person`; creating a Python object per entrant would dominate the yearly step.
    """

    def __init__(self, config: SimConfig, materialize_agents: bool = False):
        errors = validate(config)
        if errors:
            raise ConfigError(errors)
        super().__init__(rng=int(config.seed))
        self.cfg = config
        self.materialize_agents = materialize_agents
        o = config.origin
        self.year = 0
        self.streams = Streams(config.seed)
        self.intake = int(round(config.scale * o.intake_per_year))
        self.initial_size = self.intake * (o.school_years - 1)
        capacity = self.initial_size + self.intake * config.years
        self.pop = Population(capacity)
        net = config.params.network
        self.network = Network(capacity, net.peers, net.alumni, net.alumni_span_years)
        self.events = EventLog()
        self._views: dict[int, Person] = {}
        # environment
        self.quality = float(o.training_quality_initial)
        self.mentor_found = float(o.research_mentor_found)
        # records: one row per simulated year
        self.stock_records = np.zeros((config.years, len(STAGES)), dtype=np.int64)
        self.flow_records = np.zeros((config.years, len(FLOWS)), dtype=np.int64)
        self.env_records = np.zeros((config.years, len(ENV)), dtype=np.float64)
        self._flow = dict.fromkeys(FLOWS, 0)
        self.quality_start = self.quality
        # coefficients as compiled code reads them, and per-study-year lookups
        par = config.params
        self._coef = {name: k.coefficients(getattr(par, name)) for name in
                      ("research", "elective", "elective_effects", "abroad", "match", "returning", "sector")}
        self._ref = k.coefficients(par.reference)
        self._hazard_by_study_year = np.zeros(o.school_years + 1)
        self._hazard_by_study_year[np.asarray(par.research.start_years, dtype=int)] = par.research.base_hazard
        self._elective_study_year = np.zeros(o.school_years + 1, dtype=bool)
        self._elective_study_year[np.asarray(o.elective_years, dtype=int)] = True
        self._training_years = np.asarray(config.destination.training_years, dtype=np.int64)
        self._training_years_weights = np.asarray(config.destination.training_years_probs, dtype=float)
        # bookkeeping that keeps the yearly step off full-population scans
        self.stocks = np.zeros(len(STAGES), dtype=np.int64)  # current stock by stage
        self._cohort_start: dict[int, int] = {}               # entry cohort -> first id (ids are contiguous)
        self._mobile = np.empty(0, dtype=np.int64)            # everyone who ever started the pathway abroad
        self._exit_schedule: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        # Everyone the run will ever hold is drawn at set-up, cohort by cohort (attributes,
        # network ties, exit schedule), so that entry in the yearly step only admits them.
        # First a full medical school at the start: student years 2..N (year 1 enters in step 1).
        for sy in range(o.school_years, 1, -1):
            self._draw_cohort(cohort=2 - sy, student_year=sy)
            self._admit(cohort=2 - sy, log=False)
        # their research engagement in the years before the start
        for year in range(2 - o.school_years, 1):
            self._research(year)
        for cohort in range(1, config.years + 1):
            self._draw_cohort(cohort=cohort, student_year=1)
        self.network.finalize(self.pop.drawn)
        # the rest of the world's applicants, one pool a year (scores sorted for the match)
        dest = config.destination
        self._world_pool = [np.sort(self.streams.generator("world_pool", y).normal(
            dest.world_pool_score_mean, dest.world_pool_score_sd, dest.world_pool_applicants))
            for y in range(1, config.years + 1)]

    # ------------------------------------------------------------------ set-up helpers
    def _draw_cohort(self, cohort: int, student_year: int) -> None:
        o, pop = self.cfg.origin, self.pop
        n = self.intake
        ids = pop.reserve(n)
        self._cohort_start[cohort] = int(ids[0]) if n else pop.drawn
        rng = self.streams.generator("population", cohort)
        pop.cohort[ids] = cohort
        pop.student_year[ids] = student_year
        pop.entry_age[ids] = o.entry_age
        pop.female[ids] = rng.random(n) < o.female_share
        pop.motivation[ids] = rng.beta(o.motivation.a, o.motivation.b, n)
        pop.english[ids] = rng.beta(o.english.a, o.english.b, n)
        pop.standing[ids] = rng.random(n)
        pop.resources[ids] = rng.beta(o.resources.a, o.resources.b, n)
        pop.family_home[ids] = rng.beta(o.family_ties_home.a, o.family_ties_home.b, n)
        pop.satisfaction_offset[ids] = rng.normal(0.0, o.training_satisfaction_sd, n)
        u = rng.random(n)
        pop.orientation[ids] = np.where(u < o.orientation_research_share, 1,
                                        np.where(u < o.orientation_research_share + o.orientation_policy_share, 2, 0))
        pop.time_barrier[ids] = rng.random(n) < o.time_barrier_share
        pop.pay_barrier[ids] = rng.random(n) < o.pay_barrier_share
        if o.second_section is not None:
            self._draw_second_section(ids, cohort)
        self.network.add_cohort(cohort, ids, self.streams.generator("network", cohort))
        self._schedule_exits(ids, cohort)

    def _draw_second_section(self, ids: np.ndarray, cohort: int) -> None:
        """Students of the second section (POP2024) get that section's traits and barriers."""
        sec, pop = self.cfg.origin.second_section, self.pop
        rng = self.streams.generator("section", cohort)
        n = len(ids)
        inside = rng.random(n) < sec.share
        draws = {
            "motivation": rng.beta(sec.motivation.a, sec.motivation.b, n),
            "english": rng.beta(sec.english.a, sec.english.b, n),
            "family_home": rng.beta(sec.family_ties_home.a, sec.family_ties_home.b, n),
            "time_barrier": rng.random(n) < sec.time_barrier_share,
            "pay_barrier": rng.random(n) < sec.pay_barrier_share,
        }
        who = ids[inside]
        pop.section[who] = 1
        for name, values in draws.items():
            getattr(pop, name)[who] = values[inside]

    def _admit(self, cohort: int, log: bool = True) -> np.ndarray:
        """The drawn cohort enters medical school."""
        pop, n = self.pop, self.intake
        ids = pop.admit(n)
        pop.stage[ids] = STUDENT
        pop.stage_since[ids] = max(self.year, 0)
        self.stocks[STUDENT] += n
        if self.materialize_agents:
            for agent in Person.create_agents(self, n, list(ids)):
                self._views[agent.pid] = agent
        if log:
            self.events.log(self.year, ids, ENTRY_FROM, STUDENT, "entry")
            self._flow["entrants"] += n
        return ids

    def person(self, pid: int) -> Person:
        """The Mesa agent for array position ``pid`` (created on first use if not materialised)."""
        agent = self._views.get(pid)
        if agent is None:
            if not 0 <= pid < self.pop.n:
                raise IndexError(f"no person with id {pid}")
            agent = Person(self, pid)
            self._views[pid] = agent
        return agent

    # ------------------------------------------------------------------ transitions
    def _move(self, ids: np.ndarray, to_stage: int | np.ndarray, cause: str | np.ndarray) -> None:
        """Move ``ids`` to ``to_stage`` (one stage for all, or one per id) for ``cause`` (a cause
        name, or an array of cause codes)."""
        if len(ids) == 0:
            return
        to = np.full(len(ids), to_stage, np.int8) if np.ndim(to_stage) == 0 else to_stage
        from_stage = k.move(ids, to, self.pop.stage, self.pop.stage_since, self.year, self.stocks)
        self.events.log(self.year, ids, from_stage, to_stage, cause)

    def _cohort_bounds(self, first: int, last: int) -> tuple[int, int]:
        """Ids ``lo .. hi-1`` of everyone who entered in cohorts ``first`` .. ``last`` (inclusive) and has entered."""
        lo_c, hi_c = min(self._cohort_start), max(self._cohort_start)
        if last < lo_c or first > hi_c or last < first:
            return 0, 0
        start = self._cohort_start[max(first, lo_c)]
        end = self._cohort_start[last + 1] if last + 1 <= hi_c else self.pop.drawn
        return start, max(start, min(end, self.pop.n))

    def _mobile_in(self, stage: int) -> np.ndarray:
        """Ids now in ``stage`` among those who ever started the pathway abroad."""
        return k.in_stage(self._mobile, self.pop.stage, stage)

    def _u(self, stream: str, ids: np.ndarray, draw: int = 0) -> np.ndarray:
        return self.streams.uniform(stream, self.year, ids, draw)

    # ------------------------------------------------------------------ the year
    def step(self) -> None:
        """One simulated year, in this order."""
        self.year += 1
        self._flow = dict.fromkeys(FLOWS, 0)
        self.exits()
        self._admit(cohort=self.year)
        self.research_engagement()
        self.electives()
        self.graduation()
        self.home_training_progress()
        self.pathway_start()
        self.exams()
        self.match()
        self.training_abroad()
        self.return_decision()
        self.sector_drift()
        self.update_environment()
        self.record()

    def run(self) -> "CareerModel":
        for _ in range(self.cfg.years):
            self.step()
        return self

    # 0. leaving the model --------------------------------------------------------------
    _EXIT_CAUSES = ("death", "retired", "dropout", "left_medicine")
    _EXIT_CODES = np.array([CAUSE[name] for name in _EXIT_CAUSES], np.int8)  # event-log cause codes

    def _schedule_exits(self, ids: np.ndarray, cohort: int) -> None:
        """Draw, at entry, the year and cause each person will leave the model (if within the horizon).

        Exit hazards depend only on age and on being a student, both known in advance, so the
        yearly draws (stream ``exit``, one uniform per person and year) can be made at once.
        A person is exposed from the first year after entry (the initial school from year 1).
        """
        p, o = self.cfg.params.exit, self.cfg.origin
        years = np.arange(max(cohort + 1, 1), self.cfg.years + 1)
        if len(ids) == 0 or len(years) == 0:
            return
        age = (self.pop.entry_age[ids][None, :] + (years - cohort)[:, None]).astype(np.float64)
        student = (years <= cohort + o.school_years - 1)[:, None]
        death = np.minimum(p.mortality_gompertz_a * np.exp(p.mortality_gompertz_b * age), 1.0)
        other = np.where(student, p.student_dropout_annual, p.leave_medicine_annual)
        retire = ~student & (age >= p.retirement_age)
        u = self.streams.uniform_grid("exit", years, ids)
        dies = u < death
        leaves = dies | retire | (u < death + other * (1 - death))
        has_exit = leaves.any(axis=0)
        first = leaves.argmax(axis=0)[has_exit]
        cols = np.flatnonzero(has_exit)
        cause = self._EXIT_CODES[np.where(dies[first, cols], 0, np.where(retire[first, cols], 1,
                                                                          np.where(student[first, 0], 2, 3)))]
        exit_years = years[first]
        order = np.argsort(exit_years, kind="stable")
        ys, starts = np.unique(exit_years[order], return_index=True)
        for y, chunk in zip(ys, np.split(order, starts[1:])):
            self._exit_schedule.setdefault(int(y), []).append((ids[cols[chunk]], cause[chunk]))

    def exits(self) -> None:
        scheduled = self._exit_schedule.pop(self.year, [])
        if not scheduled:
            return
        ids = np.concatenate([c[0] for c in scheduled])
        cause = np.concatenate([c[1] for c in scheduled])
        self._move(ids, EXITED, cause)
        self.pop.exit_year[ids] = self.year
        self._flow["exits"] += len(ids)

    # 1. research engagement (POP2024) ------------------------------------------------------
    def _research(self, year: int) -> int:
        """Students not yet engaged seek a project in ``year`` and may find a mentor."""
        pop, o = self.pop, self.cfg.origin
        sec = o.second_section
        # chance of finding a mentor by section: the section's base plus what returnees add
        extra = self.mentor_found - o.research_mentor_found
        mentor = np.array([self.mentor_found, min(1.0, sec.research_mentor_found + extra) if sec else 0.0])
        years = self.cfg.params.research.start_years  # only the study years with projects
        lo, hi = self._cohort_bounds(year - max(years) + 1, year - min(years) + 1)
        return k.research_engagement(
            lo, hi, year, pop.stage, pop.cohort,
            pop.research, pop.research_year, pop.motivation, pop.time_barrier, pop.pay_barrier, pop.orientation,
            pop.section, self._hazard_by_study_year, mentor, self.streams.key("research", year),
            self.streams.key("research", year, 1), self._coef["research"], self._ref)

    def research_engagement(self) -> None:
        self._flow["research_started"] += self._research(self.year)

    # 2-3. international electives (SON2021, ELECTIVES) -----------------------------------
    def electives(self) -> None:
        pop, cfg, key = self.pop, self.cfg, self.streams.key
        o, hosts, pol = cfg.origin, cfg.origin.electives, cfg.policy
        p, ref, year = self._coef["elective"], self._ref, self.year
        self._flow["students_enrolled"] += int(self.stocks[STUDENT])
        lo, hi = self._cohort_bounds(year - max(o.elective_years) + 1, year - min(o.elective_years) + 1)
        peers, inv_ties = self.network.counts("elective")  # peers and alumni who took an elective
        app = k.elective_applicants(lo, hi, year, pop.stage, pop.cohort, pop.n_electives,
                                    hosts.max_per_student, self._elective_study_year, pop.motivation, pop.english,
                                    pop.standing, pop.resources, pop.family_home, peers, inv_ties,
                                    key("elective", year), p, ref)
        self._flow["elective_applications"] += len(app)
        if len(app) == 0:
            return
        wants_hic, research_type, eligible, priority = k.elective_offers(
            app, pop.english, pop.standing, pop.research, self.streams.normal("elective", year, app, 3),
            hosts.english_threshold_hic, hosts.english_threshold_lmic, key("elective", year, 1),
            key("elective", year, 2), p, ref)
        accepted = np.zeros(len(app), dtype=bool)
        for is_hic, slots in ((True, hosts.hic_slots), (False, hosts.lmic_slots)):
            n_slots = int(round(slots * cfg.scale * pol.elective_slots_multiplier))
            pool = np.flatnonzero(eligible & (wants_hic == is_hic))
            accepted[pool[d.allocate_slots(priority[pool], n_slots)]] = True
        acc = np.flatnonzero(accepted)
        self._flow["electives_accepted"] += len(acc)
        n_awards = int(pol.scholarship_budget_usd * cfg.scale // pol.scholarship_amount_usd)
        award = d.award_scholarships(pop.standing[app[acc]], n_awards)
        takes = k.elective_uptake(app[acc], wants_hic[acc], award, pop.resources, o.family_funds_usd,
                                  pol.scholarship_amount_usd, hosts.cost_hic_usd, hosts.cost_lmic_usd,
                                  key("elective", year, 4), p)
        self._flow["scholarships"] += int((award & takes).sum())
        go = acc[takes]
        who = app[go]
        hic, research = wants_hic[go], research_type[go]
        first = k.electives_taken(who, hic, research, pop.n_electives, pop.elective_type, pop.elective_dest,
                                  pop.hic_elective, pop.role_model, pop.transformed, pop.research_tilt,
                                  pop.intl_health, *(key("elective_effects", year, draw) for draw in range(4)),
                                  self._coef["elective_effects"])
        self.network.mark("elective", first)
        self._flow["electives_started"] += len(who)
        self._flow["electives_hic"] += int(hic.sum())
        self._flow["electives_research"] += int(research.sum())

    # graduation ------------------------------------------------------------------------
    def graduation(self) -> None:
        pop, o = self.pop, self.cfg.origin
        lo, hi = self._cohort_bounds(self.year - o.school_years + 1, self.year)  # cohorts now in school
        done = k.graduation(
            lo, hi, self.year, o.school_years,
            o.home_training_years, pop.stage, pop.student_year, pop.research, pop.publication, pop.grad_year,
            pop.home_training_end, pop.pathway_logit, pop.hic_elective, pop.role_model, pop.transformed, pop.english,
            pop.motivation, pop.family_home, pop.resources, pop.research_tilt, pop.intl_health,
            self.cfg.params.research.publication_given_research, o.income_gap, self.streams.key("publication", self.year),
            self._coef["abroad"], self._ref)
        self._move(done, HOME_TRAINING, "graduation")
        self._flow["graduates"] += len(done)

    def home_training_progress(self) -> None:
        o = self.cfg.origin
        # graduates of the last home_training_years (+1) years; the year's graduates included
        lo, hi = self._cohort_bounds(self.year - o.school_years - o.home_training_years, self.year - o.school_years + 1)
        done = k.training_done(lo, hi, self.pop.stage, self.pop.home_training_end, self.year)
        self._move(done, HOME_PRACTICE, "home_training_completed")

    # 4. going abroad for training (HEIST2018, IMGBLOG) ---------------------------------
    def pathway_start(self) -> None:
        pop, cfg = self.pop, self.cfg
        p, o = cfg.params.abroad, cfg.origin
        # graduates of the last window_years years: cohorts graduating in (t - window, t]
        lo, hi = self._cohort_bounds(self.year - o.school_years - p.window_years + 2, self.year - o.school_years + 1)
        peers, inv_ties = self.network.counts("abroad")  # peers and alumni who went abroad to train
        who = k.pathway_starters(lo, hi, pop.stage, pop.pathway_year, pop.pathway_logit,
                                 pop.satisfaction_offset, self.quality, peers, inv_ties, o.emigration_culture,
                                 self.streams.key("pathway", self.year), self._coef["abroad"], self._ref)
        pop.pathway_year[who] = self.year
        self._mobile = np.concatenate([self._mobile, who])
        self._move(who, PREPARING, "pathway_start")
        self._flow["pathway_starts"] += len(who)

    def _give_up(self, ids: np.ndarray) -> None:
        pop = self.pop
        back_to_training = pop.home_training_end[ids] > self.year
        self._move(ids, np.where(back_to_training, HOME_TRAINING, HOME_PRACTICE).astype(np.int8), "gave_up")
        self._flow["gave_up"] += len(ids)

    def exams(self) -> None:
        pop, cfg = self.pop, self.cfg
        p, dest = cfg.params.abroad, cfg.destination
        ids = self._mobile_in(PREPARING)
        ids = ids[pop.exams_passed[ids] < dest.exams_required]
        if len(ids) == 0:
            return
        passed = k.exam_results(ids, pop.standing, pop.english, dest.exam_pass_prob, self.streams.key("exams", self.year),
                                self._coef["abroad"], self._ref)
        who = ids[passed]
        pop.exams_passed[who] += 1
        # score of the exam taken: standing plus exam-day noise; the steps' scores are averaged
        z = ndtri(np.clip(pop.standing[who], 1e-6, 1 - 1e-6))  # standing as a standard-normal score
        score = z + p.exam_score_noise_sd * self.streams.normal("exams", self.year, who, 1)
        n_passed = pop.exams_passed[who]
        pop.exam_score[who] = pop.exam_score[who] + (score - pop.exam_score[who]) / n_passed  # running mean
        self._flow["exams_passed"] += len(who)
        failed = ids[~passed]
        quits = k.exam_give_ups(failed, pop.resources, dest.exam_cost_usd, self.streams.key("exams", self.year, 2),
                                self._coef["abroad"])
        too_long = (self.year - pop.pathway_year[failed]) >= p.max_prep_years
        self._give_up(failed[quits | too_long])

    def match(self) -> None:
        pop, cfg = self.pop, self.cfg
        p, dest, pol = cfg.params.match, cfg.destination, cfg.policy
        ids = self._mobile_in(PREPARING)
        ids = ids[pop.exams_passed[ids] >= dest.exams_required]
        positions = int(round(dest.img_positions * pol.img_positions_multiplier))
        self._positions = positions
        if len(ids) == 0:
            return
        pop.rounds[ids] += 1
        first = pop.first_round_year[ids] == NONE
        pop.first_round_year[ids[first]] = self.year
        score = k.match_scores(ids, pop.exam_score, pop.hic_elective, pop.research, pop.role_model,
                               self.streams.normal("match", self.year, ids), self._coef["match"])
        matched = d.run_match(score, self._world_pool[self.year - 1], positions)
        self._flow["applications"] += len(ids)
        self._flow["matches"] += int(matched.sum())
        m_ids = ids[matched]
        pop.matched_round[m_ids] = pop.rounds[m_ids]
        denied = self._u("visa", m_ids) < min(1.0, dest.visa_denial_prob * pol.visa_denial_multiplier)
        self._flow["visa_denied"] += int(denied.sum())
        self._depart(m_ids[~denied])
        # a refused visa loses the position: the person goes back to work at home
        # unmatched: retry next round, or give up
        stay = ids[~matched]
        retry = (self._u("match", stay, 1) < p.retry_prob) & (pop.rounds[stay] < p.max_rounds)
        self._give_up(np.concatenate([stay[~retry], m_ids[denied]]))

    def _depart(self, ids: np.ndarray) -> None:
        pop, dest = self.pop, self.cfg.destination
        if len(ids) == 0:
            return
        key = self.streams.key
        k.departures(ids, self.year, self._training_years, self._training_years_weights, dest.j1_share, pop.role_model,
                     pop.abroad_start, pop.training_end, pop.visa, pop.wish_improve, key("training", self.year),
                     key("visa", self.year, 1), key("training", self.year, 1), self._coef["returning"])
        self.network.mark("abroad", ids)
        self._move(ids, TRAINING_ABROAD, "matched")
        self._flow["departures"] += len(ids)

    # 5. training abroad and the stay-or-return decision (NEWMAN2025, HEIST2018) ---------
    def training_abroad(self) -> None:
        pop, cfg = self.pop, self.cfg
        pr = cfg.params.returning
        ids = self._mobile_in(TRAINING_ABROAD)
        if len(ids) == 0:
            return
        finishing = pop.training_end[ids] <= self.year
        during = ids[~finishing & (pop.stage_since[ids] < self.year)]  # not in the year they arrived
        quits = during[self._u("return", during, 1) < pr.during_training_annual]
        self._return_home(quits, "returned_during_training")
        done = ids[finishing]
        pop.training_done_year[done] = self.year
        back = self._return_choice(done, at_training_end=True)
        self._return_home(done[back], "returned")
        # J-1 holders who want to stay need a waiver of the home-residence requirement
        wants_stay = done[~back]
        j1 = wants_stay[pop.visa[wants_stay] == 1]
        pop.waiver[j1] = self._u("visa", j1, 2) < cfg.destination.waiver_prob
        forced = j1[~pop.waiver[j1]] if cfg.policy.home_return_requirement else j1[:0]
        self._return_home(forced, "visa_forced_return")
        self._flow["forced_returns"] += len(forced)
        self._move(wants_stay[pop.stage[wants_stay] == TRAINING_ABROAD], PRACTISING_ABROAD, "training_completed")

    def _return_choice(self, ids: np.ndarray, at_training_end: bool) -> np.ndarray:
        pop, cfg = self.pop, self.cfg
        o, pol = cfg.origin, cfg.policy
        return k.return_choices(ids, self.year, pop.family_home, pop.abroad_start, pop.wish_improve,
                                pop.training_done_year, o.income_gap - pol.returnee_premium,
                                o.reintegration_difficulty * (1 - pol.reintegration_support), float(at_training_end),
                                self.streams.key("return", self.year), self._coef["returning"], self._ref)

    def return_decision(self) -> None:
        pop = self.pop
        ids = self._mobile_in(PRACTISING_ABROAD)
        ids = ids[pop.stage_since[ids] < self.year]  # those who just finished decided already
        back = self._return_choice(ids, at_training_end=False)
        self._return_home(ids[back], "returned")

    # 6. after return: sector and knowledge transfer (NEWMAN2025) -------------------------
    def _return_home(self, ids: np.ndarray, cause: str) -> None:
        if len(ids) == 0:
            return
        pop, cfg = self.pop, self.cfg
        o = cfg.origin
        sector, kt = k.sectors_on_return(ids, pop.research, pop.wish_improve, pop.research_tilt, pop.orientation,
                                         o.public_system_satisfaction, o.knowledge_absorption,
                                         cfg.policy.reintegration_support, self.streams.key("sector", self.year),
                                         self.streams.key("knowledge", self.year), self._coef["sector"])
        pop.sector[ids] = sector
        pop.return_year[ids] = self.year
        pop.kt[ids] = kt
        self._move(ids, self._RETURNED_STAGES[sector], cause)
        self._flow["returns"] += len(ids)

    _RETURNED_STAGES = np.array(RETURNED, np.int8)  # stage by sector code

    def sector_drift(self) -> None:
        """Disillusionment with the state system moves public-sector returnees to private practice."""
        pop, cfg = self.pop, self.cfg
        ids = self._mobile_in(RETURNED_PUBLIC)
        ids = ids[pop.stage_since[ids] < self.year]
        p = cfg.params.sector.drift_to_private_base * (1 - cfg.origin.public_system_satisfaction)
        who = ids[self._u("sector", ids, 1) < p]
        pop.sector[who] = 1
        self._move(who, RETURNED_PRIVATE, "sector_switch")

    # feedback: returnees in academic posts raise training quality and mentor students -----
    def update_environment(self) -> None:
        pop, cfg = self.pop, self.cfg
        o, fb, pol = cfg.origin, cfg.params.feedback, cfg.policy
        stocks = self.stocks
        academic = self._mobile_in(RETURNED_ACADEMIC)
        academic_kt = int(pop.kt[academic].sum())
        home_doctors = int(stocks[[HOME_TRAINING, HOME_PRACTICE, PREPARING, *RETURNED]].sum())
        density = academic_kt / max(home_doctors, 1) * fb.density_per_doctors
        gap = o.training_quality_max - self.quality
        self.quality = min(o.training_quality_max,
                           self.quality + fb.quality_gain_per_returnee_density * density * gap
                           + pol.training_quality_investment)
        students = max(int(stocks[STUDENT]), 1)
        self.mentor_found = min(1.0, o.research_mentor_found
                                + cfg.params.research.mentor_per_academic_returnee * len(academic) / students)

    def record(self) -> None:
        t = self.year - 1
        self.stock_records[t] = self.stocks
        self.flow_records[t] = [self._flow[k] for k in FLOWS]
        hosts, pol = self.cfg.origin.electives, self.cfg.policy
        slots = round(hosts.hic_slots * self.cfg.scale * pol.elective_slots_multiplier) + round(
            hosts.lmic_slots * self.cfg.scale * pol.elective_slots_multiplier)
        self.env_records[t] = [self.quality, self.mentor_found, getattr(self, "_positions", 0),
                               self.cfg.destination.world_pool_applicants, slots]


__all__ = ["CareerModel", "ConfigError", "FLOWS", "ENV", "CAUSE"]
